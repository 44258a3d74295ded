"""Shocks of impurity and holy coldness (004; MODEL.md, "Impurity and holy coldness").

"The kelipa ... has become physically manifest throughout the world", and in this generation
it is "the media". Shocks arrive as a Poisson process with a rate scheduled by year (an
ordinary global: ``impurity.rate`` and events on it; the history schedules the exiles); each
takes from every spark of an incomplete soul ``i`` the share ``K (1 - a_i)`` of its screen and
makes the soul lose aim with that probability. Attachment ``a_i`` protects ("when a person
believes that no one has any control other than Hashem, he is protected from all harm ...
a person needs to attach his soul to Hashem ... and to feel a sense of bitul"); warmth does
not (the text calls it "not the main part that we need right now"). A complete
soul is beyond the shocks' reach (002: the particular soul "is permanently completed"): what
was fully corrected is not lost.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def shock_keep(shock_size, attachment, complete, n_shocks):
    """Share of each screen left after ``n_shocks`` shocks: ``(1 - K (1 - a_i))^N`` (float64),
    exactly 1 for a complete soul.

    It is also the chance that the aim survives them all (one independent chance per shock).
    """
    if complete:
        return 1.0
    q = shock_size * (1.0 - np.float64(attachment))  # float64 in pure Python too (NumPy keeps float32)
    if q > 1.0:
        q = 1.0
    return (1.0 - q) ** n_shocks


def shocks_this_year(seed: int, year: int, rate: float) -> int:
    """How many shocks arrive in ``year``: Poisson(rate) by inverting its CDF at one uniform.

    The CDF is summed term by term from ``exp(-rate)``; past :data:`LOG_TERMS_FROM`, where
    ``exp(-rate)`` would leave the doubles (it is 0 from about 745), each term is made from its
    logarithm instead (the terms far below the mean are 0 in doubles and add nothing)."""
    if rate <= 0.0:
        return 0
    import math

    from .. import random as rng

    u = float(rng.uniforms(seed, year, np.zeros(1, dtype=np.int64), rng.PURPOSE_SHOCK_COUNT)[0])
    if rate <= LOG_TERMS_FROM:
        k, p = 0, math.exp(-rate)
        cdf = p
        while u >= cdf and k < 10_000:
            k += 1
            p *= rate / k
            cdf += p
        return k
    log_rate = math.log(rate)
    k, cdf = 0, 0.0
    while k < 10 * rate:
        cdf += math.exp(k * log_rate - rate - math.lgamma(k + 1.0))
        if u < cdf:
            break
        k += 1
    return k


LOG_TERMS_FROM = 700.0  # rates above it sum the CDF from the terms' logarithms (exp(-700) is still a normal double)
