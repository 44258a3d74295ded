"""The environment variables that choose how the kernels are built and run, checked once, as
tikkun is imported, before Numba reads its own.

A value tikkun or Numba cannot use would otherwise surface as a traceback while tikkun is
imported (``NUMBA_NUM_THREADS=0``, ``TIKKUN_PORTABLE=yes``), as a warning after which Numba
goes on with its default (``NUMBA_NUM_THREADS=two``), or only at the first parallel loop (an
unknown ``NUMBA_THREADING_LAYER``). Here each such value is set aside (removed from
``os.environ``, so that Numba imports) and named in :data:`PROBLEMS`, and every run refuses to
start (:func:`check`): the command line says so in one line with exit code 2, the API raises
:class:`SettingError`. Nothing runs with a setting other than the one asked for.

This module imports nothing but :mod:`os`: ``tikkun/__init__.py`` imports it before Numba.
"""

from __future__ import annotations

import os
from typing import Mapping

# Numba's threading layers and the purposes it chooses among them by (its documentation,
# "The Threading Layers")
NAMED_LAYERS = ("tbb", "omp", "workqueue")
LAYERS = ("default", "safe", "threadsafe", "forksafe", *NAMED_LAYERS)


class SettingError(ValueError):
    """An environment variable tikkun or Numba cannot use; the message names it and what is allowed."""


def problems(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` whose value cannot be used, each with the sentence that says
    what is allowed (empty when all can)."""
    found: dict[str, str] = {}
    value = environ.get("TIKKUN_PORTABLE")
    if value is not None and value.strip() not in ("", "0", "1"):
        found["TIKKUN_PORTABLE"] = (f"TIKKUN_PORTABLE must be 1 (processor-specific paths off) or 0 / unset "
                                    f"(on where the processor has them), got {value!r}")
    value = environ.get("NUMBA_NUM_THREADS")
    if value is not None:
        try:
            ok = int(value) >= 1
        except ValueError:
            ok = False
        if not ok:
            found["NUMBA_NUM_THREADS"] = (f"NUMBA_NUM_THREADS must be a whole number of threads, 1 or more "
                                          f"(unset: one a core), got {value!r}")
    value = environ.get("NUMBA_THREADING_LAYER")
    if value is not None and value.lower() not in LAYERS:  # Numba lowers its case, and keeps spaces: " tbb" is unknown
        found["NUMBA_THREADING_LAYER"] = (f"NUMBA_THREADING_LAYER must be one of {', '.join(LAYERS)} "
                                          f"(unset: tbb, then omp, then workqueue), got {value!r}")
    value = environ.get("NUMBA_THREADING_LAYER_PRIORITY")
    if value is not None and sorted(value.split()) != sorted(NAMED_LAYERS):  # Numba asks for all three
        found["NUMBA_THREADING_LAYER_PRIORITY"] = (
            f"NUMBA_THREADING_LAYER_PRIORITY must list {', '.join(NAMED_LAYERS)} in the order to try them, "
            f"separated by spaces, got {value!r}")
    return found


def portable(environ: Mapping[str, str]) -> bool:
    """The portable switch: ``TIKKUN_PORTABLE=1`` (a value :func:`problems` refuses counts as unset)."""
    return (environ.get("TIKKUN_PORTABLE") or "").strip() == "1"


PROBLEMS: dict[str, str] = problems(os.environ)
for _name in PROBLEMS:
    del os.environ[_name]  # set aside: Numba's import would stop on some (NUMBA_NUM_THREADS=0)


def check() -> None:
    """Raise :class:`SettingError` naming every environment variable :data:`PROBLEMS` set aside."""
    if PROBLEMS:
        raise SettingError("; ".join(PROBLEMS.values()))
