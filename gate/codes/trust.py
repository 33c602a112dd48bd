"""The trust store (trust-list.md): anchors, the signed trust list, the signed status list.

Documents are accepted only when signed by an anchor, well formed, and newer than what is in
force; a refused document leaves the previous state untouched. The state lives in one SQLite file
(the status list may hold millions of subjects: indexed on disk, never in memory), applied in one
transaction per document. The kiosk reads it while `gate sync`, another process, writes it:
`refresh()` picks up what the other process committed.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Union

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from gate import fileio
from gate.codes import keys as keylib
from gate.directives.keys import DirectiveKey, parse_directive_keys
from gate.errors import GateError

TRUST_FILE = "trustlist.json"
STATUS_FILE = "statuslist.json"
SIG_SUFFIX = ".sig"
ANCHORS_DIR = "anchors"
MAX_SIG_BYTES = 64 * 1024  # a base64 signature is under 100 bytes; anything far larger is not one
CORRUPT_SUFFIX = ".corrupt"  # where a damaged cache database is moved aside before it is rebuilt

log = logging.getLogger(__name__)


class TrustError(GateError):
    """A trust or status list was refused; the message says why in one line."""


KeyId = Union[bytes, str]
"""A key's id as its format writes it: 8 bytes for JKM1 (SPKI hash) and the EU DCC (certificate
hash), text for a SMART Health Card (the JWK thumbprint)."""

_FOREVER = 2**63 - 1


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One usable issuer key of the trust list, of any kind (Ed25519, ECDSA, RSA) and any id.

    `alg` is the scheme it signs with (gate.codes.keys.ALGORITHM_KEY_TYPES; None when the key's
    format allows several and the code names one); the validity fields are JKM1's and default to
    no limit; `details` holds what a format's section says beyond that (a DSC's country and key
    usages, an SHC issuer's JWK).
    """

    kid: KeyId
    issuer: str
    alg: str | None
    public_key: keylib.PublicKey
    not_before: int = 0
    not_after: int = _FOREVER
    max_validity_s: int = _FOREVER
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class KeyRing:
    """The usable keys of one section of the trust list, by id (several keys may share one), and
    why entries of that section were left out."""

    keys: Mapping[KeyId, tuple[TrustedKey, ...]]
    ignored: tuple[str, ...] = ()

    def get(self, kid: KeyId) -> tuple[TrustedKey, ...]:
        """The keys with this id, or none."""
        return self.keys.get(kid, ())


KeyReader = Callable[[Any], KeyRing]
"""A format's reader of its section of the trust list (the section's JSON value, None when the
list has none) into a KeyRing; it leaves out what it cannot use and may raise TrustError,
ValueError or TypeError for a section it cannot read at all."""


@dataclass(frozen=True)
class TrustList:
    """A verified trust list: JKM1's keys by kid (several keys may share one), revoked kids, the
    directive keys, and the signed document itself, whose other sections (an EU DCC's `dscs`, SMART
    Health Cards' `shc_issuers`, trust-list.md) each format reads with `keyring`."""

    version: int
    issued_at: int
    expires_at: int
    keys: dict[bytes, tuple[TrustedKey, ...]]
    revoked: frozenset[bytes]
    ignored: tuple[str, ...] = field(default=())  # why entries were left out, for the doctor
    directive_keys: dict[bytes, DirectiveKey] = field(default_factory=dict)  # directives.md
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _rings: dict[str, KeyRing] = field(default_factory=dict, compare=False, repr=False)

    def is_stale(self, now: float) -> bool:
        """True past `expires_at`: still in force, but the device must say it runs on a stale list."""
        return now > self.expires_at

    def keyring(self, section: str, reader: KeyReader) -> KeyRing:
        """The keys of the document's `section` as `reader` makes them, read once per list.

        A section that cannot be read at all is an empty ring that says why: the rest of the list
        (and every other format) stays in force.
        """
        ring = self._rings.get(section)
        if ring is None:
            try:
                ring = reader(self.document.get(section))
            except (TrustError, ValueError, TypeError, KeyError, binascii.Error) as exc:
                ring = KeyRing({}, (f"{section}: {exc}",))
            self._rings[section] = ring
        return ring


