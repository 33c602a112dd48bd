"""The verifier's result: what any format found, with a colour only where the format has one."""

from __future__ import annotations

from gate.codes.result import FormatError, VerifyResult


def test_a_format_without_colours_reports_validity_issuer_subject_and_its_own_fields():
    result = VerifyResult(valid=True, reason="ok", issuer="DCC-DE", sub="00ff", format="DCC",
                          fields={"cert_type": "v"})
    assert result.status is None and result.subject == "00ff"
    assert result.to_json() == {"valid": True, "reason": "ok", "status": None, "issuer": "DCC-DE", "sub": "00ff",
                                "cti": None, "iat": None, "exp": None, "itinerary_risk": False,
                                "status_raised": False, "format": "DCC", "cert_type": "v"}


def test_a_refusal_names_the_format_that_read_the_text():
    assert VerifyResult.refused("expired", "SHC").to_json() == {"valid": False, "reason": "expired", "format": "SHC"}
    assert VerifyResult.refused("malformed").format is None


def test_jkm1_output_is_as_cli_md_writes_it():
    result = VerifyResult(valid=True, reason="ok", status="green", issuer="CN-JX", sub="ab", format="JKM1")
    assert "format" not in result.to_json()


def test_a_formats_own_fields_never_overwrite_the_common_ones():
    result = VerifyResult(valid=False, reason="revoked", format="DCC", fields={"reason": "ok", "cert_type": "t"})
    assert result.to_json() == {"valid": False, "reason": "revoked", "format": "DCC", "cert_type": "t"}


def test_results_with_fields_compare_and_hash():
    a = VerifyResult(valid=True, reason="ok", format="DCC", fields={"cert_type": "v"})
    assert a == VerifyResult(valid=True, reason="ok", format="DCC", fields={"cert_type": "v"})
    assert a != VerifyResult(valid=True, reason="ok", format="DCC", fields={"cert_type": "t"})
    assert hash(a) == hash(VerifyResult(valid=True, reason="ok", format="DCC", fields={"cert_type": "t"}))


def test_a_format_error_carries_its_reason():
    assert FormatError("too_large", "over 4096").reason == "too_large"
