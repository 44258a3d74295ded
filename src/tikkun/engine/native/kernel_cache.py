"""Numba's cache of tikkun's compiled kernels, renewed whenever any of tikkun's sources changes.

Numba keeps a compiled function beside its source (``__pycache__``) and loads it again while
*that file* is unchanged. A kernel of tikkun is built from functions of several modules,
inlined: the soul pass (``engine/year_kernel.py``) from the rules (``rules/cleansing.py``, ...)
and from :mod:`tikkun.gather`. Changed in one of those, a rule would not reach the cached
soul pass: a run would go on with the old rule, silently. (Measured: with a lane of
``gather.light_of_eight`` shifted and then put back, the soul pass kept the shifted lane
until its cache was deleted.) A fresh install rewrites every file, so this is about sources
edited in place: a clone installed with ``pip install -e`` and then changed or updated.

:func:`register` puts, ahead of each of Numba's ways of placing a cache, the same way with one
difference for the files of a registered folder: their freshness is that of the whole folder
(a hash of every ``.py`` file in it, with its path). Any change to any of tikkun's sources
then makes Numba compile tikkun's kernels again, once. Functions outside the folder are
cached as Numba does. ``NUMBA_CACHE_LOCATOR_CLASSES``, if set, replaces Numba's list and this
one with it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from numba.core import caching

_ROOTS: dict[str, bytes] = {}  # registered folder (absolute, normalised) -> hash of its sources


def sources_hash(root: str | os.PathLike) -> bytes:
    """sha256 of every ``.py`` file under ``root`` (its path relative to ``root`` and its bytes),
    in sorted order: equal for equal trees of sources, different after any edit, addition,
    removal or renaming."""
    root = Path(root)
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.digest()


def _registered_root(py_file: str) -> str | None:
    path = os.path.normcase(os.path.abspath(py_file))
    for root in _ROOTS:
        if path.startswith(root + os.sep):
            return root
    return None


def _with_folder_stamp(base: type) -> type:
    """``base`` (one of Numba's cache locators) for the files of a registered folder only, with
    the folder's sources hash added to each file's own freshness stamp."""

    class FolderStampedLocator(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            if _registered_root(py_file) is None:
                return None  # not ours: Numba's own locators follow
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            root = _registered_root(getattr(self, "_py_file", "") or "")
            return (super().get_source_stamp(), _ROOTS.get(root, b""))

    FolderStampedLocator.__name__ = FolderStampedLocator.__qualname__ = "FolderStamped" + base.__name__
    return FolderStampedLocator


def _cache_impl():
    # Numba's class that picks a locator (CacheImpl since 0.61, _CacheImpl before)
    return getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)


def register(root: str | os.PathLike) -> bool:
    """Stamp the cache of every function compiled from files under ``root`` with the hash of
    all of ``root``'s sources. Call before the modules under ``root`` are imported (Numba
    picks a function's locator when it is decorated). Returns False, changing nothing, if this
    Numba does not have the expected cache machinery."""
    impl = _cache_impl()
    classes = getattr(impl, "_locator_classes", None)
    if not isinstance(classes, list) or not all(hasattr(c, "from_function") for c in classes):
        return False
    try:
        stamp = sources_hash(root)
    except OSError:  # a source that cannot be read: Numba's own caching, as without tikkun
        return False
    _ROOTS[os.path.normcase(os.path.abspath(root))] = stamp
    if not any(getattr(c, "_tikkun_stamped", False) for c in classes):
        stamped = []
        for base in classes:
            cls = _with_folder_stamp(base)
            cls._tikkun_stamped = True
            stamped.append(cls)
        classes[:0] = stamped  # tried first, in Numba's own order
    return True
