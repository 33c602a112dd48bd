"""Reading and replacing the gate's small files safely (trust-list.md, "Reading the folder").

The trust folder, the time floor and the configuration file are read and written by several
processes and may be tampered with by anyone who can write to the folder. So:

- `read_regular` reads only a regular file (a symlink is followed for reading), never a FIFO or
  a device: the file is opened without blocking and checked with fstat before a byte is read, so
  a FIFO planted under a list's name cannot hang the gate and /dev/zero cannot exhaust memory;
  a file larger than the limit (64 MiB by default) is refused. Every failure is a `FileReadError`
  whose text is one line naming the file.
- `replace_atomically` writes a new temporary file made for the purpose (mkstemp: a fresh name,
  O_EXCL, so a link planted under any name is never followed), fsyncs it and renames it over the
  target, so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from gate.errors import GateError

MAX_FILE_BYTES = 64 * 1024 * 1024


class FileReadError(GateError, OSError):
    """A file that cannot be read as asked; str() is one line naming the file and why."""

    def __init__(self, path: Path | str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = Path(path)
        self.why = why

    def __str__(self) -> str:
        return f"{self.path}: {self.why}"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular(path: Path | str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them; FileReadError otherwise."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileReadError(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileReadError(path, f"is {_kind(info.st_mode)}; only a regular file is read")
        if info.st_size > limit:
            raise FileReadError(path, f"is {info.st_size} bytes, more than the {limit} allowed")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while being read
                raise FileReadError(path, f"is more than the {limit} bytes allowed")
        return b"".join(chunks)
    except FileReadError:
        raise
    except OSError as exc:
        raise FileReadError(path, f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_text(path: Path | str, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file at `path`; FileReadError for anything else."""
    data = read_regular(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileReadError(path, "is not UTF-8 text") from None


def replace_atomically(path: Path | str, data: bytes, mode: int | None = None, *, follow_link: bool = False) -> None:
    """Replace `path` with `data` through a new temporary file in the same folder.

    A crash leaves either the old file or the new one. `mode` defaults to the old file's
    permissions (0o644 for a new file or one that was not a regular file). A symlink at `path` is
    itself replaced by the new file unless `follow_link` (a configuration file kept elsewhere on
    purpose), and a link planted under a temporary name is never followed: the name is new (O_EXCL).
    """
    target = Path(os.path.realpath(path)) if follow_link else Path(os.path.abspath(path))
    folder = target.parent
    if mode is None:
        try:
            info = os.lstat(target)
            mode = stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else 0o644
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError as exc:  # some file systems cannot fsync a folder; the rename still happened
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(dir_fd)
