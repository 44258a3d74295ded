"""Cahn-Hilliard solver for the vessel: stabilised semi-implicit Fourier-spectral in space,
adaptive second/third-order multistep (SBDF) in time.

MODEL.md, "Phase 1: genesis"; seed 000, second essay: reception and bestowal "repelled each
other", came to "a common boundary", were mixed "by way of vibration", and under "the most
powerful Light" melted into one quality. The composition ``phi`` (-1 reception, +1 bestowal)
on an ``n x n`` periodic grid of spacing 1 follows

    F[phi] = sum_x [ A (phi^2 - 1)^2 / 4 + lam phi^2 / 2 + kappa / 2 |grad phi|^2 ]
    mu     = A (phi^3 - phi) + lam phi - kappa lap(phi)
    dphi/dt = M lap(mu) - u . grad(phi)

Hats are 2-D real FFTs, ``k2 = |k|^2``, ``S = stabilization * A``. The light and the
gradient term are implicit (convex), the double well explicit, and a stabilising term
``S (phi_new - phi_explicit)`` damps the explicit part (Zhu, Chen, Shen & Tikare 1999; Shen
& Yang 2010). The ``k = 0`` mode is never updated, so the mean of ``phi`` (the mass) is
conserved to round-off.

Relaxation (no flow): variable-step stabilised SBDF of order q = 2 or 3 (IMEX backward
differences). With ``a_i`` the weights of the derivative at ``t_(n+1)`` of the polynomial
through ``phi`` at ``t_(n+1), t_n, ..., t_(n+1-q)`` (the variable-step BDF formula) and
``phi*`` the polynomial extrapolation of the last q fields to ``t_(n+1)``::

    (a_0 + M k2 (S + lam + kappa k2)) phi_hat_(n+1)
        = -sum_(i=1..q) a_i phi_hat_(n+1-i) + M k2 (S phi*_hat - FFT[A (phi*^3 - phi*)])

(for q = 2 and equal steps: ``(3/2 + h M k2 (...)) phi_(n+1) = 2 phi_n - phi_(n-1)/2 + ...``
with ``phi* = 2 phi_n - phi_(n-1)``). One forward and one inverse FFT per step. Its local
error is estimated for free with Milne's device: the distance between the new field and the
polynomial extrapolation of the last q + 1 fields (the predictor), times the ratio of the
two error constants. ``S = 2A`` (the default) equals ``f''`` in the bulk phases, so there the
explicit part vanishes to first order; with ``S = A`` SBDF2 goes unstable at large steps on
PFHub 1a. SBDF3 is taken while ``h M A^2 / kappa <= SBDF3_MAX_THETA`` (beyond, it goes
unstable), SBDF2 above (measurements: docs/genesis.md); step ratios are capped at ``MAX_STEP_RATIO``. The first
two steps of a history, which SBDF cannot take, are the one-step scheme below with step
doubling. A step that would raise the free energy is rejected and retried shorter, never
kept.

One-step scheme (first order; start-up and stirring)::

    (1 + h M k2 (S + lam + kappa k2)) phi_hat' = (1 + h M k2 S) phi_hat - h M k2 FFT[A (phi^3 - phi)]

energy-stable for any ``h`` when ``S >= A`` (Shen & Yang 2010: S >= L/2, L = max|f''| = 2A
on [-1, 1]). With step doubling it is taken once with ``h`` and twice with ``h/2``; their
RMS difference (free via Parseval) estimates the local error of the first-order step, and
the Richardson combination ``2 phi_(h/2,h/2) - phi_h`` is kept (the two-half-step solution
if the combination would raise the free energy).

Stirring (``u``): the random sine flow is a sequence of shear flows ``u_x = U sin(2 pi y / n
+ theta)`` and ``u_y = U sin(2 pi x / n + theta)``. A shear translates each row (column)
rigidly, so its advection ``exp(-h u . grad)`` is applied exactly in Fourier space along the
sheared axis (the gradient is spectral, the velocity pointwise): unconditionally stable and
mass-conserving. It is split (Lie) from the one-step scheme with step doubling: the splitting
is first order, so a higher-order step would buy nothing there.

Arrays are indexed ``phi[y, x]`` (row = y), float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit
from scipy import fft as sfft

__all__ = [
    "Shear",
    "Past",
    "SpectralState",
    "CahnHilliard",
    "make_solver",
    "relax",
    "free_energy",
    "default_workers",
    "MAX_STEP_RATIO",
    "SBDF3_MAX_THETA",
]

#: Largest ratio of consecutive multistep steps (the controller's growth cap): inside the
#: stability bounds of variable-step BDF2 (zero-stable below 1 + sqrt 2, Grigorieff 1983)
#: and BDF3 (stable below 2.553, Li & Liao 2022).
MAX_STEP_RATIO = 1.5

#: SBDF3 is used while ``h M A^2 / kappa`` stays at or below this, SBDF2 above: SBDF3 is stable
#: there on coarsening fields and turns unstable a little beyond, while SBDF2 stays stable
#: (measured with constant steps; docs/genesis.md, "Order").
SBDF3_MAX_THETA = 1.0

# PI step-size controller (Gustafsson, Lundh & Soderlind 1988), gains 0.3/k and 0.4/k
# (Soderlind's "PI.3.4"), k = order + 1: h' = h SAFETY (tol/err)^(0.3/k) (err_prev/err)^(0.4/k).
# It keeps the step sequence smooth, which multistep formulas need: the plain controller
# (tol/err)^(1/k) has many more steps rejected (docs/genesis.md, "Controller").
SAFETY = 0.9
_PI_I, _PI_P = 0.3, 0.4


# -- fused elementwise kernels (one pass over the spectrum instead of ~10 NumPy temporaries)

@njit(cache=True)
def _ch_update(ph, nl, L, D0, h, S):
    """(ph + h L (S ph - nl)) / (1 + h L D0) with the k = 0 mode kept: the one-step update."""
    out = np.empty_like(ph)
    ny, nx = ph.shape
    for i in range(ny):
        for j in range(nx):
            b = h * L[i, j]
            out[i, j] = (ph[i, j] + b * (S * ph[i, j] - nl[i, j])) / (1.0 + b * D0[i, j])
    out[0, 0] = ph[0, 0]
    return out


@njit(cache=True)
def _sbdf_update(x0, x1, x2, x3, nl, L, D0, h, S, a0, r0, r1, r2, r3, e0, e1, e2, e3, p0, p1, p2, p3, pw):
    """The SBDF update in Fourier space (k = 0 mode kept) and the distance to the predictor.

    ``x0..x3``: spectra at t_n, t_(n-1), t_(n-2), t_(n-3) (unused ones get zero weights);
    ``nl``: FFT of the double well at the extrapolated field; ``a0``, ``r*``: the BDF weights
    times ``h`` (``a0 phi_(n+1) = sum r_j x_j + h (...)``); ``e*``: the extrapolation to
    t_(n+1) of the explicit part; ``p*``: the predictor's. Returns the new spectrum and
    ``sum pw |new - predictor|^2``.
    """
    out = np.empty_like(x0)
    acc = 0.0
    ny, nx = x0.shape
    # Real and imaginary parts written out: faster than Numba's complex arithmetic here.
    for i in range(ny):
        row = 0.0
        for j in range(nx):
            b = h * L[i, j]
            inv = 1.0 / (a0 + b * D0[i, j])
            c0 = (r0 + b * S * e0) * inv
            c1 = (r1 + b * S * e1) * inv
            c2 = (r2 + b * S * e2) * inv
            c3 = (r3 + b * S * e3) * inv
            bi = b * inv
            u0 = x0[i, j]
            u1 = x1[i, j]
            u2 = x2[i, j]
            u3 = x3[i, j]
            g = nl[i, j]
            vr = c0 * u0.real + c1 * u1.real + c2 * u2.real + c3 * u3.real - bi * g.real
            vi = c0 * u0.imag + c1 * u1.imag + c2 * u2.imag + c3 * u3.imag - bi * g.imag
            out[i, j] = complex(vr, vi)
            dr = vr - (p0 * u0.real + p1 * u1.real + p2 * u2.real + p3 * u3.real)
            di = vi - (p0 * u0.imag + p1 * u1.imag + p2 * u2.imag + p3 * u3.imag)
            row += pw[i, j] * (dr * dr + di * di)
        acc += row
    out[0, 0] = x0[0, 0]  # the mass, exactly (L = 0 there: the update above only rounds it)
    return out, acc


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


@njit(cache=True)
def _extrapolated_double_well(f0, f1, f2, e0, e1, e2, A):
    """A (p^3 - p) at the extrapolation ``p = e0 f0 + e1 f1 + e2 f2``."""
    out = np.empty_like(f0)
    ny, nx = f0.shape
    for i in range(ny):
        for j in range(nx):
            p = e0 * f0[i, j] + e1 * f1[i, j] + e2 * f2[i, j]
            out[i, j] = A * (p * p * p - p)
    return out


def _lagrange_weights(nodes: list[float], x: float) -> list[float]:
    """Weights w_i with ``sum w_i y(nodes_i)`` the interpolating polynomial at ``x``."""
    w = []
    for i, ti in enumerate(nodes):
        c = 1.0
        for j, tj in enumerate(nodes):
            if j != i:
                c *= (x - tj) / (ti - tj)
        w.append(c)
    return w


def _bdf_weights(nodes: list[float]) -> list[float]:
    """Weights of the derivative at ``nodes[0]`` of the interpolating polynomial: the
    variable-step BDF formula ``y'(t_0) ~ sum a_i y(nodes_i)``."""
    t0 = nodes[0]
    a = [sum(1.0 / (t0 - tj) for tj in nodes[1:])]
    for i in range(1, len(nodes)):
        num = den = 1.0
        for j, tj in enumerate(nodes):
            if j != i:
                den *= nodes[i] - tj
                if j != 0:
                    num *= t0 - tj
        a.append(num / den)
    return a


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
    """FFT threads for an ``n x n`` grid: 1 below 512 (on small grids threads cost more than
    they save; docs/genesis.md), all cores (-1) above."""
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


