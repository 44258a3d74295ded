"""Numba's cache of tikkun's compiled kernels, renewed whenever a source they can be built from
changes, and kept apart for the portable switch.

Numba keeps a compiled function beside its source (``__pycache__``) and loads it again while
*that file* is unchanged. A kernel of tikkun is built from functions of several modules,
inlined: the soul pass (``engine/year_kernel.py``) from the rules (``rules/cleansing.py``, ...)
and from :mod:`tikkun.native.gather`. Changed in one of those, a rule would not reach
the cached soul pass: a run would go on with the old rule, silently. A fresh install rewrites
every file, so this is about sources edited in place: a clone installed with ``pip install
-e`` and then changed or updated.

:func:`register` puts, ahead of each of Numba's ways of placing a cache, the same way with two
differences for the files of a registered folder. Their freshness is the folder's
:func:`stamp`: a hash of the sources kernels can be built from (for tikkun,
:data:`KERNEL_SOURCES`: the model and the engine, not the command line, the API or the outputs,
so editing those compiles nothing again) and the value of the portable switch. And with
``TIKKUN_PORTABLE=1`` they are cached in a folder of their own (``portable`` inside Numba's),
so a kernel compiled with the processor-specific paths on is never served to a process that
turned them off, and the two never replace each other. Functions outside the folder are cached
as Numba does. ``NUMBA_CACHE_LOCATOR_CLASSES``, if set, replaces Numba's list and this one with
it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

from numba.core import caching

from . import PORTABLE

#: What tikkun's kernels can be built from, relative to the package's folder: the model and the
#: engine. A kernel inlines functions and freezes constants only from modules it imports, and
#: these import, within tikkun, only each other (tested). Left out: ``__init__.py``, ``cli.py``,
#: ``__main__.py``, ``api.py``, ``outputs/``, ``records/`` and every later layer above the API.
KERNEL_SOURCES = ("engine", "rules", "native", "genesis", "scenario", "state.py", "random.py")

_ROOTS: dict[str, bytes] = {}  # registered folder (absolute, normalised) -> its stamp

_PORTABLE_FOLDER = "portable"  # inside Numba's cache folder, for TIKKUN_PORTABLE=1


def _sources(root: Path, include: Iterable[str] | None) -> list[Path]:
    """The ``.py`` files under ``root`` (not in ``__pycache__``), in sorted order; with
    ``include``, only those whose first part below ``root`` (a file or a folder's name) is in it."""
    keep = None if include is None else set(include)
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or (keep is not None and rel.parts[0] not in keep):
            continue
        out.append(path)
    return out


def sources_hash(root: str | os.PathLike, include: Iterable[str] | None = None) -> bytes:
    """sha256 of the ``.py`` files under ``root`` (each one's path relative to ``root`` and its
    bytes), in sorted order; with ``include``, of those under its entries only (names of files
    or folders directly in ``root``). Equal for equal sets of sources, different after any edit,
    addition, removal or renaming among them."""
    root = Path(root)
    h = hashlib.sha256()
    for path in _sources(root, include):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.digest()


def stamp(root: str | os.PathLike, include: Iterable[str] | None = None, portable: bool | None = None) -> bytes:
    """The freshness a registered folder adds to its files' caches: :func:`sources_hash` of
    ``root`` and ``include``, and the portable switch (``portable``, by default the one read at
    import), so that a kernel compiled with the processor-specific paths on is never taken for
    one compiled with them off."""
    portable = PORTABLE if portable is None else bool(portable)
    return hashlib.sha256(sources_hash(root, include) + (b"portable" if portable else b"native")).digest()


def _registered_root(py_file: str) -> str | None:
    path = os.path.normcase(os.path.abspath(py_file))
    for root in _ROOTS:
        if path.startswith(root + os.sep):
            return root
    return None


def _with_folder_stamp(base: type) -> type:
    """``base`` (one of Numba's cache locators) for the files of a registered folder only, with
    the folder's stamp added to each file's own freshness stamp, and in a folder of its own
    with ``TIKKUN_PORTABLE=1``."""

    class FolderStampedLocator(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            if _registered_root(py_file) is None:
                return None  # not ours: Numba's own locators follow
            return super().from_function(py_func, py_file)

        def get_cache_path(self):
            path = super().get_cache_path()
            return os.path.join(path, _PORTABLE_FOLDER) if PORTABLE else path

        def get_source_stamp(self):
            root = _registered_root(getattr(self, "_py_file", "") or "")
            return (super().get_source_stamp(), _ROOTS.get(root, b""))

    FolderStampedLocator.__name__ = FolderStampedLocator.__qualname__ = "FolderStamped" + base.__name__
    return FolderStampedLocator


def _cache_impl():
    # Numba's class that picks a locator (CacheImpl since 0.61, _CacheImpl before)
    return getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)


def register(root: str | os.PathLike, include: Iterable[str] | None = None) -> bool:
    """Stamp the cache of every function compiled from files under ``root`` with :func:`stamp`
    of ``root`` and ``include`` (every ``.py`` file under ``root`` without it). Call before the
    modules under ``root`` are imported (Numba picks a function's locator when it is
    decorated). Returns False, changing nothing, if this Numba does not have the expected
    cache machinery."""
    impl = _cache_impl()
    classes = getattr(impl, "_locator_classes", None)
    if not isinstance(classes, list) or not all(hasattr(c, "from_function") for c in classes):
        return False
    try:
        folder_stamp = stamp(root, include)
    except OSError:  # a source that cannot be read: Numba's own caching, as without tikkun
        return False
    _ROOTS[os.path.normcase(os.path.abspath(root))] = folder_stamp
    if not any(getattr(c, "_tikkun_stamped", False) for c in classes):
        stamped = []
        for base in classes:
            cls = _with_folder_stamp(base)
            cls._tikkun_stamped = True
            stamped.append(cls)
        classes[:0] = stamped  # tried first, in Numba's own order
    return True


def cached(kernel) -> bool | None:
    """Whether Numba's cache on disk holds ``kernel`` (an ``@njit(cache=True)`` function) as this
    code compiles it: False where it would compile (the first run after an install or an
    update: minutes), None where that cannot be told (another Numba's cache machinery). Reads
    the cache's index only: nothing compiles."""
    try:
        return len(kernel._cache._cache_file._load_index()) > 0  # {} where the stamps differ
    except Exception:  # Numba's private cache machinery moved: say nothing rather than fail
        return None