@dataclass(frozen=True)
class StatusList:
    """A verified status list, full (base_version 0) or a delta."""

    version: int
    base_version: int
    issued_at: int
    entries: tuple[tuple[str, bytes, int, int], ...]  # (iss, sub, status, since)
    revoked_hashes: tuple[bytes, ...] = ()  # credentials.md: 16-byte hashes of revoked credentials


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrustError(f"{what} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise TrustError(f"{what} is not a JSON object")
    return doc


def _uint(doc: dict[str, Any], key: str, what: str) -> int:
    value = doc.get(key)
    if type(value) is not int or value < 0:
        raise TrustError(f"{what}: '{key}' must be a non-negative integer")
    return value


def parse_trust_list(data: bytes) -> TrustList:
    """Check the shape of a trust list document; entries that cannot be used are left out."""
    doc = _json_object(data, "trust list")
    version = _uint(doc, "version", "trust list")
    issued_at = _uint(doc, "issued_at", "trust list")
    expires_at = _uint(doc, "expires_at", "trust list")
    entries = doc.get("keys")
    revoked_raw = doc.get("revoked_kids", [])
    if not isinstance(entries, list) or not isinstance(revoked_raw, list):
        raise TrustError("trust list: 'keys' and 'revoked_kids' must be arrays")
    revoked = set()
    for kid in revoked_raw:
        try:
            revoked.add(keylib.b64url_decode(kid))
        except (ValueError, binascii.Error):
            raise TrustError(f"trust list: revoked kid {kid!r} is not base64url") from None
    by_kid: dict[bytes, list[TrustedKey]] = {}
    ignored = []
    for n, entry in enumerate(entries):
        try:
            key = _trusted_key(entry)
        except (TrustError, ValueError, TypeError, binascii.Error) as exc:
            ignored.append(f"keys[{n}]: {exc}")
            continue
        by_kid.setdefault(key.kid, []).append(key)
    try:
        directive_keys, ignored_directives = parse_directive_keys(doc.get("directive_keys"))
    except ValueError as exc:
        raise TrustError(f"trust list: {exc}") from None
    ignored.extend(ignored_directives)
    return TrustList(
        version=version,
        issued_at=issued_at,
        expires_at=expires_at,
        keys={kid: tuple(ks) for kid, ks in by_kid.items()},
        revoked=frozenset(revoked),
        ignored=tuple(ignored),
        directive_keys=directive_keys,
        document=doc,
    )


def _trusted_key(entry: Any) -> TrustedKey:
    if not isinstance(entry, dict):
        raise TrustError("not an object")
    der = base64.b64decode(entry["public_key"], validate=True)
    kid = keylib.b64url_decode(entry["kid"])
    if kid != keylib.kid_of(der):
        raise TrustError("kid does not match the public key")
    public_key = keylib.public_key_from_der(der)
    alg = entry["alg"]
    if alg != keylib.alg_of(public_key):
        raise TrustError(f"alg {alg!r} does not match the key type")
    issuer = entry["issuer"]
    if type(issuer) is not str or not issuer:
        raise TrustError("issuer missing")
    return TrustedKey(
        kid=kid,
        issuer=issuer,
        alg=alg,
        public_key=public_key,
        not_before=_uint(entry, "not_before", "key"),
        not_after=_uint(entry, "not_after", "key"),
        max_validity_s=_uint(entry, "max_validity_s", "key"),
    )


def parse_status_list(data: bytes) -> StatusList:
    """Check the shape of a status list document, every entry included."""
    doc = _json_object(data, "status list")
    version = _uint(doc, "version", "status list")
    base_version = _uint(doc, "base_version", "status list")
    issued_at = _uint(doc, "issued_at", "status list")
    raw = doc.get("entries")
    if not isinstance(raw, list):
        raise TrustError("status list: 'entries' must be an array")
    entries = []
    for n, entry in enumerate(raw):
        try:
            iss, sub_hex, status, since = entry["iss"], entry["sub"], entry["status"], entry["since"]
            sub = bytes.fromhex(sub_hex)
        except (TypeError, KeyError, ValueError):
            raise TrustError(f"status list: entries[{n}] needs iss, sub (hex), status and since") from None
        if type(iss) is not str or len(sub) != 16 or status not in (0, 1, 2) or type(status) is not int:
            raise TrustError(f"status list: entries[{n}] has a bad iss, sub or status")
        if type(since) is not int or since < 0:
            raise TrustError(f"status list: entries[{n}] has a bad since")
        entries.append((iss, sub, status, since))
    if base_version and base_version >= version:
        raise TrustError(f"status list: delta base {base_version} is not below its version {version}")
    return StatusList(version=version, base_version=base_version, issued_at=issued_at, entries=tuple(entries),
                      revoked_hashes=_revoked_hashes(doc.get("revoked_hashes", [])))


def _revoked_hashes(raw: Any) -> tuple[bytes, ...]:
    """credentials.md's `revoked_hashes`: hex of 16 bytes each."""
    if not isinstance(raw, list):
        raise TrustError("status list: 'revoked_hashes' must be an array")
    out = []
    for n, text in enumerate(raw):
        try:
            value = bytes.fromhex(text)
        except (TypeError, ValueError):
            value = b""
        if len(value) != 16:
            raise TrustError(f"status list: revoked_hashes[{n}] is not the hex of 16 bytes")
        out.append(value)
    return tuple(out)


def load_anchors(directory: Path) -> list[ed25519.Ed25519PublicKey]:
    """The Ed25519 trust anchors in `directory/*.pem`; TrustError (one line naming the file) for
    a file that cannot be read, is not PEM, or is not an Ed25519 public key."""
    anchors = []
    for pem in sorted(Path(directory).glob("*.pem")):
        try:
            data = fileio.read_regular(pem)
        except fileio.FileReadError as exc:
            raise TrustError(str(exc)) from None
        try:
            key = serialization.load_pem_public_key(data)
        except Exception:  # noqa: BLE001  (ValueError, TypeError, UnsupportedAlgorithm: all one answer)
            raise TrustError(f"{pem}: not a PEM public key; a trust anchor is an Ed25519 public key in PEM") from None
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise TrustError(f"{pem}: a trust anchor must be an Ed25519 key")
        anchors.append(key)
    return anchors


def check_signature(data: bytes, sig_b64: str | bytes, anchors: Iterable[ed25519.Ed25519PublicKey], what: str) -> None:
    """Raise TrustError unless `sig_b64` is an anchor's Ed25519 signature over exactly `data`."""
    try:
        signature = base64.b64decode(sig_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise TrustError(f"{what}: the signature is not base64") from None
    for anchor in anchors:
        if keylib.verify_signature(anchor, "EdDSA", signature, data):
            return
    raise TrustError(f"{what}: the signature does not verify under any trust anchor")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS document (
    name TEXT PRIMARY KEY,      -- 'trustlist' or 'statuslist'
    version INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    body BLOB,                  -- the exact signed bytes (trust list only)
    sig TEXT
);
CREATE TABLE IF NOT EXISTS status (
    iss TEXT NOT NULL,
    sub BLOB NOT NULL,
    status INTEGER NOT NULL,
    since INTEGER NOT NULL,
    PRIMARY KEY (iss, sub)
) WITHOUT ROWID;
"""
# credentials.md's revoked hashes: made when the first status list naming any arrives, so that the
# cache of a gate that reads JKM1 alone is as it was (a table costs a page of the card).
_REVOKED_SCHEMA = """
CREATE TABLE IF NOT EXISTS revoked_hash (
    hash BLOB PRIMARY KEY       -- the first 16 bytes of SHA-256 of a revoked credential's id
) WITHOUT ROWID
"""


class TrustStore:
    """The lists in force on this device, and the anchors that vouch for them.

    `trust_dir` holds `anchors/*.pem` and, when provisioned or kept by sync, the signed files.
    `state_path` is the SQLite file holding what is in force; None keeps it in memory (for
    `gate verify` on a read-only folder). That file is a cache of signed files: one that is
    unreadable or corrupt is moved aside (`CORRUPT_SUFFIX`) and rebuilt from the files in
    `trust_dir` that verify, and `cache_rebuilt` says why (fault `trust_cache_rebuilt`).

    `status_in_force` is False until a good status list has been applied on this device: then
    nobody's raised status can be known, and no code may be admitted on its own (venue-rules.md
    step 7).
    """

    def __init__(self, trust_dir: Path, state_path: Path | None = None) -> None:
        self.trust_dir = Path(trust_dir)
        self.anchors = load_anchors(self.trust_dir / ANCHORS_DIR)
        if not self.anchors:
            raise TrustError(f"{self.trust_dir / ANCHORS_DIR}: no trust anchor (*.pem) found")
        self.state_path = Path(state_path) if state_path is not None else None
        self._writable_dir = state_path is not None
        if self.state_path is not None:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
        # One connection, used by whichever thread runs the scan (the kiosk's loop, a button
        # callback): calls are serialised by self._lock.
        self._lock = threading.RLock()
        self.trust_list: TrustList | None = None
        self.status_version = 0
        self.status_issued_at = 0
        self.status_in_force = False
        self.load_errors: list[str] = []
        self.file_errors: dict[str, str] = {}  # TRUST_FILE / STATUS_FILE -> why the folder's copy was refused
        self.cache_rebuilt: str | None = None
        try:
            self._open_db()
        except (sqlite3.DatabaseError, TrustError) as exc:
            if self.state_path is None or not _is_damage(exc):
                raise  # a locked, unreadable or read-only file is not a damaged one: nothing is moved
            self._rebuild(exc)
        self._load_files()
        if self.state_path is not None:
            with self._lock:
                _fold_wal(self._db)

    def _open_db(self) -> None:
        """Open (creating when new) the state database and read what is in force from it."""
        db = sqlite3.connect(":memory:" if self.state_path is None else str(self.state_path), isolation_level=None,
                             check_same_thread=False)
        try:
            db.execute("PRAGMA busy_timeout=5000")
            if self.state_path is not None:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
                if problems != ["ok"]:
                    raise _DamagedCache(f"quick_check: {problems[0]}")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        self._db = db
        self._data_version = -1
        try:
            self.refresh()
        except BaseException:
            db.close()
            raise

    def _rebuild(self, why: Exception) -> None:
        """Move a damaged state database aside and start an empty one (filled from the files next)."""
        assert self.state_path is not None
        aside = self.state_path.with_name(self.state_path.name + CORRUPT_SUFFIX)
        os.replace(self.state_path, aside)
        for suffix in ("-wal", "-shm"):
            try:
                os.unlink(str(self.state_path) + suffix)
            except FileNotFoundError:
                pass
        self.trust_list, self.status_version, self.status_issued_at, self.status_in_force = None, 0, 0, False
        self._open_db()
        self.cache_rebuilt = (f"{self.state_path}: damaged ({why}); moved aside to {aside.name} "
                              "and rebuilt from the signed files that verify")
        log.warning("trust cache %s", self.cache_rebuilt)

    # -- reading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read what is in force if another connection (the sync process) changed it."""
        with self._lock:
            data_version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if data_version == self._data_version:
                return
            self._data_version = data_version
            row = self._db.execute("SELECT body FROM document WHERE name='trustlist'").fetchone()
            if row is not None:
                self.trust_list = parse_trust_list(row[0])
            row = self._db.execute("SELECT version, issued_at FROM document WHERE name='statuslist'").fetchone()
            self.status_version, self.status_issued_at = row if row else (0, 0)
            self.status_in_force = row is not None

    def status_stale(self, now: float, max_age_s: float) -> bool:
        """True when the status list in force was issued more than `max_age_s` before `now`."""
        return self.status_in_force and now - self.status_issued_at > max_age_s

    @property
    def trust_version(self) -> int | None:
        """The version of the trust list in force, None before the first one."""
        return self.trust_list.version if self.trust_list else None

    def status_of(self, iss: str, sub: bytes) -> tuple[int, int] | None:
        """(status, since) of the status-list entry for (iss, sub), if any."""
        with self._lock:
            return self._db.execute("SELECT status, since FROM status WHERE iss=? AND sub=?", (iss, sub)).fetchone()

    def is_revoked_hash(self, digest: bytes) -> bool:
        """True when the status list in force revokes the credential with this 16-byte hash."""
        with self._lock:
            if not self._has_revoked_table():
                return False
            return self._db.execute("SELECT 1 FROM revoked_hash WHERE hash=?", (digest,)).fetchone() is not None

    def _has_revoked_table(self) -> bool:
        return self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='revoked_hash'").fetchone() is not None

    def status_count(self) -> int:
        """How many subjects the status list in force names."""
        with self._lock:
            return self._db.execute("SELECT count(*) FROM status").fetchone()[0]

    # -- applying --------------------------------------------------------------------------

    def apply_trust_list(self, data: bytes, sig_b64: str | bytes) -> bool:
        """Put a signed trust list in force. False when it is the version already in force.

        Raises TrustError (and changes nothing) for a bad signature, bad JSON or shape, or an
        older version (rollback).
        """
        check_signature(data, sig_b64, self.anchors, "trust list")
        new = parse_trust_list(data)
        self.refresh()
        current = self.trust_version
        if current is not None and new.version == current:
            return False
        if current is not None and new.version < current:
            raise TrustError(f"trust list: version {new.version} is older than version {current} in force (rollback refused)")
        sig_text = sig_b64.decode() if isinstance(sig_b64, bytes) else sig_b64
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO document (name, version, issued_at, body, sig) VALUES ('trustlist', ?, ?, ?, ?)",
                (new.version, new.issued_at, data, sig_text.strip()),
            )
        self.trust_list = new
        self._keep_file(TRUST_FILE, data, sig_text)
        return True

    def apply_status_list(self, data: bytes, sig_b64: str | bytes) -> bool:
        """Put a signed status list (full or delta) in force, all entries or none.

        False when it is the version already in force. Raises TrustError (changing nothing) for
        a bad signature, bad JSON or shape, an older version, or a delta on another base.
        """
        check_signature(data, sig_b64, self.anchors, "status list")
        new = parse_status_list(data)
        self.refresh()
        current = self.status_version
        if new.version == current and current:
            return False
        if new.version < current:
            raise TrustError(f"status list: version {new.version} is older than version {current} in force (rollback refused)")
        if new.base_version and new.base_version != current:
            raise TrustError(
                f"status list: delta on base {new.base_version} does not apply to version {current} in force; fetch a full list"
            )
        with self._transaction():
            if not new.base_version:
                self._db.execute("DELETE FROM status")
            if new.revoked_hashes:
                self._db.execute(_REVOKED_SCHEMA)
            if self._has_revoked_table():
                if not new.base_version:
                    self._db.execute("DELETE FROM revoked_hash")
                self._db.executemany("INSERT OR IGNORE INTO revoked_hash (hash) VALUES (?)",
                                     [(h,) for h in new.revoked_hashes])
            self._db.executemany("INSERT OR REPLACE INTO status (iss, sub, status, since) VALUES (?, ?, ?, ?)", new.entries)
            self._db.execute(
                "INSERT OR REPLACE INTO document (name, version, issued_at) VALUES ('statuslist', ?, ?)",
                (new.version, new.issued_at),
            )
        self.status_version, self.status_issued_at = new.version, new.issued_at
        self.status_in_force = True
        if not new.base_version:
            self._keep_file(STATUS_FILE, data, sig_b64.decode() if isinstance(sig_b64, bytes) else sig_b64)
        return True

    def close(self) -> None:
        """Close the state database; safe to call twice."""
        with self._lock:
            self._db.close()

    # -- internals -------------------------------------------------------------------------

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db, self._lock)

    def _load_files(self) -> None:
        """Apply the signed files found in trust_dir when they are newer than what is in force."""
        for name, apply in ((TRUST_FILE, self.apply_trust_list), (STATUS_FILE, self.apply_status_list)):
            path = self.trust_dir / name
            sig_path = self.trust_dir / (name + SIG_SUFFIX)
            if not path.exists() and not path.is_symlink():
                continue
            try:
                data = fileio.read_regular(path)
                sig = fileio.read_text(sig_path, limit=MAX_SIG_BYTES)
            except fileio.FileReadError as exc:
                self.file_errors[name] = str(exc)
                self.load_errors.append(str(exc))
                continue
            try:
                apply(data, sig)
            except TrustError as exc:
                self.file_errors[name] = f"{path}: {exc}"
                self.load_errors.append(f"{path}: {exc}")

    def _keep_file(self, name: str, data: bytes, sig: str) -> None:
        """Keep a copy of an accepted document beside the anchors, for people and for a lost database."""
        if not self._writable_dir:
            return
        path = self.trust_dir / name
        try:
            try:
                if fileio.read_regular(path) == data:
                    return
            except fileio.FileReadError:
                pass  # absent or not a regular file: replaced below
            for target, content in ((path.with_name(name + SIG_SUFFIX), sig.strip().encode() + b"\n"), (path, data)):
                fileio.replace_atomically(target, content)
        except OSError as exc:
            self.load_errors.append(f"{path}: could not keep a copy ({exc})")


class _DamagedCache(sqlite3.DatabaseError):
    """The state database's own check found it damaged."""


# SQLite's result codes for a file that is damaged or not a database at all.
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def _is_damage(exc: BaseException) -> bool:
    """True for a cache that is damaged (rebuild it), False for one that is busy, locked or unwritable."""
    if isinstance(exc, (_DamagedCache, TrustError)):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    message = str(exc)
    return "malformed" in message or "not a database" in message


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
            if exc_type is None:
                _fold_wal(self._db)
        finally:
            self._lock.release()


def _fold_wal(db: sqlite3.Connection) -> None:
    """Fold the write-ahead log back into the cache and empty it: lists change rarely, and the card
    the cache shares with the record store is small (a busy reader only leaves the log for later)."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
