"""The doctor's line about the setup page: on or off, its password, its certificate's fingerprint,
and where a technician's phone finds it.

A technician compares the SHA-256 fingerprint printed here (and on the idle screen) with the one
the phone's browser shows for https://GATE:8443/setup/ before typing the setup password. A page
listening on every address (0.0.0.0 or ::) is given at each of the gate's own non-loopback
addresses (0.0.0.0 means nothing to a phone).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import Callable

from gate.checkresult import CheckResult
from gate.config import Config
from gate.tls import cert_paths, fingerprint, is_ca

ANY_V4, ANY_V6 = "0.0.0.0", "::"


def local_addresses() -> list[str]:
    """This machine's addresses (iproute2's `ip -j addr`); [] where that cannot be asked."""
    try:
        done = subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, timeout=5, check=False)
        links = json.loads(done.stdout or b"[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return []
    return [a["local"] for link in links if isinstance(link, dict)
            for a in link.get("addr_info", []) if isinstance(a, dict) and a.get("local")]


def setup_urls(listen: str, addresses: Callable[[], list[str]] = local_addresses) -> list[str]:
    """`https://ADDR:PORT/setup/` for each address a phone on the network can use."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host not in (ANY_V4, ANY_V6, ""):
        chosen = [host]
    else:
        chosen = []
        for text in addresses():
            try:
                address = ipaddress.ip_address(text.split("%")[0])
            except ValueError:
                continue
            if address.is_loopback or address.is_link_local or address.is_unspecified:
                continue
            if address.version == 6 and host == ANY_V4:
                continue
            chosen.append(str(address))
    return [f"https://{f'[{a}]' if ':' in a else a}:{port}/setup/" for a in chosen]


def check_setup(cfg: Config, addresses: Callable[[], list[str]] = local_addresses) -> list[CheckResult]:
    """One CheckResult: the setup page's state and the certificate fingerprint the browser should show."""
    setup = cfg.setup
    cert, _ = cert_paths(cfg.device.key.parent)
    try:
        print_ = fingerprint(cert)
        old_ca = is_ca(cert)
    except FileNotFoundError:
        print_, old_ca = None, False
    except (OSError, ValueError) as exc:
        return [CheckResult("setup", "FAIL", f"setup page certificate {cert} cannot be read: {exc}; "
                            "run gate setup cert --renew to make a new one")]
    urls = setup_urls(setup.listen, addresses)
    details = {"enabled": setup.enabled, "listen": setup.listen, "urls": urls, "certificate": str(cert),
               "fingerprint_sha256": print_, "password_set": bool(setup.password_hash), "ca": old_ca}
    if old_ca:
        return [CheckResult("setup", "WARN", f"setup page certificate {cert} says CA:TRUE (made by an older "
                            "version): whoever trusts it trusts anything its key signs; run "
                            "gate setup cert --renew", details)]
    if not setup.enabled:
        return [CheckResult("setup", "OK", "setup page off ([setup] enabled = false)"
                            + (f"; certificate SHA-256 {print_}" if print_ else ""), details)]
    where = ", ".join(urls) if urls else f"port {setup.listen.rpartition(':')[2]} (no network address yet)"
    if not setup.password_hash:
        return [CheckResult("setup", "WARN", f"setup page on at {where} but no password set: every sign-in "
                            "is refused; run gate setup passwd", details)]
    if print_ is None:
        return [CheckResult("setup", "WARN", f"setup page on at {where} but no certificate yet "
                            f"({cert}); it is made on the service's first start", details)]
    return [CheckResult("setup", "OK", f"setup page at {where}, certificate SHA-256 {print_}", details)]
