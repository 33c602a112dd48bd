"""Reading rows straight from the pages of a damaged SQLite file and its WAL.

SQLite's own recovery (``.recover`` of the sqlite3 shell, the recovery extension) needs the
``sqlite_dbpage`` table, which Debian's and Raspberry Pi OS's SQLite are built without; Python's
sqlite3 module does not expose the recovery API either. So this walks the file the way they do:
every page of the main file, then every committed frame of the WAL (newer), and every cell of
every table or index leaf page it can parse (SQLite file format, sqlite.org/fileformat2.html),
following overflow chains. A page that does not parse is skipped; nothing is written.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEAF_TABLE = 0x0D
LEAF_INDEX = 0x0A
_PAGE_SIZES = (1024, 4096, 2048, 512, 8192, 16384, 32768, 65536)


@dataclass(frozen=True)
class Row:
    """One cell's values; `source` is 0 for the main file, 1 + frame number for a WAL frame."""

    values: tuple[Any, ...]
    table: bool  # a table b-tree cell (True) or an index / WITHOUT ROWID cell (False)
    source: int


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = 0
    for k in range(9):
        b = buf[i + k]
        if k == 8:
            return (value << 8) | b, i + 9
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, i + k + 1
    raise ValueError("bad varint")


def _values(payload: bytes) -> tuple[Any, ...]:
    header_size, i = _varint(payload, 0)
    if header_size > len(payload) or header_size < 1:
        raise ValueError("bad record header")
    types = []
    while i < header_size:
        t, i = _varint(payload, i)
        types.append(t)
    out: list[Any] = []
    j = header_size
    for t in types:
        if t == 0:
            out.append(None)
        elif 1 <= t <= 6:
            n = (1, 2, 3, 4, 6, 8)[t - 1]
            out.append(int.from_bytes(payload[j:j + n], "big", signed=True))
            j += n
        elif t == 7:
            out.append(struct.unpack(">d", payload[j:j + 8])[0])
            j += 8
        elif t in (8, 9):
            out.append(t - 8)
        elif t >= 12:
            n = (t - 12) // 2
            chunk = payload[j:j + n]
            if len(chunk) != n:
                raise ValueError("record runs past its payload")
            out.append(bytes(chunk) if t % 2 == 0 else chunk.decode("utf-8"))
            j += n
        else:
            raise ValueError("reserved serial type")
    if j > len(payload):
        raise ValueError("record runs past its payload")
    return tuple(out)


class PageFile:
    """The pages of a database file and its WAL's committed frames, newest version last."""

    def __init__(self, db: Path, page_size: int) -> None:
        self.page_size = page_size
        self.main = db.read_bytes() if db.exists() else b""
        self.frames: list[tuple[int, bytes]] = []  # (page number, page) in WAL order
        wal = Path(str(db) + "-wal")
        if wal.exists():
            self._read_wal(wal.read_bytes())
        self.latest: dict[int, bytes] = {}
        for n in range(1, len(self.main) // page_size + 1):
            self.latest[n] = self.main[(n - 1) * page_size:n * page_size]
        for n, page in self.frames:
            self.latest[n] = page

    def _read_wal(self, data: bytes) -> None:
        if len(data) < 32 or data[:4] not in (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83"):
            return
        size = int.from_bytes(data[8:12], "big")
        if size != self.page_size:
            return
        salts = data[16:24]
        pending: list[tuple[int, bytes]] = []
        at = 32
        while at + 24 + size <= len(data):
            header = data[at:at + 24]
            if header[8:16] != salts:
                break  # a frame of an earlier generation: already in the main file
            pending.append((int.from_bytes(header[:4], "big"), data[at + 24:at + 24 + size]))
            if int.from_bytes(header[4:8], "big"):  # a commit frame: what came before it is committed
                self.frames.extend(pending)
                pending = []
            at += 24 + size

    def versions(self) -> Iterator[tuple[int, int, bytes]]:
        """(source, page number, page) for every page of the main file, then every WAL frame."""
        for n in range(1, len(self.main) // self.page_size + 1):
            yield 0, n, self.main[(n - 1) * self.page_size:n * self.page_size]
        for k, (n, page) in enumerate(self.frames):
            yield 1 + k, n, page

    def rows(self) -> Iterator[Row]:
        """Every cell of every leaf page that parses, oldest versions first."""
        for source, number, page in self.versions():
            offset = 100 if number == 1 else 0
            kind = page[offset] if len(page) > offset else 0
            if kind not in (LEAF_TABLE, LEAF_INDEX):
                continue
            try:
                cells = int.from_bytes(page[offset + 3:offset + 5], "big")
                pointers = [int.from_bytes(page[offset + 8 + 2 * c:offset + 10 + 2 * c], "big")
                            for c in range(cells)]
            except (IndexError, ValueError):
                continue
            for pointer in pointers:
                try:
                    values = self._cell(page, pointer, kind)
                except (IndexError, ValueError, UnicodeDecodeError, struct.error, RecursionError):
                    continue
                yield Row(values, kind == LEAF_TABLE, source)

    def _cell(self, page: bytes, pointer: int, kind: int) -> tuple[Any, ...]:
        if not 0 < pointer < self.page_size:
            raise ValueError("cell pointer out of the page")
        size, i = _varint(page, pointer)
        if kind == LEAF_TABLE:
            _, i = _varint(page, i)  # the rowid
        usable = self.page_size
        max_local = usable - 35 if kind == LEAF_TABLE else (usable - 12) * 64 // 255 - 23
        if size <= max_local:
            payload = page[i:i + size]
        else:
            min_local = (usable - 12) * 32 // 255 - 23
            local = min_local + (size - min_local) % (usable - 4)
            if local > max_local:
                local = min_local
            payload = page[i:i + local] + self._overflow(int.from_bytes(page[i + local:i + local + 4], "big"),
                                                         size - local)
        if len(payload) != size:
            raise ValueError("cell runs past its page")
        return _values(payload)

    def _overflow(self, number: int, remaining: int) -> bytes:
        chunks = []
        seen = set()
        while remaining > 0:
            if number in seen or number not in self.latest:
                raise ValueError("broken overflow chain")
            seen.add(number)
            page = self.latest[number]
            take = min(remaining, self.page_size - 4)
            chunks.append(page[4:4 + take])
            remaining -= take
            number = int.from_bytes(page[:4], "big")
        return b"".join(chunks)


def page_sizes(db: Path) -> list[int]:
    """The page size the file's header names first (when readable), then the other candidates."""
    sizes: list[int] = []
    try:
        with open(db, "rb") as f:
            head = f.read(100)
        if head[:16] == b"SQLite format 3\x00":
            raw = int.from_bytes(head[16:18], "big")
            sizes.append(65536 if raw == 1 else raw)
    except OSError:
        pass
    wal = Path(str(db) + "-wal")
    if wal.exists():
        with open(wal, "rb") as f:
            head = f.read(32)
        if len(head) == 32:
            sizes.append(int.from_bytes(head[8:12], "big"))
    return list(dict.fromkeys(s for s in sizes + list(_PAGE_SIZES) if s in _PAGE_SIZES))
