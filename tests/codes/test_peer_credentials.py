"""Credentials made outside this project by others' tools (credentials.md, Conformance, dcc/peers
and shc/dgca_shc_vector.json): the Italian verifier SDK's signed HC1 code with its DSC, and the EU
DGCA verifier app's SHC vector (numeric QR to JWS), verified by the gate as they are."""

from __future__ import annotations

import base64
import json
import zlib

import cbor2
import pytest

from gate.codes import base45, dcc, shc
from tests.codes import shckit
from tests.credentials.credkit import trust

IT = shckit.ROOT.parent / "dcc" / "peers" / "it-dgc-verificac19-sdk-android" / "sdk" / "src" / "test" / "assets"
DGCA = shckit.ROOT / "dgca_shc_vector.json"


@pytest.mark.skipif(not IT.is_dir(), reason=f"the Italian SDK's test assets are absent: {IT}")
def test_the_italian_sdks_signed_code_verifies_with_its_dsc():
    # stored Kotlin-escaped: `\\$` for `$`, and a trailing quote (SOURCE.md)
    text = (IT / "qr_code.txt").read_text().strip().rstrip('"').replace("\\$", "$")
    der = base64.b64decode("".join((IT / "qr_code_certificate.txt").read_text().split()))
    assert dcc.dsc_kid(der).hex() == "d919375fc1e7b6b2"
    cose = cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))
    iat = cbor2.loads(cose.value[2])[6]
    result = dcc.verify(text, trust([der]), iat + 60, 300)
    assert (result.valid, result.format) == (True, "DCC"), result.reason
    assert dcc.verify(text, trust(), iat + 60, 300).reason == "unknown_key"


@pytest.mark.skipif(not DGCA.is_file(), reason=f"the DGCA app's SHC vector is absent: {DGCA}")
def test_the_dgca_apps_shc_vector_decodes_to_its_jws_and_verifies_with_the_spec_issuer():
    vector = json.loads(DGCA.read_text())
    jws = shc.numeric_to_jws("shc:/" + vector["qr_numeric_without_prefix"])
    assert jws == vector["expected_jws"]
    payload = shc.parse_jws(jws).payload
    result = shc.verify_jws(jws, shckit.trust(), payload["nbf"] + 60, 300)
    assert (result.valid, result.format, result.issuer) == (True, "SHC", "SHC:spec.smarthealth.cards")
