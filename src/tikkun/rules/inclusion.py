"""Inclusion: a spark is corrected through the whole as the whole is corrected (MODEL.md, (r2)).

    u_j(t) = iota_j + (1 - iota_j) * C(t-1)

A spark corrects by the unity it kept from the breaking (``iota_j``, 000: only what the light
united can be corrected) and by its inclusion in the whole, in proportion to how far the whole
is corrected already (002: "the whole is found within each item, since in the end, all the souls
will unite into one discernment"; "the good soul draws to it from all the discernments of
Kedusha before it and after it"). A spark with no unity of its own corrects only through the
others: nothing while ``C = 0``, ever faster as they correct. So every spark can be corrected
in the end, as 002 says; without inclusion (``u_j = iota_j``) one spark of unity 0 would make
the end unreachable.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def inclusion_level(enabled: bool, cleansing_mean: float) -> np.float32:
    """The year's ``C(t-1)`` as the kernel uses it: float32, 0 when inclusion is off (then
    ``u_j = iota_j`` exactly: ``iota + (1 - iota) * 0`` is ``iota`` in any float)."""
    return np.float32(cleansing_mean if enabled else 0.0)


@njit(cache=True, inline="always")
def included_unity(unity, level):
    """``u_j = iota_j + (1 - iota_j) * C`` of one spark, float32 (both arguments float32)."""
    return unity + (np.float32(1.0) - unity) * level
