"""PFHub benchmark 1a (spinodal decomposition, periodic square) with the genesis solver.

Jokisaari, Voorhees, Guyer, Warren & Heinonen (2017), Comput. Mater. Sci. 126, 139-151;
https://pages.nist.gov/pfhub/benchmarks/benchmark1.ipynb/ (variant 1a).

    f(c) = rho (c - c_a)^2 (c_b - c)^2,  rho = 5, c_a = 0.3, c_b = 0.7
    F_c  = integral [ f(c) + kappa_c / 2 |grad c|^2 ],  kappa_c = 2
    dc/dt = div(M_c grad(df/dc - kappa_c lap c)),  M_c = 5
    c0 = 0.5 + 0.01 [cos(0.105x)cos(0.11y) + (cos(0.13x)cos(0.087y))^2
                     + cos(0.025x - 0.15y)cos(0.07x - 0.02y)]

on a 200 x 200 periodic square of spacing 1 (nodes x, y = 0..199; the initial condition is
not periodic on them, as everyone who ran it used it anyway).

With ``c = 0.5 + 0.2 phi`` this is the vessel's model with ``lam = 0``:
``f(c) = 5 (0.2)^4 (1 - phi^2)^2 = A/4 (phi^2 - 1)^2`` with ``A = 0.032``,
``kappa_c/2 |grad c|^2 = 0.04 |grad phi|^2 = kappa/2 |grad phi|^2`` with ``kappa = 0.08``, so
the energy densities are identical and ``F_c[c] = F[phi]`` exactly; and since
``dF/dc = 5 dF/dphi``, ``dc/dt = 0.2 dphi/dt``: ``dphi/dt = 25 M_c lap(mu_phi)``, ``M = 125``.
Time is the same.

Writes ``free_energy_1a.csv`` (header ``time,free_energy``, every accepted step; free energy
in the benchmark's units) into ``--out`` and prints the wall time and a few values. The
default tolerance (``TOL``) gives a time-converged curve: within 0.5% of a reference run with
a 300x tighter tolerance at every time (docs/genesis.md, "PFHub benchmark 1a").

    python benchmarks/pfhub_bm1a.py --out results/
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np

from tikkun.genesis.solver import CahnHilliard, free_energy, relax
from tikkun.outputs.atomic import write_text

N = 200
A, KAPPA, M = 0.032, 0.08, 125.0
MARKS = (1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0)
#: Local error tolerance per step (RMS of phi) of the default run: the loosest whose curve is as
#: close to a converged reference as tighter ones give (docs/genesis.md has the measured table).
TOL = 3e-7
#: Stabilisation in units of A: 2 makes the explicit part vanish to first order in the bulk
#: phases and keeps the SBDF steps stable at large h (solver module docstring).
STABILIZATION = 2.0


def initial_c(n: int = N) -> np.ndarray:
    """The benchmark's c0 on nodes x, y = 0..n-1, indexed [y, x]: float64 (n, n)."""
    x = np.arange(n, dtype=np.float64)
    y, x = np.meshgrid(x, x, indexing="ij")
    return 0.5 + 0.01 * (np.cos(0.105 * x) * np.cos(0.11 * y)
                         + (np.cos(0.13 * x) * np.cos(0.087 * y)) ** 2
                         + np.cos(0.025 * x - 0.15 * y) * np.cos(0.07 * x - 0.02 * y))


#: Interfacial energy of a flat interface of the double well, ``(4/3) sqrt(kappa A / 2)`` (the
#: integral of ``sqrt(2 kappa f(phi))`` from -1 to 1): the sharp-interface energy of the final
#: state is ``sigma`` times the length of its interface.
SIGMA = (4.0 / 3.0) * np.sqrt(KAPPA * A / 2.0)


