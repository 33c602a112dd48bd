#!/usr/bin/env python3
"""Demo keys for the other credentials (issue 22), beside the demo anchor and issuers in keys/demo/.

Makes a demo EU DCC Document Signer Certificate (country DE) and a demo SMART Health Card issuer
key with its JWKS, a demo pseudonym salt, then re-signs the demo trust list (next version) with
the JKM1 demo issuers, the DSC, the SHC issuer and the salt, and writes one DCC and one SHC of a
demo visitor (keys/demo/dcc-visitor.txt, shc-visitor.txt) for `gate verify` in the README.
Demo keys only: committed so the demo runs offline; never trust them on a gate.
Run after scripts/make-demo-keys.sh (which calls it): `.venv/bin/python scripts/make-demo-credentials.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gate.codes import dcc_issue, shc_issue  # noqa: E402
from gate.codes import keys as keylib  # noqa: E402

OUT = ROOT / "keys" / "demo"
GATE = os.environ.get("GATE", str(ROOT / ".venv" / "bin" / "gate"))
SHC_ISSUER = "https://shc.demo.example/issuer"
DAY = 86400


def main() -> int:
    dsc_key, dsc_der = dcc_issue.make_dsc("DE", types="vtr", name="Demo DSC (never trust it)")
    keylib.write_private_key(OUT / "dsc-de.demo.key", dsc_key)
    (OUT / "dsc-de.demo.pem").write_bytes(
        x509.load_der_x509_certificate(dsc_der).public_bytes(serialization.Encoding.PEM))
    shc_key, jwk = shc_issue.make_key()
    keylib.write_private_key(OUT / "shc-issuer.demo.key", shc_key)
    (OUT / "shc-issuer.demo.jwks.json").write_text(json.dumps({"keys": [jwk]}, indent=1) + "\n")
    (OUT / "pseudonym-salt.demo.bin").write_bytes(os.urandom(32))

    version = json.loads((OUT / "trust" / "trustlist.json").read_text())["version"] + 1
    issued = int(time.time())
    subprocess.run([GATE, "keys", "trustlist", "--anchor", str(OUT / "anchor.demo.key"),
                    "--out", str(OUT / "trust" / "trustlist.json"), "--version", str(version),
                    "--issued-at", str(issued), "--valid-days", "3650", "--key-years", "20",
                    "--issuer", f"CN-JX={OUT / 'issuer-cn-jx.demo.pem'}",
                    "--issuer", f"CN-ZJ-SX={OUT / 'issuer-cn-zj-sx.demo.pem'}",
                    "--dsc", str(OUT / "dsc-de.demo.pem"),
                    "--shc-issuer", f"{SHC_ISSUER}={OUT / 'shc-issuer.demo.jwks.json'}",
                    "--pseudonym-salt", str(OUT / "pseudonym-salt.demo.bin")], check=True)

    day = time.strftime("%Y-%m-%d", time.gmtime(issued - 60 * DAY))
    hcert = dcc_issue.vaccination("Schneider", "Anna", "1985-06-15", day, uci="URN:UVCI:01:DE:DEMO/VISITOR#1")
    (OUT / "dcc-visitor.txt").write_text(
        dcc_issue.issue(hcert, dsc_key, dsc_der, iss="DE", iat=issued, exp=issued + 3650 * DAY) + "\n")
    card = shc_issue.immunization_card(SHC_ISSUER, issued, "Anyperson", ["John"], "1951-01-20",
                                       [("208", time.strftime("%Y-%m-%d", time.gmtime(issued - 80 * DAY))),
                                        ("208", time.strftime("%Y-%m-%d", time.gmtime(issued - 59 * DAY)))])
    (OUT / "shc-visitor.txt").write_text(shc_issue.issue(card, shc_key, jwk["kid"]) + "\n")
    print(f"wrote the demo DSC, SHC issuer and salt, trust list version {version}, dcc-visitor.txt, shc-visitor.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
