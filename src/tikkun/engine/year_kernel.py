"""The fused yearly pass: every per-soul rule of a year but the network in one sweep over memory.

The rules live in ``tikkun.rules`` as small ``@njit`` functions; this driver calls them in
the engine's order, block of souls by block, so the state's arrays are read from memory once
and written once a year (a block's second loop over its souls finds them in cache):

    regain aim -> shocks of impurity -> corrective light -> screens of the sparks (cleansing,
    degrees, weakest link) -> keep aim on a greater desire -> shepherds (Messiah era)

The warm network runs just before, as a pass of its own
(:func:`tikkun.rules.network.warm_network`, which says why).

Souls are processed in fixed blocks of ``BLOCK`` souls, each block by one thread, each block
writing its own row of partial sums. The rows are then added in block order, so every figure
is bit-identical whatever the number of threads (STUMPY's pattern: ``prange`` over the
driver's own output slices).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .. import random as rng
from ..rules.aim import keep_aim, regain_aim
from ..rules.cleansing import GREATER, OPEN, cleanse_flat, cleanse_sparks, soul_cleansing, soul_sums, soul_sums_at
from ..rules.light import corrective_light
from ..rules.impurity import shock_keep
from ..rules.shepherds import becomes_shepherd
from ..rules.stages import journey_of, stage_of
from ..native import gather
from ..native.prefetch import prefetch

BLOCK = 2048  # souls a block; at most 65,536 (a spark's soul within its block is a uint16)
assert 0 < BLOCK <= 1 << 16
SEGMENT = 64  # souls: the unit in which settled souls are recognised and passed by
assert BLOCK // SEGMENT <= 64  # a block's settled segments are the bits of a uint64
SPARSE_DRAWS = 32  # souls: the aim's draws are made one by one where at most one soul in 32 needs one
FLAT_MIN_OPEN = 16  # the flat spark loop runs when at least one soul in 16 of a run is open (below)
SPARK_CHUNK = 128  # sparks: the flat loops over a run's sparks go chunk by chunk (scratch stays in L1)
SPARK_AHEAD = 2048  # sparks: how far ahead of its chunk the loop asks for screens, sizes and unities

# Columns of the partial sums, one row per block.
P_CLEANSING = 0      # sum of c_i
P_WEAKEST = 1        # min of s_j / D_j
P_COMPLETE = 2
P_HOLDING = 3
P_EFFORT = 4         # sum of e_i
P_GREATER = 5        # souls that received a greater desire
P_SHEPHERDS = 6
P_STAGE_SPARK = 7
P_STAGE_PARTICULAR = 8
P_STAGE_COMMON = 9
P_MOSES = 10
P_JOSHUA = 11
P_SOLOMON = 12
P_DAVID = 13
P_LOST = 14          # screen taken by shocks
P_LOST_AIM = 15      # souls that lost aim this year
N_PARTIALS = 16


@njit(cache=True, inline="always")
def _souls_before(key_aim, key_shock_aim, gain, practice, eps, shepherd_light, n_shocks, shock_size, lo,
                  effort, attachment, hbd, regain, holding, complete, cleansing, ell, keep, hold, soul_key):
    """Pass 1 over a block's souls (all arrays are the block's views, ``lo`` its first soul):
    regain the aim at the start of the year (000); shocks of impurity take a share of each
    screen of an incomplete soul and may knock its aim out (004); the corrective light (002,
    000). Fills ``ell``, ``keep`` and ``hold``; returns how many of the souls are not complete,
    how many lost the aim to shocks (those that caught it at the year's start included), and
    whether every soul drew: then ``soul_key`` (uint64) holds the hash of each soul's
    coordinates this year, which its draw of a greater desire shares (one mix less a soul).

    A soul that holds the aim needs no draw at the year's start, and in a history nearly every
    soul holds it: where at most one soul in :data:`SPARSE_DRAWS` of the run lacks it, the
    common loop makes no draw and those souls draw afterwards (:func:`_aim_regained`); where
    more lack it, every soul draws in the loop. Both loops are without branches, so that they
    vectorise. A draw is a pure function of its coordinates, so where it is made changes
    nothing.
    """
    n = ell.shape[0]
    n_open = 0
    missing = 0
    for t in range(n):
        n_open += 1 - np.int64(complete[t])  # int64: a uint8 sum would wrap in pure Python
        missing += np.int64(holding[t] == 0)
    every_soul_drew = missing * SPARSE_DRAWS > n
    if not every_soul_drew:
        for t in range(n):
            h = holding[t]
            keep[t] = 1.0
            hold[t] = h
            ell[t] = corrective_light(gain, hbd[t], h, practice, float(effort[t]), cleansing[t], eps, shepherd_light)
        if missing > 0:
            _aim_regained(key_aim, gain, practice, eps, shepherd_light, lo, effort, hbd, regain, holding, cleansing,
                          ell, hold)
    else:
        for t in range(n):
            sk = rng.entity_key(key_aim, lo + t)
            soul_key[t] = sk
            h = regain_aim(holding[t], regain[t], rng.uniform_from(sk, 0))
            keep[t] = 1.0
            hold[t] = h
            ell[t] = corrective_light(gain, hbd[t], h, practice, float(effort[t]), cleansing[t], eps, shepherd_light)
    n_lost = 0
    if n_shocks > 0:  # a loop of its own, so that the common loop above has no power in it
        for t in range(ell.shape[0]):
            k = shock_keep(shock_size, attachment[t], complete[t], n_shocks)
            h = keep_aim(hold[t], 1.0 - k, rng.uniform_at(key_shock_aim, lo + t, 0))
            n_lost += np.int64(hold[t]) - np.int64(h)
            keep[t] = k
            hold[t] = h
            ell[t] = corrective_light(gain, hbd[t], h, practice, float(effort[t]), cleansing[t], eps, shepherd_light)
    return n_open, n_lost, every_soul_drew


@njit(cache=True, inline="always")
def _aim_regained(key_aim, gain, practice, eps, shepherd_light, lo, effort, hbd, regain, holding, cleansing, ell,
                  hold):
    """The souls (block views, from soul ``lo``) without the aim at the year's start draw whether
    they catch it again (000, :func:`tikkun.rules.aim.regain_aim`); one that does gets its
    light again, with the aim. 64 souls are counted at a time in a loop the compiler
    vectorises, and only the stretches with such a soul are looked through one by one."""
    n = ell.shape[0]
    for w in range(0, n, 64):
        e = min(n, w + 64)
        missing = 0
        for t in range(w, e):
            missing += np.int64(holding[t] == 0)
        if missing == 0:
            continue
        for t in range(w, e):
            if holding[t] == 0:
                h = regain_aim(holding[t], regain[t], rng.uniform_from(rng.entity_key(key_aim, lo + t), 0))
                hold[t] = h
                ell[t] = corrective_light(gain, hbd[t], h, practice, float(effort[t]), cleansing[t], eps,
                                          shepherd_light)


@njit(cache=True, inline="always")
def _souls_after(key_aim, lo, soul_key, draw_here, messiah, degrees, total, flags, hold, size_total, steadiness,
                 holding, complete, cleansing, shepherd, c_stored):
    """Pass 3 over a block's souls (block views from soul ``lo``, as in :func:`_souls_before`):
    cleansing and completion from the sparks' sums and flags; on a greater desire, keep the
    aim or lose it (000); in the Messiah era a complete soul becomes a shepherd and stays one
    (002); the labels (002). Writes ``c_stored`` float64, the stored float32 cleansing of each
    soul (so C and the labels match souls.parquet). Returns the block's counts (losses of the
    aim: those on a greater desire; pass 1 counts those to shocks), made in two short loops of
    their own after the loop of updates: in one loop, where the processor has no AVX-512, the
    compiler leaves the whole loop scalar (docs/performance.md). Without branches, as pass 1.

    ``draw_here`` (passed as a constant, so that each call compiles its own loop): every soul
    draws in the loop from its hash in ``soul_key`` (uint64, made by pass 1 where every soul
    drew there), the draw used only on a greater desire. Otherwise the loop makes no draw and
    the souls that hold the aim on a greater desire draw afterwards: one by one where at most
    one soul in :data:`SPARSE_DRAWS` received one (:func:`_aim_kept`), else all of them in a
    loop without branches (:func:`_aim_kept_every`).
    """
    n_lost_aim = 0
    for t in range(total.shape[0]):
        done = (flags[t] & OPEN) == 0
        greater = (flags[t] & GREATER) != 0
        c32 = np.float32(soul_cleansing(total[t], size_total[t], done))
        cleansing[t] = c32
        c_stored[t] = np.float64(c32)
        complete[t] = np.uint8(done)
        h = hold[t]
        if draw_here:
            h_kept = keep_aim(h, 1.0 - steadiness[t], rng.uniform_from(soul_key[t], 1))
            h_after = h_kept if greater else h
        else:
            h_after = h
        n_lost_aim += np.int64(h) - np.int64(h_after)
        holding[t] = h_after
        shepherd[t] = becomes_shepherd(shepherd[t], messiah, done)
    # the counts in loops of their own, each over one or two arrays (in one loop with the
    # updates above, the compiler leaves the whole loop scalar where it has no AVX-512)
    n_complete = 0
    n_holding = 0
    n_greater = 0
    n_shepherds = 0
    for t in range(total.shape[0]):
        n_complete += np.int64(complete[t])
        n_holding += np.int64(holding[t])
        n_greater += np.int64((flags[t] & GREATER) != 0)
        n_shepherds += np.int64(shepherd[t] != 0)
    # the incomplete souls below each threshold; the rest follow by difference
    n_spark_stage = 0
    n_moses = 0
    n_below_two_thirds = 0
    for t in range(total.shape[0]):
        c = c_stored[t]
        is_open = 1 - np.int64(complete[t])
        n_spark_stage += is_open if stage_of(c, False, degrees) == 0 else 0
        n_moses += is_open if journey_of(c, False) == 0 else 0
        n_below_two_thirds += is_open if journey_of(c, False) <= 1 else 0
    if not draw_here and n_greater > 0:
        if n_greater * SPARSE_DRAWS <= total.shape[0]:
            lost = _aim_kept(key_aim, lo, flags, hold, steadiness, holding)
        else:
            for t in range(total.shape[0]):
                soul_key[t] = rng.entity_key(key_aim, lo + t)
            lost = _aim_kept_every(soul_key, flags, hold, steadiness, holding)
        n_lost_aim += lost
        n_holding -= lost
    return (n_complete, n_holding, n_greater, n_lost_aim, n_shepherds, n_spark_stage, n_moses,
            n_below_two_thirds)


@njit(cache=True, inline="always")
def _souls_after_either(keys_made, key_aim, lo, soul_key, messiah, degrees, total, flags, hold, size_total,
                        steadiness, holding, complete, cleansing, shepherd, c_stored):
    """:func:`_souls_after` with its draws in the loop where pass 1 made every soul's hash
    (``keys_made``: many souls lacked the aim, and then as a rule many receive a greater
    desire too), else after it; the constant ``draw_here`` gives each call its own loop."""
    if keys_made:
        return _souls_after(key_aim, lo, soul_key, True, messiah, degrees, total, flags, hold, size_total,
                            steadiness, holding, complete, cleansing, shepherd, c_stored)
    return _souls_after(key_aim, lo, soul_key, False, messiah, degrees, total, flags, hold, size_total, steadiness,
                        holding, complete, cleansing, shepherd, c_stored)


@njit(cache=True, inline="always")
def _aim_kept(key_aim, lo, flags, hold, steadiness, holding):
    """The souls (block views, from soul ``lo``) that hold the aim and received a greater desire
    draw whether they keep it (000, :func:`tikkun.rules.aim.keep_aim` with ``1 - p_i``); one
    that loses it gets ``holding = 0``. Returns how many lost it. Stretches of 64 souls are
    counted first, as in :func:`_aim_regained`."""
    n = hold.shape[0]
    lost = 0
    for w in range(0, n, 64):
        e = min(n, w + 64)
        drawing = 0
        for t in range(w, e):
            drawing += np.int64((flags[t] & GREATER) != 0) & np.int64(hold[t])
        if drawing == 0:
            continue
        for t in range(w, e):
            if (flags[t] & GREATER) != 0 and hold[t] != 0:
                h = keep_aim(hold[t], 1.0 - steadiness[t], rng.uniform_from(rng.entity_key(key_aim, lo + t), 1))
                holding[t] = h
                lost += np.int64(hold[t]) - np.int64(h)
    return lost


@njit(cache=True, inline="always")
def _aim_kept_every(soul_key, flags, hold, steadiness, holding):
    """:func:`_aim_kept` for every soul, without a branch (every soul draws from its hash
    ``soul_key``, uint64; the draw is used only on a greater desire), for runs where many souls
    received one."""
    lost = 0
    for t in range(hold.shape[0]):
        h = hold[t]
        h_kept = keep_aim(h, 1.0 - steadiness[t], rng.uniform_from(soul_key[t], 1))
        h_after = h_kept if (flags[t] & GREATER) != 0 else h
        holding[t] = h_after
        lost += np.int64(h) - np.int64(h_after)
    return lost


@njit(cache=True, inline="always")
def _settled(complete, holding, cleansing):
    """True if every soul of these views is complete, holds its aim and has cleansing 1: nothing
    of such a soul can change but its becoming a shepherd (every screen is at its size, no
    greater desire can come, so the aim stays, and shocks do not reach it; 000, 002, 004)."""
    ok = np.uint8(1)
    for t in range(complete.shape[0]):
        ok &= np.uint8(complete[t] == 1) & np.uint8(holding[t] == 1) & np.uint8(cleansing[t] == np.float32(1.0))
    return ok == 1


@njit(cache=True, inline="always")
def _settled_souls(messiah, lo, hi, shepherd, row):
    """Souls ``lo:hi`` (all settled, see :func:`_settled`) for one year: exactly what the three
    loops would give them, without their draws, light and sparks. The running sum of cleansing
    in ``row`` goes on in soul order (the same additions as the loops make, so the same bits)."""
    s_cleansing = row[P_CLEANSING]
    if s_cleansing == np.floor(s_cleansing) and 0.0 <= s_cleansing <= 2.0 ** 52:
        # a whole number (below 2**53) plus 1.0, again and again: every addition is exact, so
        # adding the count at once gives the same bits without a chain of additions
        s_cleansing += float(hi - lo)
    else:
        for i in range(lo, hi):
            s_cleansing += 1.0
    row[P_CLEANSING] = s_cleansing
    n_shepherds = 0
    for i in range(lo, hi):
        sh = becomes_shepherd(shepherd[i], messiah, True)
        shepherd[i] = sh
        n_shepherds += 1 if sh != 0 else 0
    row[P_SHEPHERDS] += n_shepherds
    row[P_COMPLETE] += hi - lo
    row[P_HOLDING] += hi - lo


@njit(cache=True, inline="always")
def _ask_for_sparks(screen, size, unity, lo, hi):
    """Ask for the lines of sparks ``lo:hi`` (cut at the arrays' end) of the three spark arrays
    the flat loop reads first (:func:`tikkun.native.prefetch.prefetch`; 16 float32 a line). Past the
    run's end the next run's sparks are asked for: a thread's next block follows its current
    one."""
    hi = min(hi, screen.shape[0])
    for j in range(max(lo, 0), hi, 16):
        prefetch(screen, j)
        prefetch(size, j)
        prefetch(unity, j)


LIGHT_BY_EIGHT = gather.HARDWARE  # the sparks' light eight at a time (x86 with AVX2), else one by one
SUMS_OF_OPEN_SOULS = gather.AVX512  # the souls' sums may skip complete souls' sparks (below)
SKIP_COMPLETE_FROM = (5, 8)  # ... in runs where at least 5 souls in 8 are complete
SUMS_BY_EIGHT = gather.AVX512_BW or gather.GATHERED_SUMS  # the souls' sums eight souls at a time, after a run's sparks
SUMS_BY_PERMUTATION = gather.AVX512_BW  # ... each rank picked by permutations (AVX-512 BW), else gathered (AVX2)
assert (OPEN | GREATER) < 1 << gather.FLAG_BITS  # every bit of a spark's flag reaches its soul's


@njit(cache=True, inline="always")
def _sparks_of_open_souls(light, w, idx):
    """Positions, in order, of the sparks among the first ``w`` of a chunk whose light has its
    sign bit clear (the others belong to complete souls: see :func:`flat_sparks`), written to
    ``idx`` (int32, ``w + 8`` long); the signs are cleared in place. Returns their number."""
    k = np.int64(0)
    j = 0
    while j + 8 <= w:
        k = gather.open_of_eight(light, np.int64(j), idx, k)
        j += 8
    for q in range(j, w):
        x = light[q]
        light[q] = abs(x)  # the float's magnitude, as a float: the sign cleared through an int32
        # view of the array did not reach the growth loop where this code is inlined
        idx[k] = q
        k += 0 if math.copysign(1.0, x) < 0.0 else 1
    return k


@njit(cache=True, inline="always")
def spread_light(ell, owner, w, out):
    """``out[j] = ell[owner[j]]`` for the first ``w`` sparks: each spark gets its soul's light.

    ell float32, the block's souls' light (the engine's has 8 more elements than souls, so the
    load of eight souls never has to stop at the end); owner uint16, each spark's soul within
    the block (non-decreasing); out float32. Eight sparks at a time where their souls lie within
    eight of the first (always, when every soul has a spark) and the load of eight souls stays
    inside ``ell`` (:func:`tikkun.native.gather.light_of_eight`: one load and one
    permutation instead of eight dependent loads); otherwise, and at the end, one by one.
    Values are only copied, so the bits are the same either way.
    """
    j = 0
    if LIGHT_BY_EIGHT:
        while j + 8 <= w:
            first = np.int64(owner[j])
            if np.int64(owner[j + 7]) - first < 8 and first + 8 <= ell.shape[0]:
                gather.light_of_eight(ell, owner, np.uint64(j), out)
            else:
                for q in range(j, j + 8):
                    out[q] = ell[owner[q]]
            j += 8
    for q in range(j, w):
        out[q] = ell[owner[q]]


@njit(cache=True, inline="always")
def flat_sparks(screen, size, unity, level, owner, ell, total, flags, spark_ell, spark_flag, spark_frac, jlo, jhi,
                degrees, spark_open, open_only, run_flag, sums_later):
    """Sparks ``jlo:jhi`` of a run (no shocks), chunk by chunk of :data:`SPARK_CHUNK`: each spark
    gets its soul's light, grows (:func:`cleanse_flat`) and is added to its soul's ``total`` and
    ``flags`` (:func:`soul_sums`; a soul cut by a chunk's end goes on in the next chunk, in spark
    order), so the bits are those of the two functions over the whole run.

    screen, size, unity: float32 ``(m,)``, all sparks; level: float32, the year's inclusion
    level (:mod:`tikkun.rules.inclusion`); owner: uint16 ``(jhi - jlo,)``, the run's
    sparks' souls within the block, which index ``ell`` float32, ``total`` float64 and ``flags``
    uint8 (zeroed by the caller for the run's souls). spark_ell, spark_flag, spark_frac: scratch
    ``(SPARK_CHUNK,)``, small enough to stay in a core's first cache between the three loops of
    a chunk (three loops over a whole block's sparks would keep their scratch in L2; see
    docs/performance.md). Returns the bits of
    the smallest ``s_j / D_j`` (those of +inf for no sparks; see :func:`cleanse_flat`).

    open_only (with :data:`SUMS_OF_OPEN_SOULS`): the caller has marked each complete soul's
    light in ``ell`` by its sign bit, and only the other souls' sparks are added to their sums
    (positions by :func:`_sparks_of_open_souls`, in order, into spark_open, int32
    ``(SPARK_CHUNK + 8,)``); the sparks grow with the light's magnitude. The bits are those of
    the whole run: in the years this loop runs there are no shocks, so a complete soul's
    screens stand at their sizes and grow to them again with any light (002's correction does
    not undo itself); its sums stay at the caller's zeros, which is what its sparks would give
    to the flags (none open, so no greater desire), and its cleansing is exactly 1 whatever its
    sum (:func:`tikkun.rules.cleansing.soul_cleansing`). An open soul's light is never negative,
    nor -0.0, nor NaN (every factor of it is validated non-negative). The listing costs more
    than it saves where few souls are complete, hence only in runs where at least
    :data:`SKIP_COMPLETE_FROM` of the souls are complete (measured: docs/performance.md).

    sums_later (with :data:`SUMS_BY_EIGHT`; open_only is then False): the sparks' flags go to
    ``run_flag`` uint8 ``(jhi - jlo,)`` and no sums are made: the caller makes them after the
    run, eight souls at a time (:func:`sums_by_eight`).
    """
    smallest = np.int32(0x7F800000)
    for c0 in range(jlo, jhi, SPARK_CHUNK):
        c1 = min(jhi, c0 + SPARK_CHUNK)
        _ask_for_sparks(screen, size, unity, c1 + SPARK_AHEAD - SPARK_CHUNK, c1 + SPARK_AHEAD)
        w = c1 - c0
        own = owner[c0 - jlo:c1 - jlo]
        spread_light(ell, own, w, spark_ell)
        k = np.int64(0)
        if SUMS_OF_OPEN_SOULS and open_only:
            k = _sparks_of_open_souls(spark_ell, w, spark_open)
        flag = run_flag[c0 - jlo:c1 - jlo] if sums_later else spark_flag[:w]
        bits = cleanse_flat(screen[c0:c1], size[c0:c1], unity[c0:c1], level, spark_ell[:w], flag, spark_frac[:w],
                            degrees)
        if SUMS_OF_OPEN_SOULS and open_only:
            soul_sums_at(screen[c0:c1], spark_flag[:w], own, spark_open[:k], total, flags)
        elif not sums_later:
            soul_sums(screen[c0:c1], spark_flag[:w], own, total, flags)
        smallest = bits if bits < smallest else smallest
    return smallest


@njit(cache=True, inline="always")
def souls_sums(screen, run_flag, jlo, spark_start, complete, total, flags, i, t, count):
    """Souls ``i .. i+count-1`` one by one: what :func:`tikkun.native.gather.sums_of_eight`
    gives eight at a time (its scalar twin; see :func:`sums_by_eight`). screen float32 ``(m,)``;
    run_flag uint8, the flags of sparks ``jlo:``; spark_start int64 ``(n + 1,)``; complete uint8
    ``(n,)``; writes ``total`` float64 and ``flags`` uint8 (the block's scratch) from place ``t``."""
    for k in range(count):
        s = 0.0
        f = np.uint8(0)
        if complete[i + k] == 0:
            for j in range(spark_start[i + k], spark_start[i + k + 1]):
                s += np.float64(screen[j])
                f |= run_flag[j - jlo]
        total[t + k] = s
        flags[t + k] = f


@njit(cache=True, inline="always")
def sums_by_eight(screen, run_flag, jlo, jhi, spark_start, complete, total, flags, lo, r0, r1):
    """The sums and flags of a run's souls ``lo + r0 : lo + r1`` after its sparks have grown
    (:func:`flat_sparks` with ``sums_later``), eight souls at a time
    (:func:`tikkun.native.gather.sums_of_eight`; the arrays as in :func:`souls_sums`, the
    block's scratch ``total`` and ``flags`` indexed from its first soul ``lo``): each soul's screens added in spark
    order from 0.0 and its sparks' flags OR-ed, as :func:`tikkun.rules.cleansing.soul_sums`
    does, so the bits are the same; a complete soul gets 0.0 and no flag, what its sparks give
    to the flags, and its cleansing is 1 whatever its sum (:func:`flat_sparks`). The scalar
    loop's chain through memory (each spark's sum waits for the last) becomes a lane's chain in
    a register. Groups whose sparks are more than 64, or within 64 places of the run's end (the
    vector loads would read past it), and the run's last souls short of eight, go one by one
    (:func:`souls_sums`), as every soul does where neither form runs (:data:`SUMS_BY_EIGHT`). With
    AVX-512 BW a rank's eight screens are picked from the group's 64 by permutations; with AVX2
    alone they are one hardware gather (:func:`tikkun.native.gather.sums_of_eight_gathered`).
    ``run_flag`` holds the flags of sparks ``jlo:jhi``. Every soul of the run gets its sum and
    flags written: the caller need not zero them.
    """
    t = r0
    while t + 8 <= r1:
        i = lo + t
        first = spark_start[i]
        fits = spark_start[i + 8] - first <= 64 and first + 64 <= jhi  # the group's 64 places, inside the run
        if SUMS_BY_PERMUTATION and fits:
            gather.sums_of_eight(screen, run_flag, jlo, spark_start, complete, total, flags, i, t)
        elif SUMS_BY_EIGHT and fits:
            gather.sums_of_eight_gathered(screen, run_flag, jlo, spark_start, complete, total, flags, i, t)
        else:
            souls_sums(screen, run_flag, jlo, spark_start, complete, total, flags, i, t, 8)
        t += 8
    souls_sums(screen, run_flag, jlo, spark_start, complete, total, flags, lo + t, t, r1 - t)


@njit(cache=True, inline="always")
def _souls_run(year_scalars, soul_arrays, spark_arrays, scratch, lo, r0, r1, row):
    """Souls ``lo + r0 : lo + r1`` of the block that starts at soul ``lo``, in three loops: their
    souls (aim, shocks, light), their sparks (screens, degrees, the weakest link), their souls
    again (cleansing, greater desire, shepherds, labels). The block's scratch arrays are indexed
    from ``lo``; ``row`` gets the counts, and its running sums go on in soul order. The
    arguments come in tuples (see :func:`year_pass`) because Numba inlines no function of more
    than about 30 arguments, and inlined, a run of the whole block (``r0 = 0``) compiles with
    its bounds known, which is faster than bounds known only at run time."""
    key_aim, key_shock_aim, gain, practice, level, eps, shepherd_light, degrees, n_shocks, shock_size, messiah = \
        year_scalars
    (effort, attachment, hbd, steadiness, regain, holding, shepherd, complete, cleansing,
     size_total) = soul_arrays
    spark_start, spark_owner, size, unity, screen = spark_arrays
    ell, keep, hold, total, flags, soul_key, c_stored, spark_ell, spark_flag, spark_frac, spark_open, run_flag = scratch
    a = lo + r0
    z = lo + r1
    nr = r1 - r0
    jlo = spark_start[a]
    jhi = spark_start[z]
    # 1. souls: aim, shocks and the light of each
    n_open, n_lost_to_shocks, keys_made = _souls_before(
        key_aim, key_shock_aim, gain, practice, eps, shepherd_light, n_shocks, shock_size, a,
        effort[a:z], attachment[a:z], hbd[a:z], regain[a:z], holding[a:z], complete[a:z], cleansing[a:z],
        ell[r0:r1], keep[r0:r1], hold[r0:r1], soul_key[r0:r1])
    # 2. sparks: screens grow by their included unity times the light, capped at their size.
    lost = row[P_LOST]
    if n_shocks == 0 and FLAT_MIN_OPEN * n_open >= nr:
        owner = spark_owner[jlo:jhi]  # soul within the block: the block's scratch is indexed by it
        if not SUMS_BY_EIGHT:  # the sums by eight write every soul's; the others add to zeros
            for t in range(r0, r1):
                total[t] = 0.0
                flags[t] = 0
        open_only = (not SUMS_BY_EIGHT and SUMS_OF_OPEN_SOULS
                     and SKIP_COMPLETE_FROM[1] * (nr - n_open) >= SKIP_COMPLETE_FROM[0] * nr)
        if open_only:  # a complete soul's light is marked by its sign (-0.0 for none)
            for t in range(r0, r1):
                ell[t] = np.float32(-ell[t]) if complete[lo + t] == 1 else ell[t]
        smallest = flat_sparks(screen, size, unity, level, owner, ell, total, flags, spark_ell, spark_flag,
                               spark_frac, jlo, jhi, degrees, spark_open, open_only, run_flag, SUMS_BY_EIGHT)
        if SUMS_BY_EIGHT:
            sums_by_eight(screen, run_flag, jlo, jhi, spark_start, complete, total, flags, lo, r0, r1)
        spark_frac.view(np.int32)[0] = smallest
        weakest = np.float64(spark_frac[0])
    else:
        weakest = 1.0
        for t in range(r0, r1):
            i = lo + t
            # A complete soul has every screen at its size and the shocks do not reach it: the
            # loop would change nothing, so its sparks are not touched.
            if complete[i] == 1:
                total[t] = 0.0
                flags[t] = 0
                continue
            tot, min_frac, greater, done, l = cleanse_sparks(
                screen, size, unity, level, spark_start[i], spark_start[i + 1], ell[t], keep[t], degrees)
            total[t] = tot
            flags[t] = (0 if done else OPEN) | (GREATER if greater else 0)
            weakest = min(weakest, min_frac)
            lost += l
    # 3. souls: cleansing, greater desire, shepherds, labels
    (n_complete, n_holding, n_greater, n_lost_aim, n_shepherds, n_spark_stage, n_moses,
     n_below_two_thirds) = _souls_after_either(keys_made, key_aim, a, soul_key[r0:r1], messiah, degrees,
                                               total[r0:r1], flags[r0:r1], hold[r0:r1], size_total[a:z],
                                               steadiness[a:z], holding[a:z], complete[a:z], cleansing[a:z],
                                               shepherd[a:z], c_stored[r0:r1])
    # the sums in soul order (a fixed order: the same bits on any thread count)
    s_cleansing = row[P_CLEANSING]
    for t in range(r0, r1):
        s_cleansing += c_stored[t]
    row[P_CLEANSING] = s_cleansing
    row[P_WEAKEST] = min(row[P_WEAKEST], weakest)
    row[P_LOST] = lost
    row[P_COMPLETE] += n_complete
    row[P_HOLDING] += n_holding
    row[P_GREATER] += n_greater
    row[P_SHEPHERDS] += n_shepherds
    row[P_STAGE_SPARK] += n_spark_stage
    row[P_MOSES] += n_moses
    row[P_JOSHUA] += n_below_two_thirds  # until the block's end: then less Moses
    row[P_LOST_AIM] += n_lost_aim + n_lost_to_shocks


@njit(cache=True, parallel=True, error_model="numpy")
def year_pass(
    seed, year, gain, practice, level, eps, shepherd_light, degrees,
    n_shocks, shock_size, messiah,
    effort, attachment, hbd, steadiness, regain,
    holding, shepherd, complete, cleansing, size_total, spark_start, spark_owner,
    size, unity, screen,
    look_for_settled, effort_sums, settled_before, settled_now, partials,
):
    """Run one year for every soul; fill ``partials`` float64 ``(n_blocks, N_PARTIALS)``.

    Scalars: seed, year (int); gain = alpha lam W J (1 + beta C); practice P; level: float32,
    the inclusion level C(t-1) (0 without inclusion); eps; shepherd_light = phi_s if any
    shepherd exists else 0; degrees L; n_shocks this year, shock_size K; messiah: 1 if complete
    souls become shepherds this year.
    effort: float32 ``(n,)``, this year's effort (the warm network's pass has already run).
    spark_owner: uint16 ``(m,)``, each spark's soul within its block (:func:`spark_owners`).
    look_for_settled: uint8 ``(n_blocks,)``, 1 where a block may hold settled segments (see
    below; :func:`may_hold_settled`). Only speed depends on it: a 0 sends every soul of the
    block through the loops but those of segments in ``settled_before``, which gives the same
    results.
    effort_sums: float64 ``(n_blocks,)``, each block's sum of ``effort`` in soul order from 0.0,
    made by the warm network's pass as it writes the efforts (:func:`block_sums` without a
    network); it becomes the block's effort column.
    settled_before: uint64 ``(n_blocks,)``, bit ``g`` of a block set where segment ``g`` was
    found settled at last year's look (zeros where that is not known: the first year, a
    resume, a year with events on souls); settled_now gets this year's. A settled segment
    passed by stays settled (shocks do not reach complete souls), so it is not looked at again.
    Other soul arrays ``(n,)`` and spark arrays ``(m,)`` as in :class:`tikkun.state.State`;
    holding, shepherd, complete, cleansing and screen are updated in place.

    A block's souls are done in runs of three loops: their souls (aim,
    shocks, light), their sparks (screens, degrees, the weakest link), their souls again
    (cleansing, greater desire, shepherds, labels, sums). The sparks' loop is flat over the
    run's sparks (:func:`cleanse_flat`, vectorised, then :func:`soul_sums`), because a loop per
    soul, with its random number of sparks, costs a mispredicted branch at nearly every soul's
    end and cannot be vectorised. In years with shocks, and in runs with fewer than one
    open soul in :data:`FLAT_MIN_OPEN`, the loop per soul (:func:`cleanse_sparks`) is used
    instead: it applies the shocks and skips complete souls' sparks. Both give the same bits, so
    which one ran never shows. Where the processor has AVX-512 BW, or AVX2 (:data:`SUMS_BY_EIGHT`), the
    flat loop leaves the souls' sums to one pass after the run's sparks, eight souls at a time
    (:func:`sums_by_eight`), again with the same bits. (The loop per soul is faster only where nearly every soul is
    complete, hence the switch; measured: docs/performance.md.)

    A segment of ``SEGMENT`` souls that are all settled (complete,
    holding their aim, cleansing 1: :func:`_settled`) is not run through the loops at all:
    nothing of theirs can change but shepherds, and :func:`_settled_souls` gives exactly what the
    loops would. Late in the history nearly every segment is settled. The block's sum of
    cleansing still goes in soul order (a settled run's ones added at once where that is exact),
    and its sum of effort comes from the network's pass, so the bits are the same whichever way
    a soul went. Only blocks that ``look_for_settled`` marks (:func:`may_hold_settled`: at most
    one unsettled soul a segment last year) are looked at, and in them only the segments not
    already in ``settled_before``: the look is a sweep over three arrays before the loops, which
    costs memory time the loops would otherwise overlap with their work.

    ``error_model="numpy"``: no divisor here can be zero (sizes are positive), so the
    per-division Python checks are left out.
    """
    n = effort.shape[0]
    n_blocks = partials.shape[0]
    # the (seed, purpose, year) part of each draw's hash, once a year instead of once a draw
    key_aim = rng.year_key(seed, year, rng.PURPOSE_AIM)
    key_shock_aim = rng.year_key(seed, year, rng.PURPOSE_SHOCK_AIM)
    for b in prange(n_blocks):
        lo = b * BLOCK
        hi = min(n, lo + BLOCK)
        nb = hi - lo
        ell = np.empty(nb + 8, dtype=np.float32)  # 8 more: sparks' light is read eight souls at a time
        keep = np.empty(nb, dtype=np.float64)
        hold = np.empty(nb, dtype=np.uint8)
        total = np.empty(nb, dtype=np.float64)
        flags = np.empty(nb, dtype=np.uint8)
        soul_key = np.empty(nb, dtype=np.uint64)
        c_stored = np.empty(nb, dtype=np.float64)
        row = partials[b]
        row[:] = 0.0
        row[P_WEAKEST] = 1.0
        row[P_EFFORT] = effort_sums[b]
        # the block's segments of settled souls
        n_seg = (nb + SEGMENT - 1) // SEGMENT
        # bit g: segment g is settled; those that were at last year's look still are (passed by,
        # nothing of theirs changed), so only the others are looked at
        settled = settled_before[b]
        if look_for_settled[b]:
            for g in range(n_seg):
                bit = np.uint64(1) << np.uint64(g)
                if settled & bit:
                    continue
                s = lo + g * SEGMENT
                e = min(hi, s + SEGMENT)
                if _settled(complete[s:e], holding[s:e], cleansing[s:e]):
                    settled |= bit
        settled_now[b] = settled
        year_scalars = (key_aim, key_shock_aim, gain, practice, level, eps, shepherd_light, degrees, n_shocks,
                        shock_size, messiah)
        soul_arrays = (effort, attachment, hbd, steadiness, regain, holding, shepherd, complete, cleansing,
                       size_total)
        spark_arrays = (spark_start, spark_owner, size, unity, screen)
        # the flags of the block's sparks, where the souls' sums are made after each run's sparks
        run_flag = np.empty(spark_start[hi] - spark_start[lo] if SUMS_BY_EIGHT else 0, dtype=np.uint8)
        scratch = (ell, keep, hold, total, flags, soul_key, c_stored, np.empty(SPARK_CHUNK, dtype=np.float32),
                   np.empty(SPARK_CHUNK, dtype=np.uint8), np.empty(SPARK_CHUNK, dtype=np.float32),
                   np.empty(SPARK_CHUNK + 8, dtype=np.int32), run_flag)
        if settled == 0:  # the whole block in one run (nearly every block before late in the history)
            _souls_run(year_scalars, soul_arrays, spark_arrays, scratch, lo, 0, nb, row)
        else:
            g = 0
            while g < n_seg:
                if (settled >> np.uint64(g)) & np.uint64(1):
                    _settled_souls(messiah, lo + g * SEGMENT, min(hi, lo + (g + 1) * SEGMENT), shepherd, row)
                    g += 1
                    continue
                g1 = g + 1
                while g1 < n_seg and not (settled >> np.uint64(g1)) & np.uint64(1):
                    g1 += 1
                # a run of unsettled souls
                _souls_run(year_scalars, soul_arrays, spark_arrays, scratch, lo, g * SEGMENT,
                           min(nb, g1 * SEGMENT), row)
                g = g1
        # the labels that follow by difference
        n_complete = row[P_COMPLETE]
        incomplete = nb - n_complete
        below_two_thirds = row[P_JOSHUA]
        row[P_STAGE_PARTICULAR] = incomplete - row[P_STAGE_SPARK]
        row[P_STAGE_COMMON] = n_complete
        row[P_JOSHUA] = below_two_thirds - row[P_MOSES]
        row[P_SOLOMON] = incomplete - below_two_thirds
        row[P_DAVID] = n_complete


@njit(cache=True)
def mark_completed(complete, completed_year, year, look):
    """``completed_year[i] = year`` for every soul complete and without a year yet, in the
    blocks where ``look`` (uint8 ``(n_blocks,)``) is 1. complete uint8 ``(n,)``, completed_year
    int32 ``(n,)`` (-1: not complete), changed in place."""
    n = complete.shape[0]
    for b in range(look.shape[0]):
        if look[b]:
            for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
                if complete[i] and completed_year[i] < 0:
                    completed_year[i] = year


@njit(cache=True, parallel=True)
def _block_sums(x, out):
    n = x.shape[0]
    for b in prange(out.shape[0]):
        s = 0.0
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            s += float(x[i])
        out[b] = s


def block_sums(x: np.ndarray) -> np.ndarray:
    """float64 ``(n_blocks,)``: the sum of float32 ``x`` ``(n,)`` over each block of souls, in
    soul order from 0.0 (what the warm network's pass gives for the efforts it writes)."""
    out = np.empty(n_blocks(x.shape[0]), dtype=np.float64)
    _block_sums(x, out)
    return out


@njit(cache=True)
def _spark_owners(spark_start, block, out):
    for i in range(spark_start.shape[0] - 1):
        for j in range(spark_start[i], spark_start[i + 1]):
            out[j] = i % block


def spark_owners(spark_start: np.ndarray) -> np.ndarray:
    """uint16 ``(m,)``: the soul of each spark, counted within its block of :data:`BLOCK` souls.

    Derived from ``spark_start`` (which never changes), so it is not part of the state or of a
    checkpoint; the engine builds it once per run.
    """
    out = np.empty(int(spark_start[-1]), dtype=np.uint16)
    _spark_owners(spark_start, BLOCK, out)
    return out


def may_hold_settled(partials: np.ndarray | None, n_souls: int) -> np.ndarray:
    """uint8 ``(n_blocks,)`` for :func:`year_pass`'s ``look_for_settled``: 1 where last year's
    ``partials`` say that the block is worth the look, everywhere without them.

    A block is worth it when at most one soul a segment is unsettled (by last year's counts of
    souls not complete and not holding aim, an upper bound): then, the unsettled souls lying
    where they may, on average more than a third of its segments are settled and passing them
    by saves more than the look costs (a sweep over three arrays). A block with more unsettled
    souls rarely has a settled segment, and looking there costs more than it saves
    (docs/performance.md).
    """
    nbl = n_blocks(n_souls)
    if partials is None or partials.shape[0] != nbl:
        return np.ones(nbl, dtype=np.uint8)
    out = np.empty(nbl, dtype=np.uint8)
    _may_hold_settled(partials, n_souls, out)
    return out


@njit(cache=True)
def _may_hold_settled(partials, n_souls, out):
    # compiled: the same few array operations in NumPy cost more than this loop, with
    # Python's caches cold after the soul pass
    nbl = out.shape[0]
    for b in range(nbl):
        size = float(BLOCK if b < nbl - 1 else n_souls - BLOCK * (nbl - 1))
        unsettled = (size - partials[b, P_COMPLETE]) + (size - partials[b, P_HOLDING])
        out[b] = 1 if unsettled <= BLOCK // SEGMENT else 0


def n_blocks(n_souls: int) -> int:
    """How many blocks of :data:`BLOCK` souls ``n_souls`` souls make (the last may be shorter)."""
    return (n_souls + BLOCK - 1) // BLOCK


@njit(cache=True)
def reduce_partials(partials):
    """Add the blocks' rows in block order (sums) and take the minimum of the weakest link.

    partials: float64 ``(n_blocks, N_PARTIALS)``; returns float64 ``(N_PARTIALS,)``.
    Sequential on purpose: a fixed order of float additions keeps results independent of the
    thread count. (Compiled: a Python loop over the blocks would cost a noticeable share of a
    year.)
    """
    out = np.zeros(partials.shape[1], dtype=np.float64)
    weakest = 1.0
    for b in range(partials.shape[0]):
        for p in range(partials.shape[1]):
            out[p] += partials[b, p]
        weakest = min(weakest, partials[b, P_WEAKEST])
    out[P_WEAKEST] = weakest
    return out
