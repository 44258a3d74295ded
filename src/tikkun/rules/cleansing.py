"""Screens, cleansing, degrees and the greater desire (MODEL.md, "Derived each year").

Each spark's screen grows by ``u_j * ell_i``, capped at its size ``D_j``, where ``u_j`` is the
spark's unity included in the whole (:mod:`.inclusion`): what the breaking left it (000) and
what the whole's correction lends it (002). The cleansing of a soul is
``sum_j s_j / sum_j D_j`` (002, "to the extent of its cleansing"). A spark has ``L`` degrees,
``floor(L s_j / D_j)``; entering a new degree reveals the next share of its desire, "a greater
desire to enjoy" (000), after which the aim must be caught again. Completion (``s_j = D_j``)
reveals nothing further, so it is not a greater desire.
"""

from __future__ import annotations

import numpy as np

from numba import njit

from .inclusion import included_unity

# Bits of a spark's (and, OR-ed over its sparks, a soul's) flag after a year's cleansing.
OPEN = 1       # the spark is not yet corrected: s_j < D_j
GREATER = 2    # it entered a new degree this year (and is still open): a greater desire


@njit(cache=True, inline="always")
def degree(screen, size, degrees):
    """``floor(L s / D)`` of one spark, in float32 like the state (a float holding an integer)."""
    return np.floor(np.float32(degrees) * (screen / size))


@njit(cache=True, inline="always")
def grow(screen, size, unity, level, ell):
    """A spark's new screen: ``min(s + u ell, D)`` with ``u = iota + (1 - iota) C``, float32 (all
    arguments float32; ``level`` is the year's ``C(t-1)``, 0 without inclusion)."""
    return min(screen + included_unity(unity, level) * ell, size)


@njit(cache=True, inline="always")
def cleanse_sparks(screen, size, unity, level, lo, hi, ell, keep, degrees):
    """Correct the sparks ``lo:hi`` of one soul for one year, writing ``screen[lo:hi]``.

    level: float32, the year's inclusion level ``C(t-1)`` (:mod:`.inclusion`); ell: float32, the
    soul's light; keep: the share of each screen left after this year's
    shocks of impurity (1 without shocks). Returns ``(sum_screen float64, min_fraction float64,
    greater_desire bool, complete bool, screen_lost float64)``.
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
            s_shock = np.float32(s_old * keep)
            lost += np.float64(s_old) - np.float64(s_shock)
            s_old = s_shock
        s_new = grow(s_old, d, unity[j], level, ell)
        screen[j] = s_new
        if s_new < d:
            complete = False
            if degree(s_new, d, degrees) > degree(s_old, d, degrees):
                greater = True
        total += np.float64(s_new)
        min_frac = min(min_frac, np.float64(s_new / d))
    return total, min_frac, greater, complete, lost


@njit(cache=True, inline="always")
def cleanse_flat(screen, size, unity, level, ell, flag, frac, degrees):
    """The same rule as :func:`cleanse_sparks` for a run of sparks of several souls, in one flat
    loop that the compiler vectorises (no shocks: ``keep = 1``).

    screen, size, unity: float32 ``(m,)`` views of the sparks; level: float32, the year's
    inclusion level (as in :func:`cleanse_sparks`); ell: float32 ``(m,)``, the light
    of each spark's soul; writes ``screen``, ``flag`` uint8 ``(m,)`` (:data:`OPEN`,
    :data:`GREATER`) and ``frac`` float32 ``(m,)`` (scratch, ``s_j / D_j``). Returns the
    smallest ``s_j / D_j`` as the int32 bit pattern of its float32 value (that of +inf for no
    sparks): fractions are never negative, so their bit patterns order like the values, and an
    integer minimum vectorises where a float one does not.

    Every spark's arithmetic is exactly :func:`cleanse_sparks`'s, so the two agree bit for bit.
    """
    for j in range(screen.shape[0]):
        d = size[j]
        s_old = screen[j]
        s_new = grow(s_old, d, unity[j], level, ell[j])
        screen[j] = s_new
        frac[j] = s_new / d
        is_open = s_new < d
        crossed = degree(s_new, d, degrees) > degree(s_old, d, degrees)
        flag[j] = np.uint8(is_open) | (np.uint8(is_open & crossed) << np.uint8(1))
    bits = frac.view(np.int32)
    smallest = np.int32(0x7F800000)  # +inf
    for j in range(bits.shape[0]):
        b = bits[j]
        smallest = b if b < smallest else smallest
    return smallest


@njit(cache=True, inline="always")
def soul_sums(screen, flag, owner, total, flags):
    """Per soul of a block: ``total[t] += sum_j s_j`` (float64, in spark order, as
    :func:`cleanse_sparks` adds them) and ``flags[t] |=`` the OR of its sparks' flags.

    screen float32 ``(m,)``, flag uint8 ``(m,)``, owner uint16 ``(m,)`` (each spark's soul within
    the block); total float64 ``(nb,)`` and flags uint8 ``(nb,)``, which the caller zeroes for
    the souls of these sparks (a run of a block's souls: the rest are left alone). One flat loop
    over sparks, without a branch on where a soul ends (keeping the current soul's sums in
    registers and branching at its end was slower: the end of nearly every soul is a
    mispredicted branch).
    """
    for j in range(screen.shape[0]):
        t = owner[j]
        total[t] += np.float64(screen[j])
        flags[t] |= flag[j]


@njit(cache=True, inline="always")
def soul_sums_at(screen, flag, owner, at, total, flags):
    """:func:`soul_sums` over the sparks at positions ``at`` (int32, increasing) only: the sums of
    the souls that own them, in spark order."""
    for q in range(at.shape[0]):
        j = np.uint64(at[q])
        t = owner[j]
        total[t] += np.float64(screen[j])
        flags[t] |= flag[j]


@njit(cache=True, inline="always")
def soul_cleansing(sum_screen, size_total, complete):
    """``c_i = sum_j s_j / sum_j D_j``; exactly 1 for a complete soul (float64)."""
    if complete:
        return 1.0
    c = sum_screen / size_total
    return c if c < 1.0 else 1.0
