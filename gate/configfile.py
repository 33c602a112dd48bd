"""Changing the gate's configuration file: the one writer behind `gate config set`, the setup page
and the venue card.

`edit_config(path, {"section.key": value, ...})` reads the file as TOML (tomlkit, so every comment
and the layout are kept), puts the values in, checks each change alone (so every wrong value is
named, not only the first) and the whole result with the same loader as `gate config validate`,
and only then writes the file atomically (a temporary file in the same folder, fsync, rename;
through a symlink to the real file). With `startable=True` the result must also pass
`gate.config.problems()` (the gate would start with it: trust folder, device key...), checked on a
copy beside the file. Any problem leaves the file untouched; each is one line.
"""

from __future__ import annotations

import hashlib

import copy
import os
import tempfile
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from gate.config import ConfigError, key_kind, loads_config, problems
from gate.fileio import replace_atomically

# keys whose value is text even when it looks like a TOML number or boolean (camera.source = 0)
STRING_KINDS: tuple[str, ...] = ("str", "path", "source", "url", "choice", "listen", "hash")

_lock = threading.Lock()  # one edit at a time in this process (the kiosk, the setup service)


@dataclass(frozen=True)
class EditResult:
    """The outcome of one edit: the problems (file untouched), or the keys changed (before, after)."""

    errors: list[str]
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_value(key: str, raw: str) -> Any:
    """A value as a technician types it: TOML where it is a TOML value; text keys take the text as
    it is (quotes optional)."""
    try:
        parsed = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    if key_kind(key) in STRING_KINDS and not isinstance(parsed, str):
        return raw  # camera.source = 0 means the text "0"
    return parsed


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a crash leaves either the old file or the new one."""
    replace_atomically(path, text.encode("utf-8"), follow_link=True)


def edit_config(path: str | Path, settings: dict[str, Any], *, startable: bool = True,
                dry_run: bool = False) -> EditResult:
    """Set every "section.key" of `settings` in the file at `path` if the whole result is valid.

    `startable=False` (`gate config set`) only requires a valid file, so a broken file can be
    repaired one key at a time; otherwise the gate must also be able to start with the result.
    `dry_run` checks and reports what would change without writing.
    """
    path = Path(path)
    if not isinstance(settings, dict) or not settings:
        return EditResult(["nothing to change: give at least one SECTION.NAME and its value"])
    with _lock:
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            return EditResult([f"{path}: cannot be read: {exc.strerror or exc}"])
        except UnicodeDecodeError:
            return EditResult([f"{path}: is not UTF-8 text; save it as UTF-8"])
        try:
            doc = tomlkit.parse(text)
        except TOMLKitError as exc:
            return EditResult([f"{path}: not valid TOML: {exc}; fix it by hand first"])
        errors: list[str] = []
        for dotted in settings:
            section = str(dotted).partition(".")[0]
            if section in doc and not isinstance(doc[section], dict):
                _add(errors, f"{path}: {section} is not a section; fix it by hand first")
        if errors:
            return EditResult(errors)
        new_text = _with(doc, settings)
        try:
            loads_config(new_text, path)
        except ConfigError as exc:
            # each change alone too, so that every wrong value is named, not only the first (only
            # when the whole fails: keys changed together may need each other, e.g. a venue's type
            # and its community codes)
            if len(settings) > 1:
                for dotted, value in settings.items():
                    try:
                        loads_config(_with(doc, {dotted: value}), path)
                    except ConfigError as one:
                        _add(errors, str(one))
            _add(errors, str(exc))
        if not errors and startable:
            for line in _problems(path, new_text):
                _add(errors, line)
        if errors:
            return EditResult(errors)
        changed = {d: (_get(doc, d), _plain(v)) for d, v in settings.items() if _get(doc, d) != _plain(v)}
        if changed and not dry_run:
            try:
                write_atomically(path, new_text)
            except OSError as exc:
                return EditResult([f"{path}: cannot be written: {exc.strerror or exc}"])
        return EditResult([], changed)


def _problems(path: Path, text: str) -> list[str]:
    """gate.config.problems() of `text` as if it were the file (a copy beside it, same folder)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return [line.replace(tmp, str(path)) for line in problems(tmp)]
    finally:
        os.unlink(tmp)


def _with(doc: Any, values: dict[str, Any]) -> str:
    out = copy.deepcopy(doc)
    for dotted, value in values.items():
        section, _, key = str(dotted).partition(".")
        table = out.get(section)
        if table is None:
            table = tomlkit.table()
            out[section] = table
        table[key] = value
    return tomlkit.dumps(out)


def _get(doc: Any, dotted: str) -> Any:
    section, _, key = dotted.partition(".")
    table = doc.get(section) or {}
    value = table.get(key) if isinstance(table, dict) else None
    return _plain(value)


def _plain(value: Any) -> Any:
    """A tomlkit item as a plain JSON value (a tuple as a list)."""
    if hasattr(value, "unwrap"):
        value = value.unwrap()
    return list(value) if isinstance(value, tuple) else value


def _add(errors: list[str], line: str) -> None:
    if line not in errors:
        errors.append(line)


def file_sha256(path: "Path | str | None") -> str | None:
    """SHA-256 (hex) of the configuration file's bytes as written (the heartbeat's config_sha256),
    or None without a file or when it cannot be read."""
    if path is None:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None
