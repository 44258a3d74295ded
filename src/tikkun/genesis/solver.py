"""Cahn-Hilliard solver for the vessel: semi-implicit Fourier-spectral, adaptive in time.

MODEL.md, "Phase 1: genesis"; seed 000, second essay: reception and bestowal "repelled each
other", came to "a common boundary", were mixed "by way of vibration", and under "the most
powerful Light" melted into one quality. The composition ``phi`` (-1 reception, +1 bestowal)
on an ``n x n`` periodic grid of spacing 1 follows

    F[phi] = sum_x [ A (phi^2 - 1)^2 / 4 + lam phi^2 / 2 + kappa / 2 |grad phi|^2 ]
    mu     = A (phi^3 - phi) + lam phi - kappa lap(phi)
    dphi/dt = M lap(mu) - u . grad(phi)

Scheme (one step ``h``, hats are 2-D real FFTs, ``k2 = |k|^2``)::

    (1 + h M k2 (S + lam + kappa k2)) phi_hat' = (1 + h M k2 S) phi_hat - h M k2 FFT[A (phi^3 - phi)]

The light and the gradient term are implicit (convex), the double well explicit, and the
stabilising term ``S (phi' - phi)`` (``S = stabilization * A``) makes the step energy-stable
for any ``h`` when ``S >= A`` (Zhu, Chen, Shen & Tikare 1999; Shen & Yang 2010: S >= L/2,
L = max|f''| = 2A on [-1, 1]). The ``k = 0`` mode is never updated, so the mean of ``phi``
(the mass) is conserved to round-off.

Time step control: every step is taken once with ``h`` and twice with ``h/2``; their RMS
difference (free via Parseval) estimates the local error of the first-order step, and the
Richardson combination ``2 phi_(h/2,h/2) - phi_h`` (second order) is kept. If that
combination would raise the free energy (it is not guaranteed energy-stable), the
two-half-step solution, which is, is kept instead. A step whose error exceeds the tolerance
is rejected and retried shorter; ``h`` grows while the error stays small.

Stirring (``u``): the random sine flow is a sequence of shear flows ``u_x = U sin(2 pi y / n
+ theta)`` and ``u_y = U sin(2 pi x / n + theta)``. A shear translates each row (column)
rigidly, so its advection ``exp(-h u . grad)`` is applied exactly in Fourier space along the
sheared axis (the gradient is spectral, the velocity pointwise): unconditionally stable and
mass-conserving. It is split (Lie) from the Cahn-Hilliard step.

Arrays are indexed ``phi[y, x]`` (row = y), float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit
from scipy import fft as sfft

__all__ = [
    "Shear",
    "SpectralState",
    "CahnHilliard",
    "make_solver",
    "relax",
    "free_energy",
    "default_workers",
]


# -- fused elementwise kernels (one pass over the spectrum instead of ~10 NumPy temporaries)

@njit(cache=True)
def _ch_update(ph, nl, L, D0, h, S):
    """(ph + h L (S ph - nl)) / (1 + h L D0) with the k = 0 mode kept: the scheme's update."""
    out = np.empty_like(ph)
    ny, nx = ph.shape
    for i in range(ny):
        for j in range(nx):
            b = h * L[i, j]
            out[i, j] = (ph[i, j] + b * (S * ph[i, j] - nl[i, j])) / (1.0 + b * D0[i, j])
    out[0, 0] = ph[0, 0]
    return out


@njit(cache=True)
def _richardson(full, half2, w, keep):
    """``2 half2 - full`` (k = 0 mode set to ``keep``) and ``sum w |half2 - full|^2``."""
    out = np.empty_like(full)
    acc = 0.0
    ny, nx = full.shape
    for i in range(ny):
        for j in range(nx):
            d = half2[i, j] - full[i, j]
            acc += w[i, j] * (d.real * d.real + d.imag * d.imag)
            out[i, j] = half2[i, j] + d
    out[0, 0] = keep
    return out, acc


@njit(cache=True)
def _double_well(phi, A):
    """A (phi^3 - phi), the explicit part of the chemical potential."""
    out = np.empty_like(phi)
    ny, nx = phi.shape
    for i in range(ny):
        for j in range(nx):
            p = phi[i, j]
            out[i, j] = A * (p * p * p - p)
    return out


