"""The warm network: effort spreads through warm connections (004; MODEL.md, "The social network").

Each soul listens to ``k`` others. Edge ``i <- m`` carries the weight ``w_m``, the warmth of the
one heard ("build warm relationships with other people to counter all of the cold
relationships"): cold neighbours carry nothing. Effort follows Friedkin-Johnsen,

    e_i <- theta_i * (sum_m w_m e_m / sum_m w_m) + (1 - theta_i) * e0_i,   theta_i = theta_max * w_i,

and a soul with no warm neighbour keeps ``e0_i``.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def warm_effort(i, neighbours, effort, warmth, effort0_i, theta_i):
    """Next effort of soul ``i`` (float64) from last year's ``effort`` float32 ``(n,)``.

    neighbours: int32 ``(n, k)``; warmth float32 ``(n,)``; theta_i = theta_max * w_i.
    """
    num = 0.0
    den = 0.0
    for q in range(neighbours.shape[1]):
        m = neighbours[i, q]
        w = float(warmth[m])
        num += w * effort[m]
        den += w
    if den <= 0.0:
        return float(effort0_i)
    return theta_i * (num / den) + (1.0 - theta_i) * effort0_i
