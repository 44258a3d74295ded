"""Atomic file writing: a reader sees the old file or the new one, never half of one.

Every output of tikkun goes through here (Standards: "Outputs are written atomically"):
the bytes are written to a temporary file in the same folder, flushed to disk, and renamed
over the target, which POSIX guarantees to be atomic within one file system.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Callable, Iterator


# A temporary file is named "." + the target's name + _MARK + mkstemp's eight random characters
# (a-z, 0-9, _) + ".tmp": the mark tells it from any file of a user's (remove_leftovers).
_MARK = ".tikkun-"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, exclusive: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success rename it over ``target``.

    The caller writes the file at the yielded path with any library (pyarrow, numpy...).
    On an exception the temporary file is removed and ``target`` is left untouched. With
    ``exclusive`` the file is put in place only if ``target`` does not exist, else
    FileExistsError (checked and claimed in one step of the file system: of two processes
    writing one new file at once, exactly one succeeds).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{_MARK}", suffix=".tmp", dir=target.parent)
    tmp_path = Path(tmp)
    try:
        os.close(fd)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        if exclusive:
            _link_new(tmp_path, target)
        else:
            os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _link_new(tmp: Path, target: Path) -> None:
    """Rename the finished ``tmp`` to ``target`` if no file has that name (FileExistsError if
    one has). A hard link checks and names at once; where the file system has none, ``target``
    is claimed empty (``O_EXCL``) and ``tmp`` renamed over it."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network or FAT file systems)
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~_umask()))
        os.replace(tmp, target)
        return
    tmp.unlink()


_LEFTOVER = re.compile(r"\..+" + re.escape(_MARK) + r"[a-z0-9_]{8}\.tmp")  # atomic_path's names


def remove_leftovers(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that :func:`atomic_path` left in ``folder`` (not in its
    subfolders) when its process was killed in the middle of a write; return them. A run that
    goes on in a folder (a resume, a sweep's run moved to its place) calls it first: such a
    file is never a user's, and never a finished output."""
    gone = []
    for p in Path(folder).glob(".*.tmp"):
        if _LEFTOVER.fullmatch(p.name) and p.is_file():
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                gone.append(p)
    return gone


def _umask() -> int:
    """The process's umask, read without setting it where the system says it (Linux): setting it
    to read it would give a file another thread makes in between the mode 0666. Elsewhere it is
    set and put back at each write (kept from one write to the next, it would miss a change)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(target: str | os.PathLike, data: bytes, exclusive: bool = False) -> None:
    """Atomically write ``data`` to ``target`` (with ``exclusive``, a new file only:
    :func:`atomic_path`)."""
    with atomic_path(target, exclusive) as tmp:
        tmp.write_bytes(data)


def write_text(target: str | os.PathLike, text: str, exclusive: bool = False) -> None:
    """Atomically write UTF-8 ``text`` to ``target`` (with ``exclusive``, a new file only)."""
    write_bytes(target, text.encode("utf-8"), exclusive)


def write_with(target: str | os.PathLike, writer: Callable[[Path], None]) -> None:
    """Atomically write ``target`` by calling ``writer(tmp_path)``."""
    with atomic_path(target) as tmp:
        writer(tmp)
