"""The CertLogic engine's own test suite (certlogic/specification/testSuite in dcc/peers).

Every case the suite does not mark `"directive": "skip"` must give the expected value; the
skipped ones are behaviours the specification itself leaves out (patched reduce, nulls in `in`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.credentials import certlogic

SUITE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "dcc" / "peers" / "certlogic-spec" / "testSuite"


def _assertions() -> list[tuple[str, object, object, object]]:
    out = []
    for path in sorted(SUITE.glob("*.json")) if SUITE.is_dir() else ():
        suite = json.loads(path.read_text(encoding="utf-8"))
        if suite.get("directive") == "skip":
            continue
        for case in suite["cases"]:
            if case.get("directive") == "skip":
                continue
            for i, assertion in enumerate(case["assertions"]):
                if assertion.get("directive") == "skip":
                    continue
                expr = assertion.get("certLogicExpression", case.get("certLogicExpression"))
                out.append((f"{path.stem}: {case['name']} #{i}", expr, assertion["data"], assertion["expected"]))
    return out


ASSERTIONS = _assertions()
pytestmark = pytest.mark.skipif(not ASSERTIONS, reason=f"CertLogic test suite absent: {SUITE}")


def test_the_suite_is_all_there():
    assert len(ASSERTIONS) == 218  # 232 assertions, less the 14 the suite itself skips


def test_every_case_of_the_suite_evaluates_as_expected():
    wrong = []
    for name, expr, data, want in ASSERTIONS:
        try:
            got = certlogic.evaluate(expr, data)
        except certlogic.CertLogicError as exc:
            got = f"error: {exc}"
        if got != want or type(got) is not type(want):
            wrong.append(f"{name}: expected {want!r}, got {got!r}")
    assert wrong == [], f"{len(wrong)} of {len(ASSERTIONS)} wrong:\n" + "\n".join(wrong)
