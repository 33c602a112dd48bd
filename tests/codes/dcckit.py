"""Reading the EU DCC test corpus in ../shared/conformance/dcc/dgc-testdata (credentials.md, Conformance).

A case is a JSON object with TESTCTX; its six end-to-end flags may sit under EXPECTEDRESULTS or,
for three cases, one level deeper. The clock has no zone in some cases (taken as UTC), up to nine
fraction digits, and `+0200` offsets.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "dcc" / "dgc-testdata"
SIX_FLAGS = ("EXPECTEDUNPREFIX", "EXPECTEDB45DECODE", "EXPECTEDCOMPRESSION", "EXPECTEDDECODE",
             "EXPECTEDVERIFY", "EXPECTEDEXPIRATIONCHECK")


def case_files() -> list[Path]:
    """Every case of the corpus: the *.json files with a TESTCTX, and the extension-less QR."""
    if not CORPUS.is_dir():
        return []
    files = sorted(p for p in CORPUS.rglob("*.json") if p.is_file())
    if (CORPUS / "QR").is_file():
        files.append(CORPUS / "QR")
    out = []
    for path in files:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("TESTCTX"), dict):
            out.append(path)
    return out


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def expected(case: dict[str, Any]) -> dict[str, bool]:
    """The six flags the case states (nested EXPECTEDRESULTS merged)."""
    results = dict(case.get("EXPECTEDRESULTS") or {})
    if isinstance(results.get("EXPECTEDRESULTS"), dict):
        results.update(results["EXPECTEDRESULTS"])
    return {flag: results[flag] for flag in SIX_FLAGS if flag in results}


def clock(text: str) -> float:
    """A VALIDATIONCLOCK as seconds since the epoch (no zone: UTC)."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?", text.strip())
    if not m:
        raise ValueError(f"unreadable clock {text!r}")
    when = dt.datetime.fromisoformat(m.group(1)).replace(tzinfo=dt.timezone.utc)
    zone = m.group(3)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        when -= sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    fraction = float("0." + m.group(2)) if m.group(2) else 0.0
    return when.timestamp() + fraction