def final_domain(phi: np.ndarray) -> dict:
    """The single domain of a coarsened field ``phi`` (n, n) in a matrix of the other phase.

    The matrix is the phase that holds a whole row or column of the periodic box (a round
    domain narrower than the box leaves such a line to the phase around it). Returns the
    domain's ``phase`` (``"phi > 0"`` or ``"phi < 0"``), whether it is the ``majority`` (by
    area), its ``area`` (share of the box, cells on its side of ``phi = 0``), the ``radius``
    of a disc of that area and the sharp-interface energy ``2 pi radius SIGMA``."""
    phi = np.asarray(phi, dtype=np.float64)
    pos = phi > 0.0

    def spans(mask):
        return bool(mask.all(axis=0).any() or mask.all(axis=1).any())

    if spans(~pos) == spans(pos):
        raise ValueError("not one domain in a matrix: both phases (or neither) span the box")
    dom = ~pos if spans(pos) else pos
    area = float(dom.mean())
    radius = float(np.sqrt(area * phi.size / np.pi))
    return {"phase": "phi > 0" if dom is pos else "phi < 0", "majority": area > 0.5, "area": area,
            "radius": radius, "sharp_interface_energy": float(2.0 * np.pi * radius * SIGMA)}


def run(t_end: float = 100_000.0, tol: float = TOL, workers: int | None = None,
        dt_initial: float = 0.01, dt_max: float = 1_000.0, stabilization: float = STABILIZATION):
    """Integrate the benchmark to ``t_end``. Returns ``(times, F, mass0, mass_end, steps,
    rejected)`` with ``times``/``F`` float64 arrays starting at t = 0."""
    times, F, mass0, state, steps, rejected = run_state(t_end, tol, workers, dt_initial, dt_max, stabilization)
    return times, F, mass0, float(state.phi.mean()), steps, rejected


def run_state(t_end: float = 100_000.0, tol: float = TOL, workers: int | None = None,
              dt_initial: float = 0.01, dt_max: float = 1_000.0, stabilization: float = STABILIZATION):
    """As :func:`run`, with the final state (a ``SpectralState``, ``.phi`` the field) in place of
    the final mass: ``(times, F, mass0, state, steps, rejected)``."""
    ch = CahnHilliard(N, A, KAPPA, M, stabilization=stabilization, workers=workers)
    state = ch.init((initial_c() - 0.5) / 0.2)
    mass0 = float(state.phi.mean())
    times, energies = [0.0], [ch.free_energy(state, 0.0)]
    t0 = 0.0
    dt = dt_initial
    steps = rejected = 0

    def on_accept(st, t_local, h, F):
        times.append(t0 + t_local)
        energies.append(F)

    # Land exactly on the reporting times (the marks) so they need no interpolation; the
    # state relax returns carries its step history, so each call continues the same SBDF run.
    stops = [m for m in MARKS if m < t_end] + [t_end]
    for stop in stops:
        state, dt, acc, rej = relax(ch, state, stop - t0, 0.0, dt=dt, dt_min=1e-8, dt_max=dt_max,
                                    tol=tol, on_accept=on_accept)
        steps += acc
        rejected += rej
        times[-1] = stop  # t0 + duration summed in floats: snap the last one
        t0 = stop
    return np.array(times), np.array(energies), mass0, state, steps, rejected


#: The one PFHub upload of 1a whose data is published inline (usnistgov/pfhub,
#: ``_data/simulations/fipy_1a_travis/meta.yaml``: FiPy 3.1, finite volume on the same 200 x 200
#: grid, backward Euler with 2 sweeps, dt from 0.01 growing 1.1x a step up to 1, free energy
#: with FiPy's cell-centred gradient; stopped at t ~ 53 by a CI time limit). (time, F) pairs.
FIPY_UPLOAD = ((0.0, 319.09096487896744), (0.9834705943388384, 318.83057833279986),
               (10.432280700761654, 283.6148043822506), (20.81378117476748, 207.903541306264),
               (27.567792571902892, 197.39411290020013), (33.79300496867283, 188.64120084392533),
               (40.24119682471971, 178.87382145157355), (46.746063504583994, 169.26132300018622),
               (52.746625481564735, 162.25546973386005))