# Sums go row by row, then over rows: round-off grows like n, not n^2, which keeps the
# "energy never rises" check (relative slack 1e-12) meaningful on large grids.

@njit(cache=True)
def _bulk_energy(phi, A, lam):
    acc = 0.0
    ny, nx = phi.shape
    for i in range(ny):
        row = 0.0
        for j in range(nx):
            p2 = phi[i, j] * phi[i, j]
            row += 0.25 * A * (p2 - 1.0) * (p2 - 1.0) + 0.5 * lam * p2
        acc += row
    return acc


@njit(cache=True)
def _weighted_power(ph, wk):
    acc = 0.0
    ny, nx = ph.shape
    for i in range(ny):
        row = 0.0
        for j in range(nx):
            v = ph[i, j]
            row += wk[i, j] * (v.real * v.real + v.imag * v.imag)
        acc += row
    return acc


def default_workers(n: int) -> int:
    """FFT threads for an ``n x n`` grid: 1 below 512 (measured: threads cost more than they
    save on 200^2 and 256^2 transforms), all cores (-1) above."""
    return 1 if n < 512 else -1


@dataclass(frozen=True)
class Shear:
    """One shear flow of the random sine flow.

    ``axis``: 0 shears along x (``u_x = U sin(2 pi y / n + phase)``), 1 along y
    (``u_y = U sin(2 pi x / n + phase)``). ``amplitude`` U in cells per unit time.
    """

    axis: int
    amplitude: float
    phase: float


@dataclass(frozen=True)
class SpectralState:
    """The field in both spaces: ``phi`` (n, n) float64 and ``phi_hat = rfft2(phi)``
    (n, n//2+1) complex128. Treat as immutable."""

    phi: np.ndarray
    phi_hat: np.ndarray