@dataclass(frozen=True, eq=False)
class Past:
    """The accepted steps before a state, which the multistep (SBDF) steps need.

    ``fields``: real fields (n, n) float64 at t_(n-1), t_(n-2) (at most two); ``hats``: their
    spectra (n, n//2+1) complex128 at t_(n-1), t_(n-2), t_(n-3) (at most three); ``steps``:
    ``t_n - t_(n-1)``, ``t_(n-1) - t_(n-2)``, ... (one per spectrum); ``key``: the solver's
    parameters and the light of those steps (:meth:`CahnHilliard.history_key`).
    """

    key: tuple
    fields: tuple
    hats: tuple
    steps: tuple

    def then(self, state: "SpectralState", h: float) -> "Past":
        """The past of the state that follows ``state`` after a step ``h``."""
        return Past(self.key, ((state.phi,) + self.fields)[:2], ((state.phi_hat,) + self.hats)[:3],
                    ((float(h),) + self.steps)[:3])


@dataclass(frozen=True, eq=False)
class SpectralState:
    """The field in both spaces: ``phi`` (n, n) float64 and ``phi_hat = rfft2(phi)``
    (n, n//2+1) complex128. Treat as immutable.

    ``past``: set on the states :func:`relax` accepts without a flow, so that a following
    ``relax`` under the same dynamics continues the SBDF history instead of restarting it;
    states built any other way (``init``, ``step``) have none.
    """

    phi: np.ndarray
    phi_hat: np.ndarray
    past: Past | None = None


