"""Shocks of impurity and holy coldness (004; MODEL.md, "Impurity and holy coldness").

"The kelipa ... has become physically manifest throughout the world", and in this generation
it is "the media". Shocks arrive as a Poisson process with a rate scheduled by year; each takes
from every spark of soul ``i`` the share ``K (1 - a_i)`` of its screen and makes the soul lose
aim with that probability. Attachment ``a_i`` ("attach his soul to Hashem ... a sense of bitul ...
he is protected from all harm") protects; warmth does not.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def shock_keep(shock_size, attachment, n_shocks):
    """Share of each screen left after ``n_shocks`` shocks: ``(1 - K (1 - a_i))^N`` (float64).

    It is also the chance that the aim survives them all (one independent chance per shock).
    """
    q = shock_size * (1.0 - attachment)
    if q > 1.0:
        q = 1.0
    return (1.0 - q) ** n_shocks
