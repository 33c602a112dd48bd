"""Who is asking: the client address of a request, through the proxies the collector trusts.

Without trusted proxies (the default) the client is the peer, ``REMOTE_ADDR``, and any
``X-Forwarded-For`` is ignored (anyone can write one). With ``gate collector serve
--trusted-proxy CIDR`` (repeatable), a request whose peer is a trusted proxy is from the
right-most ``X-Forwarded-For`` address that is not itself a trusted proxy: every proxy appends
the address it saw, so the addresses right of that one were written by our own proxies and the
ones left of it by whoever the client is (and may be forged). When every address is a trusted
proxy, the left-most is the client. A malformed entry stops the walk there: the last good
address seen is used.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Mapping, Union

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
MAX_ADDRESS_LENGTH = 100


def parse_networks(texts: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR texts (``10.0.0.0/8``, ``192.0.2.7``, ``::1``) as networks; ValueError naming a bad one."""
    networks = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{text!r} is not an IP address or network (CIDR)") from exc
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address,
             proxies: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(meta: Mapping[str, object], proxies: tuple[IPNetwork, ...]) -> str:
    """The client's address for a WSGI environ / Django ``request.META`` (module docstring)."""
    peer = str(meta.get("REMOTE_ADDR", "") or "")[:MAX_ADDRESS_LENGTH]
    if not proxies:
        return peer
    peer_address = _address(peer)
    if peer_address is None or not _trusted(peer_address, proxies):
        return peer
    client = peer_address
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", "") or "")
    for entry in reversed(forwarded.split(",")[-64:]):
        address = _address(entry)
        if address is None:
            break
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)[:MAX_ADDRESS_LENGTH]