class CahnHilliard:
    """The discretised vessel. Build once per grid and parameters; steps are pure functions
    of (state, h, lam, flow)."""

    def __init__(self, n: int, A: float, kappa: float, M: float, *, stabilization: float = 2.0,
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
        """rfft2 of a real field ``phi`` float64 ``(n, n)``: complex128 ``(n, n // 2 + 1)``."""
        return sfft.rfft2(phi, workers=self.workers)

    def ifft(self, phi_hat: np.ndarray) -> np.ndarray:
        """The real field float64 ``(n, n)`` whose rfft2 is ``phi_hat`` complex128 ``(n, n // 2 + 1)``."""
        return sfft.irfft2(phi_hat, s=(self.n, self.n), workers=self.workers)

    def init(self, phi: np.ndarray) -> SpectralState:
        """State from a real field ``phi`` (n, n); the field is copied as float64."""
        phi = np.array(phi, dtype=np.float64, copy=True)
        if phi.shape != (self.n, self.n):
            raise ValueError(f"phi must have shape {(self.n, self.n)}, got {phi.shape}")
        return SpectralState(phi, self.fft(phi))

    def history_key(self, lam: float) -> tuple:
        """What a BDF2 history depends on besides the fields: the parameters and the light
        (a history taken under other dynamics would put a kink inside the step's stencil)."""
        return (self.n, self.A, self.kappa, self.M, self.S, float(lam))

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

    def _set_light(self, lam: float) -> None:
        # Implicit part: light, gradient term and the stabiliser; D0 cached per light.
        if lam != self._lam_cached:
            self._D0 = self.S + float(lam) + self.kappa * self.k2
            self._lam_cached = lam

    def _ch_hat(self, phi_hat: np.ndarray, nl_hat: np.ndarray, h: float, lam: float) -> np.ndarray:
        self._set_light(lam)
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

    def sbdf3_max_step(self) -> float:
        """Longest step taken with SBDF3 (``SBDF3_MAX_THETA kappa / (M A^2)``); SBDF2 above."""
        return SBDF3_MAX_THETA * self.kappa / (self.M * self.A ** 2)

    def sbdf_step(self, state: SpectralState, h: float, lam: float, order: int) -> tuple[np.ndarray, float]:
        """One variable-step stabilised SBDF step of ``order`` 2 or 3 and length ``h``, no flow.

        ``state.past`` must hold ``order`` steps. With the times ``t_(n+1), t_n, ...``, the
        BDF weights ``a_i`` of the derivative at ``t_(n+1)`` of the polynomial through
        ``order + 1`` of them, and ``phi*`` the extrapolation of the last ``order`` fields to
        ``t_(n+1)``::

            (a_0 + M k2 (S + lam + kappa k2)) phi_hat_(n+1)
                = -sum_(i>=1) a_i phi_hat_(n+1-i) + M k2 (S phi*_hat - FFT[A (phi*^3 - phi*)])

        Returns ``(phi_hat', err)``: the new spectrum (n, n//2+1) complex128 and the RMS
        estimate of its local error (Milne's device, see the module docstring). Cost: one
        forward FFT here; the inverse is left to the caller, which skips it for a step it
        rejects.
        """
        past = state.past
        have = 0 if past is None else len(past.steps)
        if order not in (2, 3) or have < order:
            raise ValueError(f"SBDF{order} needs {order} past steps (order 2 or 3), the state has {have}")
        h = float(h)
        q = order
        t = [0.0]  # t_n, t_(n-1), ... relative to t_n
        for step in past.steps[:q]:
            t.append(t[-1] - step)
        ext = _lagrange_weights(t[:q], h) + [0.0] * (4 - q)
        pred = _lagrange_weights(t[:q + 1], h) + [0.0] * (3 - q)
        a = [h * c for c in _bdf_weights([h] + t[:q])]
        rhs = [-c for c in a[1:]] + [0.0] * (4 - q)
        fields = (state.phi,) + past.fields[:q - 1]
        fields += (fields[0],) * (3 - len(fields))  # zero weights
        nl_hat = self.fft(_extrapolated_double_well(fields[0], fields[1], fields[2], ext[0], ext[1], ext[2], self.A))
        hats = (state.phi_hat,) + past.hats[:q]
        hats += (hats[0],) * (4 - len(hats))
        self._set_light(lam)
        new_hat, acc = _sbdf_update(hats[0], hats[1], hats[2], hats[3], nl_hat, self._L, self._D0, h, self.S,
                                    a[0], *rhs, *ext, *pred, self.parseval_w)
        # Both local errors are (constant) x d^(q+1)phi/dt^(q+1): BDF's prod_(i<=q)(t_(n+1) -
        # t_(n+1-i)) / ((q+1)! a_0/h) and the predictor's prod_(i<=q+1)(...) / (q+1)!; what
        # we see is their sum, so the step's share is c_bdf / (c_bdf + c_pred) (2/11 for
        # BDF2, 3/25 for BDF3 at constant steps).
        prod = 1.0
        for ti in t[:q]:
            prod *= h - ti
        c_bdf = prod * h / a[0]
        c_pred = prod * (h - t[q])
        err = c_bdf / (c_bdf + c_pred) * math.sqrt(acc) / self.n ** 2
        return new_hat, err


def make_solver(n: int, A: float, kappa: float, M: float, *, stabilization: float = 2.0,
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

    Without a flow: SBDF3 while the step is below :meth:`CahnHilliard.sbdf3_max_step`,
    SBDF2 above, after two one-step start-up steps (none when ``state.past`` carries a
    history taken under the same parameters and light, which is then continued); a step
    that would raise the free energy is never accepted (unless ``h <= dt_min``). With a
    flow: the Lie-split one-step scheme with step doubling. ``tol``: RMS local error of
    ``phi`` allowed per step.

    ``on_accept(state, t_local, h, F)`` is called after every accepted step (``t_local``
    from the start of this call, ``F`` the free energy at ``lam``).

    Returns ``(state, dt_next, n_accepted, n_rejected)``.
    """
    if flow is not None and flow.amplitude != 0.0:
        return _relax_stirred(ch, state, duration, lam, dt=dt, dt_min=dt_min, dt_max=dt_max,
                              tol=tol, flow=flow, on_accept=on_accept)
    key = ch.history_key(lam)
    past = state.past if state.past is not None and state.past.key == key else None
    state = SpectralState(state.phi, state.phi_hat, past)
    h3_max = ch.sbdf3_max_step()
    t = 0.0
    n_acc = n_rej = 0
    dt = float(min(max(dt, dt_min), dt_max))
    F_old = ch.free_energy(state, lam)
    err_prev, order_prev = 0.0, 0
    # Stop within a relative hair of the end: float sums of h never land exactly.
    eps = 1e-12 * max(1.0, duration)
    while duration - t > eps:
        remaining = duration - t
        n_past = 0 if past is None else len(past.steps)
        multistep = n_past >= 2
        h = min(dt, MAX_STEP_RATIO * past.steps[0]) if multistep else dt
        if remaining <= h:
            h = remaining
        elif multistep and remaining < 2.0 * h:
            h = 0.5 * remaining  # two equal steps to the end, not a sliver and a ratio jump
        order = 1 if not multistep else (3 if n_past >= 3 and h <= h3_max else 2)
        truncated = h < dt
        forced = h <= dt_min
        if order == 1:
            new_hat, halves, err = ch.double_step(state, h, lam)
            k = 2  # the estimate is the first-order step's, though the kept field is better
        else:
            new_hat, err = ch.sbdf_step(state, h, lam, order)
            k = order + 1
        if err > tol and not forced:
            n_rej += 1
            dt = max(dt_min, h * max(0.2, min(0.5 if order == 1 else 0.9, SAFETY * (tol / err) ** (1.0 / k))))
            continue
        new = SpectralState(ch.ifft(new_hat), new_hat)
        F_new = ch.free_energy(new, lam)
        slack = 1e-12 * max(1.0, abs(F_old))
        if F_new > F_old + slack and order == 1:
            new = SpectralState(ch.ifft(halves), halves)  # energy-stable fall-back
            F_new = ch.free_energy(new, lam)
        if F_new > F_old + slack and not forced:
            n_rej += 1
            dt = max(dt_min, 0.5 * h)
            continue
        past = (past or Past(key, (), (), ())).then(state, h)
        state = SpectralState(new.phi, new.phi_hat, past)
        F_old = F_new
        t = duration if h >= remaining else t + h
        n_acc += 1
        if on_accept is not None:
            on_accept(state, t, h, F_new)
        if err <= 0.0:
            fac = MAX_STEP_RATIO
        elif order == order_prev and err_prev > 0.0:
            fac = SAFETY * (tol / err) ** (_PI_I / k) * (err_prev / err) ** (_PI_P / k)
        else:
            fac = SAFETY * (tol / err) ** (1.0 / k)
        err_prev, order_prev = err, order
        fac = min(MAX_STEP_RATIO if order > 1 else 2.0, max(0.2, fac))
        if not (truncated and fac >= 1.0):  # a step cut at the end says nothing about growth
            dt = min(dt_max, max(dt_min, h * fac))
    return state, dt, n_acc, n_rej


def _relax_stirred(ch: CahnHilliard, state: SpectralState, duration: float, lam: float, *, dt: float,
                   dt_min: float, dt_max: float, tol: float, flow: Shear,
                   on_accept: Callable[[SpectralState, float, float, float], None] | None):
    """:func:`relax` under a shear: Lie splitting, step doubling, no energy check (the flow
    feeds the free energy)."""
    t = 0.0
    n_acc = n_rej = 0
    dt = float(min(max(dt, dt_min), dt_max))
    eps = 1e-12 * max(1.0, duration)
    while duration - t > eps:
        remaining = duration - t
        h = min(dt, remaining)
        truncated = h < dt
        rich, _, err = ch.double_step(state, h, lam, flow)
        forced = h <= dt_min
        if err > tol and not forced:
            n_rej += 1
            dt = max(dt_min, h * max(0.2, min(0.5, 0.9 * np.sqrt(tol / err))))
            continue
        state = SpectralState(ch.ifft(rich), rich)
        t = duration if h >= remaining else t + h
        n_acc += 1
        if on_accept is not None:
            on_accept(state, t, h, ch.free_energy(state, lam))
        fac = 0.9 * np.sqrt(tol / err) if err > 0 else 2.0
        fac = min(2.0, max(0.2, fac))
        if not (truncated and fac >= 1.0):
            dt = min(dt_max, max(dt_min, h * fac))
    return state, dt, n_acc, n_rej
