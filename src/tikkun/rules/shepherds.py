"""Shepherds (002, "Moses is equal to 600,000 ... because he was their faithful shepherd").

"When a single soul from Israel is purified from all its filth, it will draw onto itself the
whole of the soul of Atzilut, and through it, all the souls of its generation will be
corrected." In the Messiah era a complete soul becomes a shepherd and stays one; once any
shepherd exists every soul receives the shepherd's light ``phi_s`` (see :mod:`.light`).
Before that era redemptions belong to one generation and are scheduled as light pulses.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def becomes_shepherd(is_shepherd, messiah, complete):
    """1 if the soul is (now) a shepherd: it was one, or it is complete in the Messiah era."""
    if is_shepherd:
        return 1
    return 1 if (messiah and complete) else 0


def shepherd_light(phi_s: float, shepherds: int) -> float:
    """``phi_s * shepherd``: the light every soul receives once any shepherd exists."""
    return phi_s if shepherds > 0 else 0.0
