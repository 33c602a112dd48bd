"""A SMART Health Card's FHIR bundle in the hcert shape, so that one CertLogic rule set serves both.

credentials.md: "An SHC is normalised to the hcert shape (`v` entries from its immunizations)".
A card with immunizations becomes a vaccination (`v`): one entry for the latest COVID-19 dose,
with `dn` the number of completed COVID-19 doses on the card and `sd` the doses a full course of
that product takes, `dt` its date and `mp` `CVX:<code>`. A card with a COVID-19 lab result and
no immunization becomes a test (`t`): NAAT or rapid antigen test (from the LOINC code), "not
detected" or "detected" (from the SNOMED result), and the collection time. What the card holds
beyond that is not read.

The CVX codes and their courses are from the CDC's public CVX table (COVID-19 vaccines) and the
products' authorised primary series; the LOINC codes from the LOINC SARS-CoV-2 test table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COVID_19 = "840539006"  # SNOMED CT: COVID-19, the EU value set disease-agent-targeted
CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx"
LOINC_SYSTEM = "http://loinc.org"
SNOMED_SYSTEM = "http://snomed.info/sct"

# CVX code -> doses of a full primary course (COVID-19 vaccines of the CDC CVX table).
COVID_CVX_COURSE: dict[str, int] = {
    "207": 2, "208": 2, "210": 2, "211": 2, "212": 1, "213": 2, "217": 2, "218": 2, "219": 3,
    "221": 2, "225": 2, "226": 2, "227": 2, "228": 2, "229": 1, "230": 1, "300": 1, "301": 1,
    "302": 1, "500": 2, "501": 2, "502": 2, "503": 2, "504": 1, "505": 2, "506": 1, "507": 3,
    "508": 2, "509": 2, "510": 2, "511": 2, "512": 2, "513": 2, "514": 2, "515": 2, "516": 2,
    "517": 2, "518": 2, "519": 2, "520": 2, "521": 2,
}
MRNA_CVX = frozenset({"207", "208", "217", "218", "219", "221", "227", "228", "229", "230", "300", "301", "302"})
MRNA_VACCINE = "1119349007"   # EU value set sct-vaccines-covid-19: SARS-CoV-2 mRNA vaccine
OTHER_VACCINE = "J07BX03"     # covid-19 vaccines (ATC)

NAAT = "LP6464-4"
RAPID_ANTIGEN = "LP217198-3"
# LOINC SARS-CoV-2 tests: nucleic acid amplification, and rapid antigen immunoassays.
NAAT_LOINC = frozenset({"94306-8", "94309-2", "94500-6", "94502-2", "94533-7", "94534-5", "94559-2",
                        "94565-9", "94759-8", "94760-6", "94845-5", "95406-5", "95409-9", "95423-0",
                        "95424-8", "95425-5", "96094-8", "96123-5", "96448-6", "96986-5"})
ANTIGEN_LOINC = frozenset({"94558-4", "95209-3", "96119-3", "97097-0"})
NOT_DETECTED = "260415000"
DETECTED = "260373001"
_NEGATIVE_RESULTS = frozenset({"260415000", "260385009"})   # not detected, negative
_POSITIVE_RESULTS = frozenset({"260373001", "10828004"})    # detected, positive


@dataclass(frozen=True, slots=True)
class Holder:
    """The card's person, for the pseudonym: family and given names upper-cased, birth date."""

    family: str
    given: str
    birth_date: str
    shown: str | None


def _resources(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    vc = payload.get("vc")
    subject = vc.get("credentialSubject") if isinstance(vc, Mapping) else None
    bundle = subject.get("fhirBundle") if isinstance(subject, Mapping) else None
    entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
    if not isinstance(entries, list):
        return []
    return [e["resource"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def holder(payload: Mapping[str, Any]) -> Holder:
    """The first Patient's first name entry and birth date (empty when the card has none)."""
    for resource in _resources(payload):
        if resource.get("resourceType") != "Patient":
            continue
        names = resource.get("name")
        first = names[0] if isinstance(names, list) and names and isinstance(names[0], Mapping) else {}
        family = _text(first.get("family"))
        givens = first.get("given") if isinstance(first.get("given"), list) else []
        given = " ".join(_text(g) for g in givens if _text(g))
        shown = " ".join(p for p in (family, given) if p) or None
        return Holder(family.upper(), given.upper(), _text(resource.get("birthDate")), shown)
    return Holder("", "", "", None)


def _coding(concept: Any, system: str) -> str:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    for coding in codings if isinstance(codings, list) else ():
        if isinstance(coding, Mapping) and coding.get("system") == system and isinstance(coding.get("code"), str):
            return coding["code"]
    return ""


def to_hcert(payload: Mapping[str, Any], issuer: str, rid: str | None) -> tuple[str, dict[str, Any]]:
    """(cert_type, hcert-shaped payload) of an SHC's JWS payload."""
    person = holder(payload)
    hcert: dict[str, Any] = {"ver": "1.3.0", "dob": person.birth_date,
                             "nam": {"fnt": person.family, "gnt": person.given}}
    resources = _resources(payload)
    doses = []
    for r in resources:
        if r.get("resourceType") == "Immunization" and r.get("status") == "completed":
            code = _coding(r.get("vaccineCode"), CVX_SYSTEM)
            when = _text(r.get("occurrenceDateTime"))[:10]
            if code and when:
                doses.append((when, code))
    if doses:
        doses.sort()
        covid = [d for d in doses if d[1] in COVID_CVX_COURSE]
        when, code = (covid or doses)[-1]
        hcert["v"] = [{
            "tg": COVID_19 if code in COVID_CVX_COURSE else "", "mp": f"CVX:{code}",
            "vp": MRNA_VACCINE if code in MRNA_CVX else OTHER_VACCINE, "ma": "",
            "dn": len(covid) if covid else len(doses), "sd": COVID_CVX_COURSE.get(code, 0),
            "dt": when, "co": "", "is": issuer, "ci": rid or "",
        }]
        return "v", hcert
    tests = []
    for r in resources:
        if r.get("resourceType") != "Observation":
            continue
        loinc = _coding(r.get("code"), LOINC_SYSTEM)
        kind = NAAT if loinc in NAAT_LOINC else RAPID_ANTIGEN if loinc in ANTIGEN_LOINC else ""
        result = _coding(r.get("valueCodeableConcept"), SNOMED_SYSTEM)
        tests.append((bool(kind), _text(r.get("effectiveDateTime")), {
            "tg": COVID_19 if kind else "", "tt": kind or f"LOINC:{loinc}",
            "tr": NOT_DETECTED if result in _NEGATIVE_RESULTS else DETECTED if result in _POSITIVE_RESULTS else result,
            "sc": _text(r.get("effectiveDateTime")), "tc": "", "co": "", "is": issuer, "ci": rid or ""}))
    if tests:
        tests.sort(key=lambda t: (t[0], t[1]))
        hcert["t"] = [tests[-1][2]]  # the latest COVID-19 test, else the latest observation
        return "t", hcert
    hcert["v"] = []
    return "v", hcert
