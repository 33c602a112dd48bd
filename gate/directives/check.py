"""The doctor's lines about bulletins: the one in force (version, since when, its note), the one held
until its effective_at, and every kept file that does not verify (WARN: it is not in force)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gate.checkresult import CheckResult
from gate.codes.trust import TrustList
from gate.config import Config
from gate.directives.book import BulletinBook


def _utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def bulletin_results(cfg: Config, trust_list: TrustList | None, now: float | None = None,
                     state_dir: Path | None = None) -> list[CheckResult]:
    """CheckResults for the bulletins kept in the gate's state folder `state_dir` and offered in
    `cfg`'s trust folder, verified under `trust_list`; each file refused is one WARN line."""
    now = time.time() if now is None else now
    book = BulletinBook(cfg.trust.dir, state_dir=state_dir, writable=False)
    book.load(trust_list, now)
    summary = book.summary(now)
    results = [CheckResult("bulletin.refused", "WARN", f"{line}: not in force") for line in summary["problems"]]
    in_force, held = summary["in_force"], summary["held"]
    if in_force is not None:
        sets = _values_for(book, cfg, now)
        what = ", ".join(f"{k} = {_toml(v)}" for k, v in sets.items()) or "nothing for this gate"
        results.append(CheckResult("bulletin", "OK", f"bulletin v{in_force['version']} in force since "
                                   f"{_utc(in_force['effective_at'])} (sets {what}): {in_force['note']}",
                                   {**in_force, "sets": sets}))
    else:
        results.append(CheckResult("bulletin", "OK", "no bulletin in force: the configuration file's settings apply"))
    if held is not None:
        results.append(CheckResult("bulletin.held", "OK", f"bulletin v{held['version']} held until "
                                   f"{_utc(held['effective_at'])}: {held['note']}", held))
    return results


def _values_for(book: BulletinBook, cfg: Config, now: float) -> dict[str, Any]:
    """What the bulletin in force sets for this gate ("section.key" -> value)."""
    bulletin = book.in_force(now)
    if bulletin is None:
        return {}
    return bulletin.settings_for(cfg.device.id, cfg.venue.id, cfg.venue.type)


def _toml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
