"""Measures of the vessel: unity is not mixing.

Seed 000, second essay: liquids mixed "by way of vibration" or metals merged "by way of
fusion" are "not true unification": both qualities "still continue to exist", side by side.
True unity is when "each enters inside the other". Two measures tell them apart
(MODEL.md, "Two measures tell mixing from unity"):

- unity (pointwise inter-inclusion): ``iota = 1 - mean(phi^2)``; 1 when every point holds
  both qualities equally, near 0 when every point is one quality or the other;
- mixing (coarse): ``1 - mean(coarse(phi)^2)`` with ``coarse`` the average over ``w x w``
  blocks; an emulsion scores high on mixing and low on unity.

All functions take ``phi`` (n, n) float and return Python floats (``coarse`` an array).
"""

from __future__ import annotations

import numpy as np

__all__ = ["unity", "coarse", "mixing", "mass"]


def unity(phi: np.ndarray) -> float:
    """``1 - mean(phi^2)``: pointwise inter-inclusion of the two qualities. ``phi``: float
    ``(n, n)``; returns a float."""
    phi = np.asarray(phi, dtype=np.float64)
    return 1.0 - float(np.mean(phi * phi))


def coarse(phi: np.ndarray, w: int) -> np.ndarray:
    """Block averages of ``phi`` (n, n) over ``w x w`` blocks -> (n/w, n/w) float64.
    ``w`` must divide both sides."""
    phi = np.asarray(phi, dtype=np.float64)
    ny, nx = phi.shape
    if ny % w or nx % w:
        raise ValueError(f"block {w} must divide the grid shape {phi.shape}")
    return phi.reshape(ny // w, w, nx // w, w).mean(axis=(1, 3))


def mixing(phi: np.ndarray, w: int) -> float:
    """``1 - mean(coarse(phi, w)^2)``: how mixed the vessel looks at the scale ``w``. ``phi``:
    float ``(n, n)``, ``w`` dividing ``n``; returns a float."""
    c = coarse(phi, w)
    return 1.0 - float(np.mean(c * c))


def mass(phi: np.ndarray) -> float:
    """Mean of ``phi`` (float ``(n, n)``): conserved by the dynamics. Returns a float."""
    return float(np.mean(np.asarray(phi, dtype=np.float64)))
