"""Who is asking (gate/collector/clients.py): the peer, or through trusted proxies only the
right-most X-Forwarded-For address that is not one of them."""

from __future__ import annotations

import pytest

from gate.collector.clients import client_address, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "192.0.2.7", "::1/128"])


def meta(peer: str, forwarded: str | None = None) -> dict[str, str]:
    found = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        found["HTTP_X_FORWARDED_FOR"] = forwarded
    return found


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    assert client_address(meta("203.0.113.5", "198.51.100.1"), ()) == "203.0.113.5"


def test_a_header_from_a_peer_that_is_not_a_trusted_proxy_is_ignored():
    assert client_address(meta("203.0.113.5", "198.51.100.1"), PROXIES) == "203.0.113.5"


@pytest.mark.parametrize("forwarded, client", [
    ("198.51.100.1", "198.51.100.1"),
    ("1.2.3.4, 198.51.100.1", "198.51.100.1"),  # the left one is what the client wrote: forged
    ("1.2.3.4, 198.51.100.1, 10.2.3.4", "198.51.100.1"),  # through two of our proxies
    ("10.9.9.9, 10.2.3.4", "10.9.9.9"),  # all ours: the left-most
    ("garbage, 198.51.100.1", "198.51.100.1"),
    ("198.51.100.1, garbage", "10.0.0.1"),  # a malformed entry stops the walk
    ("198.51.100.1:4431", "198.51.100.1"),
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("", "10.0.0.1"),
])
def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client(forwarded, client):
    assert client_address(meta("10.0.0.1", forwarded), PROXIES) == client


def test_an_ipv6_proxy_is_trusted_by_its_network():
    assert client_address(meta("::1", "2001:db8::5"), PROXIES) == "2001:db8::5"


def test_a_bad_network_is_refused_by_name():
    with pytest.raises(ValueError, match="not-a-net"):
        parse_networks(["10.0.0.0/8", "not-a-net"])