class CahnHilliard:
    """The discretised vessel. Build once per grid and parameters; steps are pure functions
    of (state, h, lam, flow)."""

    def __init__(self, n: int, A: float, kappa: float, M: float, *, stabilization: float = 1.0,
                 workers: int | None = None):
        if n < 2:
            raise ValueError("n must be at least 2")
        self.n = int(n)
        self.A = float(A)
        self.kappa = float(kappa)
        self.M = float(M)
        self.S = float(stabilization) * self.A
        self.workers = default_workers(n) if workers is None else int(workers)
        ky = 2.0 * np.pi * sfft.fftfreq(n)            # along axis 0 (y), full
        kx = 2.0 * np.pi * sfft.rfftfreq(n)           # along axis 1 (x), half
        self.ky = ky
        self.kx = kx
        self.k2 = ky[:, None] ** 2 + kx[None, :] ** 2  # (n, n//2+1)
        # Parseval weights of the half spectrum: the columns 1..n/2-1 stand for two modes.
        w = np.full(self.k2.shape, 2.0)
        w[:, 0] = 1.0
        if n % 2 == 0:
            w[:, -1] = 1.0
        self.parseval_w = w
        self._wk2 = w * self.k2
        self._L = self.M * self.k2
        self._lam_cached = None
        self._D0 = None
        self._coords = np.arange(n, dtype=np.float64)

    # -- transforms -------------------------------------------------------------------
    def fft(self, phi: np.ndarray) -> np.ndarray:
        return sfft.rfft2(phi, workers=self.workers)

    def ifft(self, phi_hat: np.ndarray) -> np.ndarray:
        return sfft.irfft2(phi_hat, s=(self.n, self.n), workers=self.workers)

    def init(self, phi: np.ndarray) -> SpectralState:
        """State from a real field ``phi`` (n, n); the field is copied as float64."""
        phi = np.array(phi, dtype=np.float64, copy=True)
        if phi.shape != (self.n, self.n):
            raise ValueError(f"phi must have shape {(self.n, self.n)}, got {phi.shape}")
        return SpectralState(phi, self.fft(phi))

    def rms(self, d_hat: np.ndarray) -> float:
        """RMS over the grid of the field whose rfft2 is ``d_hat`` (Parseval, no transform)."""
        return float(np.sqrt(_weighted_power(d_hat, self.parseval_w))) / self.n ** 2

    # -- physics ----------------------------------------------------------------------
    def free_energy(self, state: SpectralState, lam: float) -> float:
        """Total free energy F (float) with the spectral gradient, the one the scheme
        dissipates."""
        bulk = _bulk_energy(state.phi, self.A, float(lam))
        grad2 = _weighted_power(state.phi_hat, self._wk2) / self.n ** 2
        return bulk + 0.5 * self.kappa * grad2

    def _nonlinear_hat(self, phi: np.ndarray) -> np.ndarray:
        # Explicit part of mu: the double well A (phi^3 - phi).
        return self.fft(_double_well(phi, self.A))

    def _ch_hat(self, phi_hat: np.ndarray, nl_hat: np.ndarray, h: float, lam: float) -> np.ndarray:
        # Implicit part: light, gradient term and the stabiliser; D0 cached per light.
        if lam != self._lam_cached:
            self._D0 = self.S + float(lam) + self.kappa * self.k2
            self._lam_cached = lam
        return _ch_update(phi_hat, nl_hat, self._L, self._D0, float(h), self.S)

    def advect(self, phi: np.ndarray, h: float, flow: Shear) -> np.ndarray:
        """Exact advection of ``phi`` by the shear ``flow`` for time ``h``: every row (axis 0)
        or column (axis 1) is translated by ``u h`` with a Fourier phase factor."""
        n = self.n
        k = self.kx  # rfftfreq along the sheared axis
        if flow.axis == 0:
            u = flow.amplitude * np.sin(2.0 * np.pi * self._coords / n + flow.phase)  # u_x(y)
            p = sfft.rfft(phi, axis=1, workers=self.workers)
            p *= np.exp(-1j * np.outer(u * h, k))
            return sfft.irfft(p, n=n, axis=1, workers=self.workers)
        if flow.axis == 1:
            u = flow.amplitude * np.sin(2.0 * np.pi * self._coords / n + flow.phase)  # u_y(x)
            p = sfft.rfft(phi, axis=0, workers=self.workers)
            p *= np.exp(-1j * np.outer(k, u * h))
            return sfft.irfft(p, n=n, axis=0, workers=self.workers)
        raise ValueError(f"flow axis must be 0 or 1, got {flow.axis}")

    def step(self, state: SpectralState, h: float, lam: float, flow: Shear | None = None) -> SpectralState:
        """One first-order stabilised semi-implicit step of length ``h`` (advection first)."""
        if flow is not None and flow.amplitude != 0.0:
            phi = self.advect(state.phi, h, flow)
            ph = self.fft(phi)
        else:
            phi, ph = state.phi, state.phi_hat
        new_hat = self._ch_hat(ph, self._nonlinear_hat(phi), h, lam)
        return SpectralState(self.ifft(new_hat), new_hat)

    def double_step(self, state: SpectralState, h: float, lam: float, flow: Shear | None = None):
        """Step ``h`` once and as two halves.

        Returns ``(richardson_hat, halves_hat, err)``: the second-order combination, the
        two-half-step result (energy-stable) in Fourier space, and the RMS estimate of the
        local error of the first-order step.
        """
        stirred = flow is not None and flow.amplitude != 0.0
        if stirred:
            phi0 = self.advect(state.phi, h, flow)
            full = self._ch_hat(self.fft(phi0), self._nonlinear_hat(phi0), h, lam)
            phi_a = self.advect(state.phi, 0.5 * h, flow)
            ph_a = self.fft(phi_a)
            half1 = self._ch_hat(ph_a, self._nonlinear_hat(phi_a), 0.5 * h, lam)
            phi1 = self.advect(self.ifft(half1), 0.5 * h, flow)
            half2 = self._ch_hat(self.fft(phi1), self._nonlinear_hat(phi1), 0.5 * h, lam)
        else:
            nl0 = self._nonlinear_hat(state.phi)  # shared by the full and the first half step
            full = self._ch_hat(state.phi_hat, nl0, h, lam)
            half1 = self._ch_hat(state.phi_hat, nl0, 0.5 * h, lam)
            phi1 = self.ifft(half1)
            half2 = self._ch_hat(half1, self._nonlinear_hat(phi1), 0.5 * h, lam)
        rich, acc = _richardson(full, half2, self.parseval_w, state.phi_hat[0, 0])
        return rich, half2, float(np.sqrt(acc)) / self.n ** 2


