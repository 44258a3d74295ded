"""Screens, cleansing, degrees and the greater desire (MODEL.md, "Derived each year").

Each spark's screen grows by ``iota_j * ell_i``, capped at its size ``D_j``: a spark with no
unity (000: never struck, never truly united) cannot be corrected. The cleansing of a soul is
``sum_j s_j / sum_j D_j`` (002, "to the extent of its cleansing"). A spark has ``L`` degrees,
``floor(L s_j / D_j)``; entering a new degree reveals the next share of its desire, "a greater
desire to enjoy" (000), after which the aim must be caught again. Completion (``s_j = D_j``)
reveals nothing further, so it is not a greater desire.
"""

from __future__ import annotations

import math

import numpy as np

from numba import njit


@njit(cache=True, inline="always")
def degree(screen, size, degrees):
    """``floor(L s / D)`` of one spark (int)."""
    return math.floor(degrees * (screen / size))


@njit(cache=True, inline="always")
def cleanse_sparks(screen, size, unity, lo, hi, ell, keep, degrees):
    """Correct the sparks ``lo:hi`` of one soul for one year, writing ``screen[lo:hi]``.

    keep: the share of each screen left after this year's shocks of impurity (1 without shocks).
    Returns ``(sum_screen float64, min_fraction float64, greater_desire bool, complete bool,
    screen_lost float64)``.
    """
    total = 0.0
    min_frac = 1.0
    greater = False
    complete = True
    lost = 0.0
    for j in range(lo, hi):
        d = size[j]
        s_old = screen[j]
        if keep < 1.0:
            s_shock = s_old * keep
            lost += s_old - s_shock
            s_old = s_shock
        # capped at D in float64; rounding to float32 cannot then pass D (D is a float32)
        s32 = np.float32(min(s_old + unity[j] * ell, d))
        screen[j] = s32
        if s32 < d:
            complete = False
            k_new = degree(s32, d, degrees)
            if k_new > degree(np.float32(s_old), d, degrees):
                greater = True
        total += s32
        min_frac = min(min_frac, s32 / d)
    return total, min_frac, greater, complete, lost


@njit(cache=True, inline="always")
def soul_cleansing(sum_screen, size_total, complete):
    """``c_i = sum_j s_j / sum_j D_j``; exactly 1 for a complete soul (float64)."""
    if complete:
        return 1.0
    c = sum_screen / size_total
    return c if c < 1.0 else 1.0
