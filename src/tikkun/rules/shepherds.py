"""Shepherds (002, "Moses is equal to 600,000 ... because he was their faithful shepherd").

"When a single soul from Israel is purified from all its filth, it will draw onto itself the
whole of the soul of Atzilut, and through it, all the souls of its generation will be
corrected." With ``generations.shepherds = "auto"``, in the Messiah era a complete soul
becomes a shepherd and stays one; with ``"events"`` only the souls that ``shepherds`` events
name are shepherds. Once any shepherd exists every soul receives the shepherd's light
``phi_s`` (see :mod:`.light`).

Before that era redemptions belong to one generation ("the giving of the Torah belonged
specifically to the generation of the desert"): the history schedules them as light pulses,
and a ``shepherds`` event then makes shepherds only to the end of its generation. The
``shepherd`` flag says which: :data:`FOREVER` or :data:`THIS_GENERATION`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FOREVER = 1          # a shepherd for good: made in the Messiah era
THIS_GENERATION = 2  # made by an event before the Messiah era: until its generation ends


@njit(cache=True, inline="always")
def becomes_shepherd(is_shepherd, messiah, complete):
    """The soul's shepherd flag after this year (uint8): :data:`FOREVER` if it is complete in the
    Messiah era with automatic shepherds (``messiah``), else what it was."""
    return np.uint8(FOREVER) if (messiah and complete) else is_shepherd


def end_generation(shepherd: np.ndarray) -> int:
    """At a generation's start: the shepherds of the generation that ended stop being shepherds
    (they stay complete). shepherd uint8 ``(n,)``, changed in place. Returns how many."""
    ended = shepherd == THIS_GENERATION
    count = int(ended.sum())
    if count:
        shepherd[ended] = 0
    return count


def shepherd_light(phi_s: float, shepherds: int) -> float:
    """``phi_s * shepherd``: the light every soul receives once any shepherd exists."""
    return phi_s if shepherds > 0 else 0.0
