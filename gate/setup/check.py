"""The doctor's line about the setup page: on or off, its password, its certificate's fingerprint.

A technician compares the SHA-256 fingerprint printed here (and on the idle screen) with the one
the phone's browser shows for https://GATE:8443/ before typing the setup password.
"""

from __future__ import annotations

from typing import Any

from gate.config import Config
from gate.tls import cert_paths, fingerprint


def check_setup(cfg: Config) -> list[Any]:
    """One CheckResult: the setup page's state and the certificate fingerprint the browser should show."""
    from gate.health import CheckResult  # gate.health runs this check and imports this module lazily

    setup = cfg.setup
    cert, _ = cert_paths(cfg.device.key.parent)
    try:
        print_ = fingerprint(cert)
    except FileNotFoundError:
        print_ = None
    except (OSError, ValueError) as exc:
        return [CheckResult("setup", "FAIL", f"setup page certificate {cert} cannot be read: {exc}; "
                            "move it aside and run gate setup serve to make a new one")]
    details = {"enabled": setup.enabled, "listen": setup.listen, "certificate": str(cert),
               "fingerprint_sha256": print_, "password_set": bool(setup.password_hash)}
    if not setup.enabled:
        return [CheckResult("setup", "OK", "setup page off ([setup] enabled = false)"
                            + (f"; certificate SHA-256 {print_}" if print_ else ""), details)]
    if not setup.password_hash:
        return [CheckResult("setup", "WARN", "setup page on but no password set: every sign-in is refused; "
                            "run gate setup passwd", details)]
    if print_ is None:
        return [CheckResult("setup", "WARN", f"setup page on at https://{setup.listen}/ but no certificate yet "
                            f"({cert}); it is made on the service's first start", details)]
    return [CheckResult("setup", "OK", f"setup page at https://{setup.listen}/, certificate SHA-256 {print_}",
                        details)]
