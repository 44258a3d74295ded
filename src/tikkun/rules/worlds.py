"""The four worlds that carry the light down to the souls: Atzilut, Beria, Yetzira, Assiya.

Seed 000, end of the second essay: the new spiritual Partzufim of the Worlds of ABYA come
out of the breaking, in which Bina and Malchut work together; "the Worlds of ABYA ...
conduct Light through the quality of Malchut and Bina as one whole" and so can correct the
broken soul. But "this unity is possible only when the Upper Light maintains it and does
not let it disappear."

MODEL.md, "The four worlds": each world ``w`` has a unity ``u_w`` (starting at the vessel's
final mean unity). The light reaching a world is what the worlds above it let through,
``lam_w = lam * prod_{w' above w} u_w'``; each year ``u_w += rho (iota_eq(lam_w) - u_w)``
with ``iota_eq(lam) = min(1, lam / A)``, the equilibrium unity of the vessel under light
``lam`` (its wells sit at ``phi^2 = 1 - lam / A``). The conductance to the souls is
``W = prod_w u_w``. With ``lam >= A`` the chain holds at 1. With less, worlds that start at
unity 1 all lose the same in the first year (each receives ``lam``; from the vessel's unity
below 1, the lower worlds receive less and lose more at once), and from then on the loss
cascades down: what a world loses dims the light of all below it, so each lower world falls
further, towards ``u_w = (lam / A)^(2^w)`` (w = 0 for Atzilut) and ``W = (lam / A)^15``.

Small functions of NumPy arrays, called once a year by the engine.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WORLDS", "iota_eq", "light_reaching", "step_worlds", "conductance"]

#: The worlds from the top down; arrays of unities follow this order.
WORLDS = ("atzilut", "beria", "yetzira", "assiya")


def iota_eq(lam, A: float = 1.0):
    """Equilibrium unity of the vessel under light ``lam`` (scalar or array, >= 0):
    ``min(1, lam / A)``. Same shape as ``lam``; float for a scalar."""
    if A <= 0:
        raise ValueError("A must be positive")
    out = np.minimum(1.0, np.asarray(lam, dtype=np.float64) / A)
    return float(out) if np.ndim(out) == 0 else out


def light_reaching(u: np.ndarray, lam: float) -> np.ndarray:
    """Light reaching each world: ``lam * prod of the unities above it`` -> float64 (4,).
    Atzilut, the highest, receives ``lam`` itself."""
    u = np.asarray(u, dtype=np.float64)
    above = np.concatenate(([1.0], np.cumprod(u[:-1])))
    return lam * above


def step_worlds(u: np.ndarray, lam: float, A: float, rho: float) -> np.ndarray:
    """One year of the worlds: ``u`` float64 (4,) (Atzilut first) -> new ``u`` (4,).

    All four are updated together from last year's unities ("only when the Upper Light
    maintains it": a world holds its unity only as far as light reaches it).
    """
    u = np.asarray(u, dtype=np.float64)
    if u.shape != (len(WORLDS),):
        raise ValueError(f"u must have shape ({len(WORLDS)},), got {u.shape}")
    if not 0.0 <= rho <= 1.0:
        raise ValueError("rho must lie in [0, 1]")
    # In Python floats, one world after the other: the same IEEE operations in the same order
    # as ``u + rho * (minimum(1, light_reaching(u, lam) / A) - u)`` (tested against it bit for
    # bit), without a dozen NumPy calls on four numbers (slow where the interpreter's caches
    # are cold after the soul pass).
    new = []
    above = 1.0  # the product of the unities above this world (cumprod's order)
    for u_w in u.tolist():
        x = (lam * above) / A
        target = 1.0 if x > 1.0 else x  # np.minimum(1, x), NaN kept
        new.append(u_w + rho * (target - u_w))
        above = above * u_w
    return np.array(new)


def conductance(u: np.ndarray) -> float:
    """Conductance of the worlds to the souls, ``W = prod_w u_w`` (float): they "conduct
    Light ... as one whole", so one broken link breaks the chain."""
    return float(np.prod(np.asarray(u, dtype=np.float64)))
