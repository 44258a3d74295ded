"""The fused yearly pass: every per-soul rule of a year but the network in one sweep over memory.

The rules live in ``tikkun.rules`` as small ``@njit`` functions; this driver calls them in
the engine's order for each soul, so the arrays are read once and written once a year:

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

import numpy as np
from numba import njit, prange

from .. import random as rng
from ..rules.aim import keep_aim, regain_aim
from ..rules.cleansing import cleanse_sparks, soul_cleansing
from ..rules.light import corrective_light
from ..rules.impurity import shock_keep
from ..rules.shepherds import becomes_shepherd
from ..rules.stages import journey_of, stage_of

BLOCK = 2048

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


@njit(cache=True, parallel=True, error_model="numpy")
def year_pass(
    seed, year, gain, eps, shepherd_light, degrees,
    n_shocks, shock_size, messiah,
    effort, attachment, hbd, steadiness, regain,
    holding, shepherd, complete, cleansing, size_total, spark_start,
    size, unity, screen,
    partials,
):
    """Run one year for every soul; fill ``partials`` float64 ``(n_blocks, N_PARTIALS)``.

    Scalars: seed, year (int); gain = alpha lam W J (1 + beta C); eps; shepherd_light = phi_s
    if any shepherd exists else 0; degrees L; n_shocks this year, shock_size K; messiah: 1 if
    complete souls become shepherds this year.
    effort: float32 ``(n,)``, this year's effort (the warm network's pass has already run).
    Other soul arrays ``(n,)`` and spark arrays ``(m,)`` as in :class:`tikkun.state.State`;
    holding, shepherd, complete, cleansing and screen are updated in place.

    ``error_model="numpy"``: no divisor here can be zero (sizes are positive, an empty warm
    neighbourhood is tested first, in the network's pass), so the per-division Python checks are
    left out.
    """
    n = effort.shape[0]
    n_blocks = partials.shape[0]
    # the (seed, purpose, year) part of each draw's hash, once a year instead of once a draw
    key_aim = rng.year_key(seed, year, rng.PURPOSE_AIM)
    key_shock_aim = rng.year_key(seed, year, rng.PURPOSE_SHOCK_AIM)
    for b in prange(n_blocks):
        lo = b * BLOCK
        hi = min(n, lo + BLOCK)
        # the block's sums in scalars (registers), written to its row at the end
        s_cleansing = 0.0
        weakest = 1.0
        n_complete = 0.0
        n_holding = 0.0
        s_effort = 0.0
        n_greater = 0.0
        n_shepherds = 0.0
        n_spark_stage = 0.0
        n_moses = 0.0
        n_below_two_thirds = 0.0
        s_lost = 0.0
        n_lost_aim = 0.0
        for i in range(lo, hi):
            # 1. this year's effort (the warm network of 004 has updated it)
            e = float(effort[i])
            # 2. regain the aim at the start of the year (000).
            hold = holding[i]
            if hold == 0:
                hold = regain_aim(hold, regain[i], rng.uniform_at(key_aim, i, 0))
            # 3. shocks of impurity take a share of each screen and may knock the aim out (004).
            keep = 1.0
            if n_shocks > 0:
                keep = shock_keep(shock_size, attachment[i], n_shocks)
                hold = keep_aim(hold, 1.0 - keep, rng.uniform_at(key_shock_aim, i, 0))
            # 4. the corrective light (002, 000).
            ell = corrective_light(gain, hbd[i], hold, e, cleansing[i], eps, shepherd_light)
            # 5. the screens of the soul's sparks. A complete soul without shocks this year has
            # every screen at its size already: the loop would change nothing and return
            # (sum of sizes, 1, no greater desire, complete, nothing lost), so it is skipped
            # (its sparks' memory is not touched; the sum is unused for a complete soul).
            if complete[i] == 1 and keep == 1.0:
                total, min_frac, greater, done, lost = 0.0, 1.0, False, True, 0.0
            else:
                total, min_frac, greater, done, lost = cleanse_sparks(
                    screen, size, unity, spark_start[i], spark_start[i + 1], ell, keep, degrees)
            cleansing[i] = soul_cleansing(total, size_total[i], done)
            c = float(cleansing[i])  # the stored float32 value, so C and the labels match souls.parquet
            complete[i] = 1 if done else 0
            # 6. a greater desire: catch the aim again or lose it (000).
            if greater:
                hold_after = keep_aim(hold, 1.0 - steadiness[i], rng.uniform_at(key_aim, i, 1))
                n_greater += 1.0
            else:
                hold_after = hold
            if holding[i] == 1 and hold_after == 0:
                n_lost_aim += 1.0
            holding[i] = hold_after
            # 7. in the Messiah era a complete soul becomes a shepherd and stays one (002).
            shepherd[i] = becomes_shepherd(shepherd[i], messiah, done)
            s_cleansing += c
            weakest = min(weakest, min_frac)
            n_holding += hold_after
            s_effort += e
            n_shepherds += shepherd[i]
            s_lost += lost
            # labels without branches (their thresholds are crossed at random): counts of the
            # incomplete souls below each threshold; the rest follow by difference below
            if done:
                n_complete += 1.0
            else:
                n_spark_stage += 1.0 if stage_of(c, False, degrees) == 0 else 0.0
                n_moses += 1.0 if journey_of(c, False) == 0 else 0.0
                n_below_two_thirds += 1.0 if journey_of(c, False) <= 1 else 0.0
        incomplete = (hi - lo) - n_complete
        row = partials[b]
        row[P_CLEANSING] = s_cleansing
        row[P_WEAKEST] = weakest
        row[P_COMPLETE] = n_complete
        row[P_HOLDING] = n_holding
        row[P_EFFORT] = s_effort
        row[P_GREATER] = n_greater
        row[P_SHEPHERDS] = n_shepherds
        row[P_STAGE_SPARK] = n_spark_stage
        row[P_STAGE_PARTICULAR] = incomplete - n_spark_stage
        row[P_STAGE_COMMON] = n_complete
        row[P_MOSES] = n_moses
        row[P_JOSHUA] = n_below_two_thirds - n_moses
        row[P_SOLOMON] = incomplete - n_below_two_thirds
        row[P_DAVID] = n_complete
        row[P_LOST] = s_lost
        row[P_LOST_AIM] = n_lost_aim


def n_blocks(n_souls: int) -> int:
    return (n_souls + BLOCK - 1) // BLOCK


def reduce_partials(partials: np.ndarray) -> np.ndarray:
    """Add the blocks' rows in block order (sums) and take the minimum of the weakest link.

    Sequential on purpose: a fixed order of float additions keeps results independent of the
    thread count.
    """
    out = np.zeros(N_PARTIALS, dtype=np.float64)
    for row in partials:
        out += row
    out[P_WEAKEST] = partials[:, P_WEAKEST].min() if partials.shape[0] else 1.0
    return out