def compare_fipy(tol: float = TOL, workers: int | None = None):
    """Our F at the FiPy upload's times, measured two ways. Returns rows
    ``(t, F_fipy, F_spectral, F_central)``; the run stops exactly at each of those times.
    ``F_central`` takes the gradient by central differences over two cells, as FiPy's
    ``c.grad`` does, so it is the like-for-like figure."""
    ch = CahnHilliard(N, A, KAPPA, M, stabilization=STABILIZATION, workers=workers)
    state = ch.init((initial_c() - 0.5) / 0.2)
    rows, t0, dt = [], 0.0, 0.01
    for t, f_fipy in FIPY_UPLOAD:
        if t > t0:
            state, dt, _, _ = relax(ch, state, t - t0, 0.0, dt=dt, dt_min=1e-8, dt_max=1_000.0, tol=tol)
            t0 = t
        rows.append((t, f_fipy, ch.free_energy(state, 0.0), free_energy(state.phi, A, KAPPA, 0.0, gradient="central")))
    return rows


def level_off_time(times: np.ndarray, F: np.ndarray, rel: float = 0.01) -> float:
    """First time after which F stays within ``rel`` of its final value."""
    above = np.nonzero(F > F[-1] * (1.0 + rel))[0]
    return float(times[above[-1] + 1]) if above.size else float(times[0])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=".", help="folder for free_energy_1a.csv (default: current)")
    ap.add_argument("--t-end", type=float, default=100_000.0, help="final time (default 100000)")
    ap.add_argument("--tol", type=float, default=TOL, help=f"local error tolerance per step (RMS phi, default {TOL:g})")
    ap.add_argument("--workers", type=int, default=None, help="FFT threads (default: 1 for this grid size)")
    ap.add_argument("--compare-fipy", action="store_true",
                    help="only compare with the FiPy upload at its times (t <= 53) and exit")
    args = ap.parse_args(argv)

    if args.compare_fipy:
        print("t        FiPy upload   ours, spectral grad      ours, central grad (as FiPy)")
        for t, ff, fs, fc in compare_fipy(args.tol, args.workers):
            print(f"{t:8.3f} {ff:10.3f}   {fs:10.3f} ({100 * (ff / fs - 1):+6.2f}%)"
                  f"   {fc:10.3f} ({100 * (ff / fc - 1):+6.2f}%)")
        return

    start = time.perf_counter()
    times, F, m0, state, steps, rej = run_state(args.t_end, args.tol, args.workers)
    wall = time.perf_counter() - start
    m1 = float(state.phi.mean())

    buf = io.StringIO()
    buf.write("time,free_energy\n")
    for t, f in zip(times, F):
        buf.write(f"{t:.10g},{f:.12g}\n")
    target = Path(args.out) / "free_energy_1a.csv"
    write_text(target, buf.getvalue())

    print(f"PFHub 1a to t = {args.t_end:g}: {steps} steps ({rej} rejected), wall time {wall:.1f} s")
    for m in MARKS:
        if m <= args.t_end:
            print(f"  F({m:g}) = {np.interp(m, times, F):.4f}")
    print(f"  F(0) = {F[0]:.4f}; levels off (within 1% of final) at t = {level_off_time(times, F):.0f}")
    print(f"  mass drift {m1 - m0:.2e}; free energy increases: {int(np.sum(np.diff(F) > 1e-12 * F[:-1]))}")
    try:
        d = final_domain(state.phi)
        print(f"  final state: one domain of {d['phase']} ({'majority' if d['majority'] else 'minority'} phase), "
              f"area {100 * d['area']:.1f}% of the box, radius {d['radius']:.1f}; sharp-interface energy "
              f"2 pi R sigma = {d['sharp_interface_energy']:.2f} (sigma = {SIGMA:.5f}), "
              f"F {100 * (F[-1] / d['sharp_interface_energy'] - 1):+.2f}% from it")
    except ValueError as exc:
        print(f"  final state: {exc}")
    print(f"  wrote {target}")


if __name__ == "__main__":
    main()
