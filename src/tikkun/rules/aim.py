"""Keeping and catching the aim (000, "Don't lose aim of the goal").

"A moment later he will receive a greater desire to enjoy, and then he will have to “catch” the
goal once again": on a greater desire a holding soul keeps aim with probability ``p_i`` (its
steadiness), else loses it. A soul without aim catches it again with probability ``r_i`` each
year; the draw comes at the start of the year, before the light, so ``r = 1`` ("right here
and now, and not a moment later") loses no year at all. While aim is lost its own effort
corrects nothing (the ``hold`` factor of the light).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def regain_aim(holding, regain, u):
    """Start of year: a soul without aim catches it again if ``u < r_i``. Returns 0/1."""
    if holding:
        return 1
    return 1 if u < regain else 0


@njit(cache=True, inline="always")
def keep_aim(holding, lose_chance, u):
    """A holding soul loses aim if ``u < lose_chance`` (greater desire: ``1 - p_i``; shocks). 0/1."""
    if holding and u < lose_chance:
        return 0
    return holding
