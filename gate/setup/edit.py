"""Changing the configuration file from the setup page: checked, comment-keeping, logged.

`ConfigEditor.apply({"venue.type": "metro", ...})` checks every change with the same code as
`gate config validate` (`gate.config.problems`, the same one-line messages), lists every problem
at once, leaves the file untouched when there is any, and otherwise writes it through the one
writer `gate config set` and the venue card use (gate.configfile: tomlkit keeps the comments;
written atomically). Each change is logged
on the gate: who ("setup page"), when, from which address, which key from what to what.

The page never sees or sets secrets: the device key, the setup page's password hash and its own
settings are neither shown (`public_config`) nor accepted.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from gate.config import SCHEMA, key_kind, load_config
from gate.configfile import STRING_KINDS, EditResult, _plain, edit_config, parse_value

log = logging.getLogger("gate.setup.changes")

WHO = "setup page"
# keys the page may neither show nor change: secrets, and where the gate keeps its files
HIDDEN: frozenset[str] = frozenset({"device.key", "setup.password_hash"})
FIXED: frozenset[str] = HIDDEN | {"setup.enabled", "setup.listen", "trust.dir", "store.path"}


def editable_keys() -> list[str]:
    """Every "section.key" the page may change, in the file's order."""
    return [f"{s}.{k}" for s, keys in SCHEMA.items() for k in keys if f"{s}.{k}" not in FIXED]


def public_config(path: str | Path) -> dict[str, Any]:
    """The configuration in force in the file, as the page sees it: no secrets."""
    cfg = load_config(path)
    out = cfg.to_toml_dict()
    for dotted in HIDDEN:
        section, _, key = dotted.partition(".")
        out.get(section, {}).pop(key, None)
    out["setup"]["password_set"] = bool(cfg.setup.password_hash)
    return out


def field_list(config: dict[str, Any]) -> list[dict[str, Any]]:
    """What the page's form shows: each editable key, its kind, its choices, its value, and whether
    it is written in hexadecimal (an I2C address: 0x5A)."""
    out = []
    for dotted in editable_keys():
        section, _, key = dotted.partition(".")
        spec = SCHEMA[section][key]
        out.append({"key": dotted, "kind": spec.kind, "choices": list(spec.choices),
                    "hex": spec.hex, "value": config.get(section, {}).get(key)})
    return out


class ConfigEditor:
    """Applies the page's changes to one configuration file, one change at a time."""

    def __init__(self, path: str | Path, audit_path: str | Path | None = None) -> None:
        self.path = Path(path)
        self.audit_path = Path(audit_path) if audit_path is not None else None
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()

    def apply(self, settings: dict[str, Any], address: str) -> EditResult:
        """Check `settings` ("section.key" -> value) and write them if the whole file stays valid."""
        if not isinstance(settings, dict) or not settings:
            return EditResult(['send {"set": {"section.key": value, ...}} with at least one key'], {})
        with self._lock:
            errors: list[str] = []
            values: dict[str, Any] = {}
            for dotted, value in settings.items():
                section, dot, key = str(dotted).partition(".")
                if dotted in FIXED:
                    errors.append(f"{dotted}: cannot be changed from the setup page")
                elif not dot or key_kind(dotted) is None:
                    errors.append(f"{dotted}: no such setting; use SECTION.NAME, e.g. venue.type")
                else:
                    values[dotted] = _typed(dotted, value)
            if errors:  # the keys the page may not set, and what is wrong with the others
                checked = edit_config(self.path, values, dry_run=True) if values else None
                return EditResult(errors + [e for e in (checked.errors if checked else []) if e not in errors], {})
            # the one writer of gate config set and the venue card (gate.configfile)
            result = edit_config(self.path, values, startable=True)
            if result.errors:
                return EditResult(result.errors, {})
            if result.changed:
                self._audit(result.changed, address)
            return EditResult([], result.changed)

    def _audit(self, changed: dict[str, tuple[Any, Any]], address: str) -> None:
        for dotted, (before, after) in changed.items():
            self.record(dotted, before, after, address)

    def record(self, key: str, before: Any, after: Any, address: str, why: str = "") -> None:
        """One entry of the change log (the journal and changes.jsonl): who, when, from where,
        which key from what to what, and why when there is more to say (service mode's end)."""
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        entry = {"at": at, "who": WHO, "address": address, "file": str(self.path), "key": key,
                 "from": _plain(before), "to": _plain(after)}
        if why:
            entry["why"] = why
        log.info("%s: %s from %s changed %s from %s to %s%s", at, WHO, address, key,
                 json.dumps(entry["from"], ensure_ascii=False), json.dumps(entry["to"], ensure_ascii=False),
                 f" ({why})" if why else "")
        if self.audit_path is not None:
            with self._log_lock:
                self.audit_path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.audit_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _typed(dotted: str, value: Any) -> Any:
    """A form's text made a TOML value where the key is not text (as `gate config set` reads it)."""
    if isinstance(value, str) and key_kind(dotted) not in STRING_KINDS:
        return parse_value(dotted, value.strip())
    return value