def make_solver(n: int, A: float, kappa: float, M: float, *, stabilization: float = 1.0,
                workers: int | None = None):
    """Builder: ``(init_fn, step_fn)`` for the vessel.

    ``init_fn(phi (n,n)) -> SpectralState``; ``step_fn(state, h, lam, flow=None) ->
    SpectralState`` is one first-order step. The :class:`CahnHilliard` object behind them is
    available as ``step_fn.__self__`` for :func:`relax` and the energy.
    """
    ch = CahnHilliard(n, A, kappa, M, stabilization=stabilization, workers=workers)
    return ch.init, ch.step


def free_energy(phi: np.ndarray, A: float, kappa: float, lam: float = 0.0, gradient: str = "spectral") -> float:
    """Total free energy of a periodic field ``phi`` (n, n), grid spacing 1.

    ``gradient``: ``"spectral"`` (the solver's own, exact for the trigonometric interpolant),
    ``"central"`` (periodic central differences) or ``"forward"`` (periodic forward
    differences), for comparison with codes that evaluate the energy that way.
    """
    phi = np.asarray(phi, dtype=np.float64)
    p2 = phi * phi
    bulk = float(np.sum(0.25 * A * (p2 - 1.0) ** 2 + 0.5 * lam * p2))
    if gradient == "spectral":
        ch = CahnHilliard(phi.shape[0], A, kappa, 1.0)
        return ch.free_energy(SpectralState(phi, ch.fft(phi)), lam)
    if gradient == "central":
        gx = 0.5 * (np.roll(phi, -1, axis=1) - np.roll(phi, 1, axis=1))
        gy = 0.5 * (np.roll(phi, -1, axis=0) - np.roll(phi, 1, axis=0))
    elif gradient == "forward":
        gx = np.roll(phi, -1, axis=1) - phi
        gy = np.roll(phi, -1, axis=0) - phi
    else:
        raise ValueError(f"unknown gradient {gradient!r}")
    return bulk + 0.5 * kappa * float(np.sum(gx * gx + gy * gy))


def relax(ch: CahnHilliard, state: SpectralState, duration: float, lam: float, *, dt: float,
          dt_min: float, dt_max: float, tol: float, flow: Shear | None = None,
          on_accept: Callable[[SpectralState, float, float, float], None] | None = None):
    """Advance ``state`` by ``duration`` at light ``lam`` with the adaptive step.

    ``on_accept(state, t_local, h, F)`` is called after every accepted step (``t_local``
    from the start of this call, ``F`` the free energy at ``lam``). Without a flow a step
    that would raise the free energy is never accepted (unless ``h <= dt_min``).

    Returns ``(state, dt_next, n_accepted, n_rejected)``.
    """
    t = 0.0
    n_acc = n_rej = 0
    dt = float(min(max(dt, dt_min), dt_max))
    check_energy = flow is None or flow.amplitude == 0.0
    F_old = ch.free_energy(state, lam)
    # Stop within a relative hair of the end: float sums of h never land exactly.
    eps = 1e-12 * max(1.0, duration)
    while duration - t > eps:
        remaining = duration - t
        h = min(dt, remaining)
        truncated = h < dt
        rich, halves, err = ch.double_step(state, h, lam, flow)
        forced = h <= dt_min
        if err > tol and not forced:
            n_rej += 1
            dt = max(dt_min, h * max(0.2, min(0.5, 0.9 * np.sqrt(tol / err))))
            continue
        new = SpectralState(ch.ifft(rich), rich)
        F_new = ch.free_energy(new, lam)
        slack = 1e-12 * max(1.0, abs(F_old))
        if check_energy and F_new > F_old + slack:
            new = SpectralState(ch.ifft(halves), halves)  # energy-stable fall-back
            F_new = ch.free_energy(new, lam)
            if F_new > F_old + slack and not forced:
                n_rej += 1
                dt = max(dt_min, 0.5 * h)
                continue
        state, F_old = new, F_new
        t = duration if h >= remaining else t + h
        n_acc += 1
        if on_accept is not None:
            on_accept(state, t, h, F_new)
        fac = 0.9 * np.sqrt(tol / err) if err > 0 else 2.0
        fac = min(2.0, max(0.2, fac))
        if not (truncated and fac >= 1.0):  # a step cut at the end says nothing about growth
            dt = min(dt_max, max(dt_min, h * fac))
    return state, dt, n_acc, n_rej
