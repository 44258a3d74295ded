"""Labels of a soul: its stage and its journey (002).

Stage, "the three times of a person", by the soul's degree ``floor(L c_i)``: ``spark`` below one
degree, ``particular`` from one degree until complete, ``common`` once complete.
Journey, "during the exodus ... the soul of Moses appears on him; in the seven that they
conquered, the soul of Joshua; and in the building of the Temple, the soul of King Solomon":
Moses below 1/3 cleansing, Joshua below 2/3, Solomon below 1, and "anyone who cleanses and
purifies his soul ... will truly be called King David" once complete.
"""

from __future__ import annotations

import numpy as np
from numba import njit

STAGES = ("spark", "particular", "common")
JOURNEYS = ("moses", "joshua", "solomon", "david")


@njit(cache=True, inline="always")
def stage_of(cleansing, complete, degrees):
    """0 spark, 1 particular, 2 common."""
    if complete:
        return 2
    return 0 if degrees * cleansing < 1.0 else 1


@njit(cache=True, inline="always")
def journey_of(cleansing, complete):
    """0 Moses, 1 Joshua, 2 Solomon, 3 David."""
    if complete:
        return 3
    if cleansing < 1.0 / 3.0:
        return 0
    return 1 if cleansing < 2.0 / 3.0 else 2


def stages(cleansing: np.ndarray, complete: np.ndarray, degrees: int) -> np.ndarray:
    """Stage names ``(n,)`` of every soul (for ``souls.parquet``)."""
    code = np.where(complete.astype(bool), 2, np.where(degrees * cleansing.astype(np.float64) < 1.0, 0, 1))
    return np.asarray(STAGES, dtype=object)[code]


def journeys(cleansing: np.ndarray, complete: np.ndarray) -> np.ndarray:
    """Journey names ``(n,)`` of every soul."""
    c = cleansing.astype(np.float64)
    code = np.where(complete.astype(bool), 3, np.where(c < 1 / 3, 0, np.where(c < 2 / 3, 1, 2)))
    return np.asarray(JOURNEYS, dtype=object)[code]
