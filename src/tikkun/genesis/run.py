"""The genesis script: run the stages on the vessel, record the measures, break it.

Seed 000, second essay: "Prior to the breaking there were two incompatible qualities that
did not overlap" (separate); "they came closer to one another ... a common boundary"
(approach); "we can mix liquids together by way of vibration, or cause metals to merge
together by way of fusion ... this is not true unification" (stir, fuse); "under the
influence of the most powerful Light ... they receive a blow and break. That is when their
qualities “melt” and a new, mutual quality is born" (strike); "This unity is possible
only when the Upper Light maintains it and does not let it disappear" (maintain, and in
revision 2 the breaking itself: the light withdraws and the unity it held decays, withdraw;
the sparks are then cut from the vessel, shatter; MODEL.md, "the breaking is the light
leaving").

Every random draw comes from :mod:`tikkun.random`, so a run is a pure function of
``(config, seed)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Callable

import numpy as np

from tikkun import random as trandom
from tikkun.scenario.genesis import GenesisConfig, Stage
from tikkun.genesis.measures import mass, mixing, unity
from tikkun.genesis.solver import CahnHilliard, Shear, SpectralState, relax

__all__ = ["GenesisResult", "run_genesis", "shatter_unity", "spark_positions", "RECORD_COLUMNS"]

#: Columns of ``GenesisResult.records`` (and of genesis.parquet), in order.
RECORD_COLUMNS = ("time", "stage", "light", "free_energy", "unity", "mixing", "mass")

Progress = Callable[[float, float, str], None]


@dataclass(frozen=True)
class GenesisResult:
    """What the genesis leaves behind.

    - ``records``: column name -> 1-D array, one row per recorded step: ``time``, ``light``,
      ``free_energy``, ``unity``, ``mixing``, ``mass`` float64 and ``stage`` str;
    - ``field``: final ``phi`` (n, n) float64, indexed ``[y, x]``;
    - ``stage_fields``: ``(stage kind, phi copy)`` at the end of every stage, in order;
    - ``final_unity``: ``1 - mean(phi^2)`` of the final field (the worlds start there);
    - ``n_steps`` / ``n_rejected``: accepted and rejected solver steps.
    """

    records: dict[str, np.ndarray]
    field: np.ndarray
    stage_fields: list[tuple[str, np.ndarray]]
    final_unity: float
    n_steps: int = 0
    n_rejected: int = 0
    seed: int = 0
    config: GenesisConfig | None = dc_field(default=None, compare=False)


def _separated(n: int) -> np.ndarray:
    # "two incompatible qualities that did not overlap": reception left, bestowal right.
    phi = np.ones((n, n), dtype=np.float64)
    phi[:, : n // 2] = -1.0
    return phi


def _noise(n: int, amplitude: float, seed: int, stage_index: int) -> np.ndarray:
    """Uniform noise in [-amplitude, amplitude) with its mean removed (mass kept exactly):
    PURPOSE_GENESIS_NOISE, year = stage index, entity = cell index y * n + x."""
    u = trandom.uniforms(seed, stage_index, np.arange(n * n, dtype=np.int64), trandom.PURPOSE_GENESIS_NOISE)
    noise = amplitude * (2.0 * u.reshape(n, n) - 1.0)
    return noise - noise.mean()


def _stir_flows(stage: Stage, seed: int, stage_index: int) -> list[tuple[Shear, float]]:
    """The random sine flow of a stir stage: alternating x / y shears, each lasting
    ``stir_period`` (the last one cut at the stage's end), random phases from
    PURPOSE_GENESIS_STIR with year = shear index and entity = stage index."""
    if stage.duration <= 0.0:
        return []
    count = int(np.ceil(stage.duration / stage.stir_period - 1e-12))
    ent = np.array([stage_index], dtype=np.int64)
    flows = []
    for j in range(count):
        phase = 2.0 * np.pi * float(trandom.uniforms(seed, j, ent, trandom.PURPOSE_GENESIS_STIR)[0])
        length = min(stage.stir_period, stage.duration - j * stage.stir_period)
        flows.append((Shear(axis=j % 2, amplitude=stage.stir_amplitude, phase=phase), length))
    return flows


def run_genesis(config: GenesisConfig, seed: int, progress: Progress | None = None, *,
                workers: int | None = None) -> GenesisResult:
    """Run the genesis script of ``config`` with ``seed``.

    ``progress(t_done, t_total, stage_kind)`` (optional) is called at every record, with
    simulated times. ``workers``: FFT threads (default: 1 below a 512 grid, else all).
    """
    n = config.n
    ch = CahnHilliard(n, config.A, config.kappa, config.M, stabilization=config.stabilization, workers=workers)
    total = float(sum(st.duration for st in config.stages))
    rows: dict[str, list] = {c: [] for c in RECORD_COLUMNS}
    stage_fields: list[tuple[str, np.ndarray]] = []
    state: SpectralState | None = None
    t_global = 0.0
    n_steps = n_rej = 0

    def record(st: SpectralState, t: float, kind: str, lam: float, F: float | None = None) -> None:
        rows["time"].append(t)
        rows["stage"].append(kind)
        rows["light"].append(lam)
        rows["free_energy"].append(ch.free_energy(st, lam) if F is None else F)
        rows["unity"].append(unity(st.phi))
        rows["mixing"].append(mixing(st.phi, config.block))
        rows["mass"].append(mass(st.phi))
        if progress is not None:
            progress(t, total, kind)

    for i, stage in enumerate(config.stages):
        kind, lam = stage.kind, stage.light
        if kind == "separate":
            state = ch.init(_separated(n))
            record(state, t_global, kind, lam)
        elif kind == "shatter":
            # The breaking itself draws the sparks (shatter_unity); here it marks the end.
            record(state, t_global, kind, lam)
        else:
            if kind == "fuse":
                # Fusion: the vessel melts to its mean composition plus small noise.
                m = mass(state.phi) if state is not None else 0.0
                state = ch.init(m + _noise(n, stage.noise, seed, i))
            elif kind in ("maintain", "withdraw") and stage.noise > 0.0:
                # The same small kick for both: held by the light it heals ("only when the
                # Upper Light maintains it"); without the light it grows. Without a kick a
                # perfectly melted vessel would sit on its unstable equilibrium until
                # round-off happened to break it.
                state = ch.init(state.phi + _noise(n, stage.noise, seed, i))
            record(state, t_global, kind, lam)
            counter = [0]
            t0 = t_global

            def on_accept(st, t_local, h, F, _kind=kind, _lam=lam, _t0=t0, _counter=counter):
                _counter[0] += 1
                if _counter[0] % config.record_every == 0:
                    record(st, _t0 + t_local, _kind, _lam, F)

            segments = _stir_flows(stage, seed, i) if kind == "stir" else [(None, stage.duration)]
            dt = config.dt_initial
            t_stage = 0.0
            for flow, length in segments:
                if length <= 0.0:
                    continue
                t_seg0 = t_stage

                def seg_accept(st, t_local, h, F, _t=t_seg0):
                    on_accept(st, _t + t_local, h, F)

                state, dt, acc, rej = relax(ch, state, length, lam, dt=dt, dt_min=config.dt_min,
                                            dt_max=config.dt_max, tol=config.tolerance, flow=flow,
                                            on_accept=seg_accept)
                n_steps += acc
                n_rej += rej
                t_stage += length
            t_global = t0 + stage.duration
            if counter[0] % config.record_every != 0 or counter[0] == 0:
                record(state, t_global, kind, lam)
        stage_fields.append((kind, state.phi.copy()))

    records = {
        c: (np.array(v, dtype=str) if c == "stage" else np.array(v, dtype=np.float64))
        for c, v in rows.items()
    }
    final = state.phi.copy()
    return GenesisResult(records=records, field=final, stage_fields=stage_fields,
                         final_unity=unity(final), n_steps=n_steps, n_rejected=n_rej,
                         seed=int(seed), config=config)


def spark_positions(n: int, spark_entities: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell ``(x, y)`` of every spark, uniform on the ``n x n`` grid: int64 (m,), (m,).

    Drawn from PURPOSE_SPARK_POSITION with year 0, ``k = 0`` for x and ``k = 1`` for y.
    """
    ent = np.ascontiguousarray(spark_entities, dtype=np.int64)
    ux = trandom.uniforms(seed, 0, ent, trandom.PURPOSE_SPARK_POSITION, 0)
    uy = trandom.uniforms(seed, 0, ent, trandom.PURPOSE_SPARK_POSITION, 1)
    # u < 1, but u * n can round up to n for some n: clip to the last cell.
    x = np.minimum((ux * n).astype(np.int64), n - 1)
    y = np.minimum((uy * n).astype(np.int64), n - 1)
    return x, y


def shatter_unity(field: np.ndarray, spark_entities: np.ndarray, seed: int) -> np.ndarray:
    """The breaking (seed 000: "they receive a blow and break"): the unity each spark keeps.

    ``field``: final ``phi`` (n, n) indexed ``[y, x]``; ``spark_entities``: int64 (m,) one id
    per spark. Each spark lands on a uniform grid cell (:func:`spark_positions`) and keeps
    ``1 - phi^2`` there: float32 (m,), clipped to [0, 1].
    """
    phi = np.asarray(field, dtype=np.float64)
    if phi.ndim != 2 or phi.shape[0] != phi.shape[1]:
        raise ValueError(f"field must be square (n, n), got {phi.shape}")
    x, y = spark_positions(phi.shape[0], spark_entities, seed)
    v = phi[y, x]
    return np.clip(1.0 - v * v, 0.0, 1.0).astype(np.float32)
