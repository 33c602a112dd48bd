"""The signed trust and status lists the collector hands to gates, read from one directory.

The collector never signs anything: the lists are made and signed elsewhere (``gate keys``, the
health authority) and dropped into the lists directory, which is laid out as::

    LISTS_DIR/
      trustlist.json              the trust list (spec/trust-list.md)
      trustlist.json.sig          base64 Ed25519 signature over the exact bytes of trustlist.json
      statuslist.json             the latest FULL status list (base_version 0)
      statuslist.json.sig
      bulletin.json               the bulletin in force (directives.md), optional
      bulletin.json.sig
      statuslist.d/               optional deltas
        <base>-<version>.json     a delta from version <base> to <version> (decimal integers)
        <base>-<version>.json.sig

Publishing: write the new ``.json.sig`` first and the ``.json`` last, each by rename, so a reader
sees an old or a new pair (a request racing the swap at worst gets a pair that fails its
signature on the gate, which refuses it and asks again next round).

``GET /v1/statuslist?since=N`` picks one document:

1. latest = the greatest version among the full list and all deltas.
   ``since >= latest`` -> 304 (nothing newer).
2. Among deltas whose base is exactly N, the one reaching the greatest version; it is served
   when that version is at least the full list's version.
3. Otherwise the full list, when its version is greater than N.
4. Otherwise 304 (the gate cannot move forward from N with what is on disk).

``GET /v1/bulletin?since=N`` serves ``bulletin.json`` when its ``version`` is greater than N,
else 304; 404 when there is none.

No ``since`` (or ``since=0``) asks for the full list. A missing file or signature is answered 404.
Files are read on every request (the full list's version is cached by mtime and size), so new
lists take effect without a restart.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from gate.errors import GateError

TRUSTLIST = "trustlist.json"
BULLETIN = "bulletin.json"
STATUSLIST = "statuslist.json"
DELTAS_DIR = "statuslist.d"
SIG_SUFFIX = ".sig"

_DELTA_NAME = re.compile(r"^(\d+)-(\d+)\.json$")


@dataclass(frozen=True, slots=True)
class SignedDocument:
    """A list's exact bytes and its base64 signature (the X-Signature header)."""

    body: bytes
    signature: str
    name: str


class ListNotFound(GateError):
    """The list (or its signature) is not on disk."""


class ListsDirectory:
    """Reads the signed lists from `root` following the layout in the module docstring."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._full_version_cache: tuple[tuple[int, int], int] | None = None

    def _read(self, path: Path) -> SignedDocument:
        sig_path = path.with_name(path.name + SIG_SUFFIX)
        try:
            body = path.read_bytes()
            signature = sig_path.read_text(encoding="ascii").strip()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ListNotFound(str(path)) from exc
        except UnicodeDecodeError as exc:
            raise ListNotFound(f"{sig_path} is not base64 text") from exc
        return SignedDocument(body=body, signature=signature, name=path.name)

    def trustlist(self) -> SignedDocument:
        """The trust list; ListNotFound when it or its signature is missing."""
        return self._read(self.root / TRUSTLIST)

    def full_status_version(self) -> int | None:
        """The version of ``statuslist.json``, or None when it is missing or unreadable."""
        path = self.root / STATUSLIST
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        key = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._full_version_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            version = json.loads(path.read_bytes())["version"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(version, int) or isinstance(version, bool):
            return None
        with self._lock:
            self._full_version_cache = (key, version)
        return version

    def trust_version(self) -> int | None:
        """The version of the trust list this collector serves; None when it serves none."""
        try:
            doc = self.trustlist()
            version = json.loads(doc.body)["version"]
        except (ListNotFound, ValueError, KeyError, TypeError):
            return None
        return version if isinstance(version, int) and not isinstance(version, bool) else None

    def status_version(self) -> int | None:
        """The newest status list version this collector serves (full list or delta), or None."""
        versions = [v for _, v in self.deltas()]
        full = self.full_status_version()
        if full is not None:
            versions.append(full)
        return max(versions, default=None)

    def deltas(self) -> list[tuple[int, int]]:
        """(base, version) of every delta on disk."""
        try:
            names = os.listdir(self.root / DELTAS_DIR)
        except (FileNotFoundError, NotADirectoryError):
            return []
        found = []
        for name in names:
            match = _DELTA_NAME.match(name)
            if match:
                base, version = int(match.group(1)), int(match.group(2))
                if version > base:
                    found.append((base, version))
        return found

    def statuslist_since(self, since: int) -> SignedDocument | None:
        """The document to send a gate at version `since`; None means 304 (nothing newer).

        ListNotFound when there is no status list at all.
        """
        full_version = self.full_status_version()
        deltas = self.deltas()
        versions = [v for _, v in deltas]
        if full_version is not None:
            versions.append(full_version)
        if not versions:
            raise ListNotFound(STATUSLIST)
        if since >= max(versions):
            return None
        if since > 0:
            reachable = [v for base, v in deltas if base == since]
            if reachable:
                best = max(reachable)
                if full_version is None or best >= full_version:
                    return self._read(self.root / DELTAS_DIR / f"{since}-{best}.json")
        if full_version is not None and full_version > since:
            return self._read(self.root / STATUSLIST)
        return None

    def bulletin_since(self, since: int) -> SignedDocument | None:
        """The bulletin when its version is newer than `since`; None means 304.

        ListNotFound when there is no bulletin (or it has no signature or no integer version).
        """
        doc = self._read(self.root / BULLETIN)
        try:
            version = json.loads(doc.body)["version"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ListNotFound(f"{BULLETIN} has no version") from exc
        if not isinstance(version, int) or isinstance(version, bool):
            raise ListNotFound(f"{BULLETIN} has no integer version")
        return doc if version > since else None
