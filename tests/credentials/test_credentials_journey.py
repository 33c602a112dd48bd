"""Real credentials at the gate, end to end, as a person runs it (issue 22).

Outside the gate (as a health authority would): a DSC, an SHC issuer key and its JWKS, a salt.
Then, as commands in a clean shell: `gate keys trustlist --dsc --shc-issuer --pseudonym-salt`,
`gate keys statuslist --revoked-hash`, `gate verify` (a valid DCC or SHC has no colour: status
null, with format and cert_type) and `gate replay` at a metro gate (the venue's CertLogic rules
decide; the record carries format, cert_type and the refusing rule; the holder is traced by the
fleet's pseudonym).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography import x509

from gate.codes import dcc_issue, shc_issue
from gate.store import Store
from tests.journeys.userkit import user  # noqa: F401 -- the fixture

NOW = 1_795_000_000  # 2026-11-18
DAY = 86400
ISS = "https://health.example.org/shc"


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).date().isoformat()


def _material(folder: Path) -> dict:
    """What a health authority hands over, and codes of four people."""
    dsc_key, dsc_der = dcc_issue.make_dsc("DE", types="vtr")
    pem = x509.load_der_x509_certificate(dsc_der).public_bytes(serialization.Encoding.PEM)
    (folder / "dsc.pem").write_bytes(pem)
    shc_key, jwk = shc_issue.make_key()
    (folder / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    (folder / "salt.bin").write_bytes(os.urandom(32))

    def dcc(dn: int, uci: str, family: str = "Müller") -> str:
        hcert = dcc_issue.vaccination(family, "Jörg", "1980-02-03", _day(NOW - 40 * DAY), dn=dn, uci=uci)
        return dcc_issue.issue(hcert, dsc_key, dsc_der, iss="DE", iat=NOW - DAY, exp=NOW + 300 * DAY)

    card = shc_issue.immunization_card(ISS, NOW - DAY, "Anyperson", ["John"], "1951-01-20",
                                       [("208", _day(NOW - 80 * DAY)), ("208", _day(NOW - 59 * DAY))])
    revoked_uci = "URN:UVCI:01:DE:REVOKED#1"
    return {
        "complete": dcc(2, "URN:UVCI:01:DE:A#1"),
        "incomplete": dcc(1, "URN:UVCI:01:DE:B#2", family="Schmidt"),
        "revoked": dcc(2, revoked_uci, family="Weber"),
        "revoked_hash": hashlib.sha256(revoked_uci.encode()).digest()[:16].hex(),
        "shc": shc_issue.issue(card, shc_key, jwk["kid"]),
    }


def _trust_folder(user, m: dict) -> Path:
    user.gate("keys", "new", "anchor", "--out", "anchor.key").ok()
    trust = user.cwd / "trust"
    (trust / "anchors").mkdir(parents=True)
    shutil.copy(user.cwd / "anchor.pem", trust / "anchors" / "anchor.pem")
    user.gate("keys", "trustlist", "--anchor", "anchor.key", "--out", "trust/trustlist.json", "--version", "1",
              "--issued-at", str(NOW - DAY), "--dsc", "dsc.pem", "--shc-issuer", f"{ISS}=jwks.json",
              "--pseudonym-salt", "salt.bin").ok()
    user.gate("keys", "statuslist", "--anchor", "anchor.key", "--out", "trust/statuslist.json", "--version", "1",
              "--issued-at", str(NOW - 60), "--revoked-hash", m["revoked_hash"]).ok()
    return trust


def test_dcc_and_shc_are_verified_without_a_colour_and_revocation_holds(user):
    m = _material(user.cwd)
    _trust_folder(user, m)
    for qr, fmt in ((m["complete"], "DCC"), (m["shc"], "SHC")):
        out = json.loads(user.gate("verify", "--trust", "trust", "--now", str(NOW), qr).ok().stdout)
        assert (out["valid"], out["status"], out["format"], out["cert_type"]) == (True, None, fmt, "v")
        assert len(out["sub"]) == 32
    out = json.loads(user.gate("verify", "--trust", "trust", "--now", str(NOW), m["revoked"]).stdout)
    assert (out["valid"], out["reason"], out["format"]) == (False, "revoked", "DCC")


def test_keys_trustlist_refuses_what_is_not_a_dsc_an_issuer_or_a_salt_with_one_line(user):
    m = _material(user.cwd)
    user.gate("keys", "new", "anchor", "--out", "anchor.key").ok()
    (user.cwd / "not-a-cert.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    base = ["keys", "trustlist", "--anchor", "anchor.key", "--out", "t.json", "--version", "1"]
    user.gate(*base, "--dsc", "not-a-cert.pem").refused()
    user.gate(*base, "--dsc", "missing.pem").refused()
    user.gate(*base, "--shc-issuer", "http://plain.example=jwks.json").refused()
    user.gate(*base, "--shc-issuer", f"{ISS}=dsc.pem").refused()
    (user.cwd / "short.bin").write_bytes(b"0123")
    user.gate(*base, "--dsc", "dsc.pem", "--pseudonym-salt", "short.bin").refused()
    user.gate(*base).refused()  # no key of any kind
    user.gate("keys", "statuslist", "--anchor", "anchor.key", "--out", "s.json", "--version", "1",
              "--revoked-hash", "abcd").refused()
    assert not (user.cwd / "t.json").exists() and m


def test_at_a_metro_gate_the_rules_decide_and_the_record_says_why(user):
    m = _material(user.cwd)
    trust = _trust_folder(user, m)
    (user.cwd / "gate.toml").write_text(f"""
[device]
id = "gate-cred-1"
[venue]
id = "metro-line-1-east"
type = "metro"
[temperature]
sensor = "simulated"
[trust]
dir = "{trust}"
[store]
path = "{user.cwd / 'var' / 'scans.db'}"
[credentials]
country = "CN"
""")
    events = [{"t": NOW + i, "qr": qr, "temp_c": 36.5}
              for i, qr in enumerate((m["complete"], m["incomplete"], m["revoked"], m["shc"], m["complete"]))]
    (user.cwd / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    lines = [json.loads(x) for x in user.gate("replay", "--config", "gate.toml", "--events", "events.jsonl").ok()
             .stdout.splitlines()]
    decisions = [(line["decision"], line["reasons"][-1]) for line in lines]
    assert decisions == [("allow", "temperature_normal"), ("deny", "credential_not_accepted"),
                         ("deny", "revoked"), ("allow", "temperature_normal"), ("allow", "temperature_normal")]
    assert "credential_accepted" in lines[0]["reasons"]
    assert lines[1]["message_en"] == "The certificate is genuine but not accepted at this venue: turn the person away"
    store = Store(user.cwd / "var" / "scans.db")
    try:
        records = {r.id: r for r in store.pending(100)}
        codes = [records[line["record_id"]].code for line in lines]
        assert [(c["format"], c["cert_type"]) for c in codes] == [("DCC", "v")] * 3 + [("SHC", "v"), ("DCC", "v")]
        assert codes[1]["rule_id"] == "VR-CN-0002" and "rule_id" not in codes[0]
        assert "name" not in json.dumps(codes) and "Müller" not in json.dumps([r.to_json() for r in records.values()])
        # the same person is one subject: traced by the fleet's pseudonym
        first = records[lines[0]["record_id"]]
        assert codes[0]["sub"] == codes[4]["sub"] and first.subject_key == f"DCC-DE:{codes[0]['sub']}"
        assert len(store.records_of_subject(first.subject_key, 10)) == 2
    finally:
        store.close()
