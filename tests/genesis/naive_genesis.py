"""Slow, obviously-correct references for the genesis tests.

Written from the definitions in MODEL.md with plain loops and full complex FFTs, sharing
no code with tikkun: the draws are tests/naive.py's plain-Python twin of the counter-based
generator (on the path by tests/conftest.py), so a change to tikkun's generator shows here too.
"""

from __future__ import annotations

import math

import numpy as np

from naive import uniform

PURPOSE_SPARK_POSITION = 18  # a spark position's draws: written out here, not read from tikkun


def unity(phi):
    n0, n1 = phi.shape
    s = 0.0
    for i in range(n0):
        for j in range(n1):
            s += phi[i, j] ** 2
    return 1.0 - s / (n0 * n1)


def coarse(phi, w):
    n0, n1 = phi.shape
    out = np.zeros((n0 // w, n1 // w))
    for I in range(n0 // w):
        for J in range(n1 // w):
            s = 0.0
            for i in range(I * w, I * w + w):
                for j in range(J * w, J * w + w):
                    s += phi[i, j]
            out[I, J] = s / (w * w)
    return out


def mixing(phi, w):
    c = coarse(phi, w)
    return 1.0 - float(np.sum(c ** 2)) / c.size


def wavenumbers(n):
    """Angular wavenumbers of a full complex FFT of length n (spacing 1)."""
    return np.array([2.0 * math.pi * (m if m <= n // 2 else m - n) / n for m in range(n)])


def free_energy_spectral(phi, A, kappa, lam):
    """sum f(phi) + kappa/2 |grad phi|^2 with the spectral gradient (full complex FFT and
    Parseval; the Nyquist mode of an even grid counted with |k| = pi)."""
    n = phi.shape[0]
    k = wavenumbers(n)
    P = np.fft.fft2(phi)
    # Parseval: sum_x |grad phi|^2 = (1/n^2) sum_k |k|^2 |P_k|^2.
    K2 = k[:, None] ** 2 + k[None, :] ** 2
    grad2 = float(np.sum(K2 * np.abs(P) ** 2)) / n ** 2
    bulk = float(np.sum(A / 4.0 * (phi ** 2 - 1.0) ** 2 + lam / 2.0 * phi ** 2))
    return bulk + kappa / 2.0 * grad2


def free_energy_central(phi, A, kappa, lam):
    n0, n1 = phi.shape
    F = 0.0
    for i in range(n0):
        for j in range(n1):
            gx = (phi[i, (j + 1) % n1] - phi[i, (j - 1) % n1]) / 2.0
            gy = (phi[(i + 1) % n0, j] - phi[(i - 1) % n0, j]) / 2.0
            p = phi[i, j]
            F += A / 4.0 * (p * p - 1.0) ** 2 + lam / 2.0 * p * p + kappa / 2.0 * (gx * gx + gy * gy)
    return F


def ch_step(phi, h, lam, A, kappa, M, S):
    """One stabilised semi-implicit step written straight from the scheme:
    (phi' - phi)/h = M lap[ A(phi^3 - phi) + S (phi' - phi) + lam phi' - kappa lap phi' ]."""
    n = phi.shape[0]
    k = wavenumbers(n)
    K2 = k[:, None] ** 2 + k[None, :] ** 2
    P = np.fft.fft2(phi)
    N = np.fft.fft2(A * (phi ** 3 - phi))
    # P' (1 + h M K2 (S + lam + kappa K2)) = P + h M K2 (S P - N)
    Pn = (P + h * M * K2 * (S * P - N)) / (1.0 + h * M * K2 * (S + lam + kappa * K2))
    return np.real(np.fft.ifft2(Pn))


def ch_rhs(phi, lam, A, kappa, M):
    """dphi/dt = M lap[A (phi^3 - phi) + lam phi - kappa lap phi] with spectral derivatives
    (full complex FFT)."""
    n = phi.shape[0]
    k = wavenumbers(n)
    K2 = k[:, None] ** 2 + k[None, :] ** 2
    P = np.fft.fft2(phi)
    MU = np.fft.fft2(A * (phi ** 3 - phi)) + (lam + kappa * K2) * P
    return np.real(np.fft.ifft2(-M * K2 * MU))


def ch_rk4(phi, T, dt, lam, A, kappa, M):
    """Classical fourth-order Runge-Kutta with a fixed step (``T / dt`` rounded to whole
    steps): an explicit reference sharing nothing with the solver's implicit schemes."""
    steps = int(round(T / dt))
    h = T / steps
    y = np.array(phi, dtype=np.float64)
    for _ in range(steps):
        k1 = ch_rhs(y, lam, A, kappa, M)
        k2 = ch_rhs(y + 0.5 * h * k1, lam, A, kappa, M)
        k3 = ch_rhs(y + 0.5 * h * k2, lam, A, kappa, M)
        k4 = ch_rhs(y + h * k3, lam, A, kappa, M)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def shift_rows(phi, shifts):
    """Translate row i of phi by shifts[i] cells along x (band-limited interpolation, done by
    direct evaluation of the trigonometric interpolant on the shifted nodes)."""
    n0, n1 = phi.shape
    out = np.empty_like(phi)
    x = np.arange(n1)
    for i in range(n0):
        c = np.fft.fft(phi[i]) / n1
        k = np.array([(m if m < n1 // 2 else (m - n1 if m > n1 // 2 else 0)) for m in range(n1)])
        # Nyquist mode: cos(pi (x - s)) keeps only its cosine part on the nodes.
        nyq = c[n1 // 2] if n1 % 2 == 0 else 0.0
        xs = x - shifts[i]
        val = np.zeros(n1)
        for m in range(n1):
            if n1 % 2 == 0 and m == n1 // 2:
                continue
            val += np.real(c[m] * np.exp(2j * math.pi * k[m] * xs / n1))
        val += np.real(nyq) * np.cos(math.pi * xs)
        out[i] = val
    return out


def step_worlds(u, lam, A, rho):
    u = list(map(float, u))
    new = []
    for w in range(4):
        light = lam
        for above in range(w):
            light *= u[above]
        eq = min(1.0, light / A)
        new.append(u[w] + rho * (eq - u[w]))
    return np.array(new)


def shatter_unity(field, entities, seed):
    n = field.shape[0]
    out = []
    for e in entities:
        ux = uniform(seed, 0, int(e), PURPOSE_SPARK_POSITION, 0)
        uy = uniform(seed, 0, int(e), PURPOSE_SPARK_POSITION, 1)
        x = min(int(math.floor(ux * n)), n - 1)
        y = min(int(math.floor(uy * n)), n - 1)
        v = 1.0 - field[y, x] ** 2
        out.append(min(1.0, max(0.0, v)))
    return np.array(out, dtype=np.float32)
