"""The format seam: texts routed by prefix, JKM1 behind it with every vector unchanged, others told apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.codes import formats
from gate.codes.jkm1 import ParsedCode
from gate.codes.formats import CodeKind, FormatRegistry, HealthCodeFormat
from gate.codes.jkm1_verify import JKM1
from gate.codes.jkmv1 import JKMV1
from gate.codes.result import FormatError, VerifyResult
from gate.codes.trust import TrustStore
from gate.codes.jkm1_verify import verify as jkm1_verify
from tests.pki import NOW, ROOT, SHARED

CONFORMANCE = SHARED / "conformance"


def _vector_sets() -> list[Path]:
    sets = [ROOT / "tests" / "vectors"]
    if (SHARED / "vectors" / "codes.json").is_file():
        sets.append(SHARED / "vectors")
    return sets


@pytest.mark.parametrize("folder", _vector_sets(), ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_published_vector_gives_its_result_unchanged_through_the_seam(folder):
    published = json.loads((folder / "codes.json").read_text())
    store = TrustStore(folder / "trust")
    try:
        for vector in published["vectors"]:
            through_seam = formats.verify(vector["qr"], store, vector["now"], published["skew_s"])
            other = formats.format_of(vector["qr"])
            if other is not None and other.name in ("DCC", "SHC"):
                # A JKM1 vector written in another credential's prefix (credentials.md): since
                # the gate reads DCCs and SHCs, that format judges it, and it is no valid one.
                assert not through_seam.valid and through_seam.format == other.name, vector["name"]
                continue
            direct = jkm1_verify(vector["qr"], store, vector["now"], published["skew_s"])
            assert through_seam == direct, vector["name"]
            for key, expected in vector["expect"].items():
                assert through_seam.to_json().get(key) == expected, (vector["name"], key)
    finally:
        store.close()


def test_an_issued_code_verifies_through_the_seam(pki):
    result = formats.verify(pki.code(), pki.store(), NOW)
    assert result.valid and result.reason == "ok"


@pytest.mark.parametrize("text, kind", [
    ("JKM1:NCFOXN%TS3DH", CodeKind.HEALTH_CODE),
    (b"JKM1:NCFOXN%TS3DH", CodeKind.HEALTH_CODE),
    ("JKMV1:NCFOXN%TS3DH", CodeKind.VENUE_CARD),
    ("JKMV1:this is not base45", CodeKind.VENUE_CARD),  # routing reads the prefix, nothing more
    ("jkm1:NCFOXN%TS3DH", CodeKind.UNKNOWN),            # prefixes are case-sensitive
    ("HC1:NCFOXN%TS3DH", CodeKind.HEALTH_CODE),  # an EU DCC (credentials.md)
    ("shc:/5676290952", CodeKind.HEALTH_CODE),   # a SMART Health Card
    ("https://example.org/menu", CodeKind.UNKNOWN),
    ("386", CodeKind.UNKNOWN),
    ("", CodeKind.UNKNOWN),
    (b"\xff\xfe", CodeKind.UNKNOWN),
    (None, CodeKind.UNKNOWN),
])
def test_a_text_is_told_apart_by_its_prefix_without_being_verified(text, kind):
    assert formats.kind_of(text) is kind


def test_each_prefix_finds_its_format():
    assert formats.format_of("JKM1:AB") is JKM1
    assert formats.format_of("JKMV1:AB") is JKMV1
    assert formats.format_of("https://example.org") is None


def test_jkm1_is_a_health_code_format_and_the_venue_card_only_routes():
    assert isinstance(JKM1, HealthCodeFormat)
    assert not isinstance(JKMV1, HealthCodeFormat)


@pytest.mark.parametrize("text, ok", [
    ("JKM1:NCFOXN%TS3DH", True),
    ("JKM1:NCFOXN%TS3DH0", False),  # a dangling base45 character
    ("JKM1:ncfoxn", False),
    ("JKM1:", False),
    ("JKM1:" + "A" * 5000, False),
    ("JKMV1:NCFOXN%TS3DH", True),
    ("JKMV1:", False),
    ("JKM1:NCF\u00c9XN", False),
    ("https://example.org", False),  # of no known format
    ("386", False),
])
def test_well_formed_is_the_formats_syntax_check(text, ok):
    assert formats.well_formed(text) is ok


def test_a_venue_card_is_not_a_health_code(pki):
    assert formats.verify("JKMV1:NCFOXN%TS3DH", pki.store(), NOW) == VerifyResult.refused("not_a_health_code")


@pytest.mark.parametrize("text", ["https://example.org", "386", b"\xff", 42, None, "hc1:NCFOXN%TS3DH"])  # HC1: is a DCC now
def test_a_text_of_no_health_code_format_is_refused_as_not_a_health_code(pki, text):
    assert formats.verify(text, pki.store(), NOW).reason == "not_a_health_code"


def test_jkm1_parses_and_refuses_with_the_spec_reason(pki):
    assert isinstance(JKM1.parse(pki.code()), ParsedCode)
    with pytest.raises(FormatError) as caught:
        JKM1.parse("JKM1:A")
    assert caught.value.reason == "malformed"


class _Dcc:
    """A second health-code format as a later module would add it (here: refuses everything)."""

    name = "DCC"
    prefix = "HC1:"
    kind = CodeKind.HEALTH_CODE
    max_text_chars = 4096
    algorithms = frozenset({"ES256", "PS256"})
    key_types = frozenset({"P-256", "RSA"})

    def well_formed(self, text: str) -> bool:
        return len(text) > len(self.prefix)

    def parse(self, text):
        raise FormatError("malformed", "not implemented in this test")

    def verify(self, text, trust, now, skew):
        return VerifyResult.refused("unknown_key")


def test_a_second_format_is_a_new_object_in_the_registry_not_a_rewrite(pki):
    registry = FormatRegistry([JKM1, JKMV1, _Dcc()])
    assert registry.kind_of("HC1:6BF") is CodeKind.HEALTH_CODE
    assert registry.verify("HC1:6BF", pki.store(), NOW, 300).reason == "unknown_key"
    assert registry.verify(pki.code(), pki.store(), NOW, 300).reason == "ok"
    # the default registry is untouched (it has its own DCC since credentials.md)
    assert formats.format_of("HC1:6BF") is not registry.format_of("HC1:6BF")


def test_a_health_code_format_that_cannot_verify_is_refused_at_registration():
    class NoVerify:
        name, prefix, kind, max_text_chars = "half", "HALF:", CodeKind.HEALTH_CODE, 100

        def well_formed(self, text: str) -> bool:
            return True

    with pytest.raises(ValueError, match="without parse"):
        FormatRegistry([NoVerify()])


def test_a_format_whose_verify_raises_refuses_the_code_as_malformed(pki, caplog):
    class Broken(_Dcc):
        def verify(self, text, trust, now, skew):
            raise KeyError("bug")

    registry = FormatRegistry([Broken()])
    assert registry.verify("HC1:6BF", pki.store(), NOW, 300) == VerifyResult.refused("malformed")
    assert "DCC raised" in caplog.text


@pytest.mark.parametrize("prefix", ["JKM1:", "JKM1", "JKM1:X", "", "健康:"])
def test_a_prefix_that_is_empty_not_ascii_or_overlaps_a_known_one_is_refused(prefix):
    clash = type("Clash", (_Dcc,), {"prefix": prefix, "name": "clash"})()
    with pytest.raises(ValueError):
        FormatRegistry([JKM1, clash])


def _spelled_in(*needles: str) -> set[str]:
    return {str(p.relative_to(ROOT)) for p in (ROOT / "gate").rglob("*.py")
            if any(needle in p.read_text() for needle in needles)}


def test_the_jkm1_prefix_and_base45_alphabet_are_spelled_once():
    assert _spelled_in("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:") == {"gate/codes/base45.py"}
    assert _spelled_in('"JKM1:"', "'JKM1:'") == {"gate/codes/jkm1.py"}


def test_the_venue_card_prefix_is_spelled_once():
    assert _spelled_in('"JKMV1:"', "'JKMV1:'") == {"gate/codes/jkmv1.py"}


# --- public test material of other formats (../shared/conformance) ----------------------------------


def _conformance(pattern: str) -> list[Path]:
    found = sorted(CONFORMANCE.glob(pattern)) if CONFORMANCE.is_dir() else []
    if not found:
        pytest.skip(f"no conformance material at {CONFORMANCE / pattern} (../shared beside this checkout)")
    return found


def test_eu_dcc_test_codes_are_told_apart_and_never_accepted_without_their_dsc(pki):
    store = pki.store()
    texts = []
    for path in _conformance("dcc/dgc-testdata/*/2DCode/raw/*.json"):
        try:
            prefixed = json.loads(path.read_text()).get("PREFIX")
        except (ValueError, UnicodeDecodeError):
            continue  # some fault cases are not JSON at all
        if isinstance(prefixed, str) and prefixed:
            texts.append(prefixed)
    assert len(texts) > 400
    for text in texts:  # DCCs since credentials.md: routed to their format, refused without their DSC
        if text.startswith("HC1:"):
            assert formats.format_of(text).name == "DCC"
        result = formats.verify(text, store, NOW)
        assert not result.valid


def test_smart_health_cards_are_told_apart_and_never_accepted_without_their_issuer(pki):
    store = pki.store()
    texts = [p.read_text().strip() for p in _conformance("shc/**/*qr-code-numeric-value-*.txt")]
    texts = [t for t in texts if t.startswith("shc:/")]
    assert texts
    for text in texts:  # SHCs since credentials.md: routed to their format, refused without their issuer
        assert formats.format_of(text).name == "SHC"
        assert not formats.verify(text, store, NOW).valid


# --- what a format declares ---------------------------------------------------------------------


def test_a_health_code_format_naming_an_algorithm_the_gate_cannot_verify_is_refused():
    odd = type("Odd", (_Dcc,), {"algorithms": frozenset({"ES256", "HS256"})})()
    with pytest.raises(ValueError, match="HS256"):
        FormatRegistry([odd])


def test_the_text_limit_is_the_largest_any_format_declares():
    long = type("Long", (_Dcc,), {"max_text_chars": 9000})()
    assert FormatRegistry([JKM1, JKMV1]).max_text_chars == 4096
    assert FormatRegistry([JKM1, long]).max_text_chars == 9000
    assert formats.max_text_chars() == 7089  # an SHC: the most digits a QR symbol holds


def test_jkm1_declares_its_algorithms_and_key_types_and_names_itself_in_results(pki):
    assert JKM1.algorithms == {"EdDSA", "ES256"} and JKM1.key_types == {"Ed25519", "P-256"}
    assert formats.verify(pki.code(), pki.store(), NOW).format == "JKM1"
    assert formats.verify("JKM1:A", pki.store(), NOW).format == "JKM1"
