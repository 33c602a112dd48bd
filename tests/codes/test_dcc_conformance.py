"""The EU DCC test corpus, end to end (credentials.md, Conformance): 565 judged cases.

Each case's DSC alone is trusted; its PREFIX is verified at its VALIDATIONCLOCK (or, when it
states no EXPECTEDEXPIRATIONCHECK, at its own `iat`, inside its validity). The gate accepts
exactly when every stated flag of the six is true and the DSC's DCC key usage allows the
certificate's type. Key usage is judged here from the certificate by cryptography directly,
independently of gate.codes.dcc.
"""

from __future__ import annotations

import base64
import zlib
import base45
import cbor2
import pytest
from cryptography import x509

from gate.codes import dcc
from tests.codes import dcckit
from tests.credentials.credkit import trust

CASES = dcckit.case_files()
pytestmark = pytest.mark.skipif(not CASES, reason=f"DCC corpus absent: {dcckit.CORPUS}")

TYPE_OIDS = {"t": ("1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"),
             "v": ("1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"),
             "r": ("1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3")}
ALL_DCC_OIDS = {oid for pair in TYPE_OIDS.values() for oid in pair}




def _key_usage_allows(der: bytes, prefix: str) -> bool:
    """Rule 5 from the certificate and the payload, with cryptography and cbor2 alone."""
    try:
        ext = x509.load_der_x509_certificate(der).extensions
        oids = {o.dotted_string for o in ext.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound:
        return True
    except ValueError:  # not strict DER (FI, CO15): their EKU is read by the corpus's reference only
        return True
    if not oids & ALL_DCC_OIDS:
        return True
    cose = cbor2.loads(zlib.decompress(base45.b45decode(prefix[4:])))
    while isinstance(cose, cbor2.CBORTag):
        cose = cose.value
    hcert = cbor2.loads(cose[2])[-260][1]
    kind = next(k for k in "vtr" if hcert.get(k))
    return bool(oids & set(TYPE_OIDS[kind]))


def _when(case: dict, flags: dict) -> float:
    if "EXPECTEDEXPIRATIONCHECK" in flags:
        return dcckit.clock(case["TESTCTX"]["VALIDATIONCLOCK"])
    cose = cbor2.loads(zlib.decompress(base45.b45decode(case["PREFIX"][4:])))
    while isinstance(cose, cbor2.CBORTag):
        cose = cose.value
    return float(cbor2.loads(cose[2])[6])


def _judge(path) -> tuple[bool, bool, str]:
    case = dcckit.load(path)
    flags = dcckit.expected(case)
    der = base64.b64decode(case["TESTCTX"]["CERTIFICATE"])
    store = trust([der])
    prefix = case.get("PREFIX", "")
    want = all(flags.values()) and _key_usage_allows(der, prefix)
    now = _when(case, flags) if all(flags.values()) else (
        dcckit.clock(case["TESTCTX"]["VALIDATIONCLOCK"]) if case["TESTCTX"].get("VALIDATIONCLOCK") else 0.0)
    result = dcc.verify(prefix, store, now, 300)
    return want, result.valid, result.reason


def test_the_corpus_holds_565_judged_cases():
    assert len(CASES) == 582
    assert sum(1 for p in CASES if dcckit.expected(dcckit.load(p))) == 565


def test_every_judged_case_gets_the_expected_verdict():
    wrong = []
    judged = accepted = 0
    for path in CASES:
        if not dcckit.expected(dcckit.load(path)):
            continue
        judged += 1
        want, got, reason = _judge(path)
        accepted += got
        if want != got:
            wrong.append(f"{path.relative_to(dcckit.CORPUS)}: expected {'accept' if want else 'refuse'}, got {reason}")
    assert judged == 565
    assert wrong == [], f"{len(wrong)} of 565 wrong:\n" + "\n".join(wrong[:40])
