"""One entry point to run a scenario (Diffrax's ``diffeqsolve``): the clock loop.

:func:`simulate` steps year by year until the end of correction (``G = 1``, unless the
scenario says to go on) or the horizon, hands each year's row to a :class:`Recorder`, hands
the state at the end of each year a :class:`SaveAt` names to a keeper, calls a progress
callback, and lets a checkpoint callback save the state every so many years.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..records import Recorder, SaveAt
from ..scenario.schema import Scenario
from ..state import State
from .core import StopReason, build


@dataclass(frozen=True)
class Simulation:
    """The outcome of :func:`simulate`.

    state: the final :class:`State`; metrics: column name -> array ``(years_run,)``;
    stop_reason: :class:`StopReason`; end_year: the year in which ``G`` reached 1, or None;
    wall_seconds: time spent stepping in this process (a resumed run counts only its part).
    """

    state: State
    metrics: dict
    stop_reason: StopReason
    end_year: int | None
    wall_seconds: float
    schedule: dict


def simulate(
    scenario: Scenario,
    *,
    state: State | None = None,
    recorder: Recorder | None = None,
    progress: Callable[[State, dict], None] | None = None,
    checkpoint: Callable[[State, Recorder], None] | None = None,
    checkpoint_every: int | None = None,
    unity_fn: Callable | None = None,
    world_unity: float | None = None,
    graph=None,
    saveat: SaveAt | None = None,
    keep_souls: Callable[[State, Recorder, dict], None] | None = None,
) -> Simulation:
    """Run ``scenario`` from year 0, or from ``state`` with its ``recorder`` (a resume).

    ``unity_fn`` and ``world_unity``: the sparks' unity and the worlds' start from genesis;
    ``graph``: whom each soul listens to, where ``network.kind = "given"``. At the end of each
    year of ``saveat.souls``, ``keep_souls(state, recorder, schedule)`` is called (after the
    year's row is recorded and before the progress callback; it may read the state, not change it).
    """
    init_fn, step_fn = build(scenario, unity_fn=unity_fn, world_unity=world_unity, graph=graph)
    if state is None:
        state = init_fn()
        recorder = Recorder(scenario.run.years)
    elif recorder is None:
        raise ValueError("a resumed state needs the recorder of its metrics")
    years = scenario.run.years
    souls_years = frozenset(saveat.souls) if saveat is not None and keep_souls is not None else frozenset()
    end_year = _end_year(recorder)
    t0 = time.perf_counter()
    stop = StopReason.HORIZON
    if end_year is not None and scenario.run.stop_at_end:
        stop = StopReason.END_OF_CORRECTION
    while state.year < years and not (stop is StopReason.END_OF_CORRECTION):
        state, row = step_fn(state)
        recorder.record(row)
        if row["year"] in souls_years:
            keep_souls(state, recorder, step_fn.schedule)
        if end_year is None and row["weakest_link"] >= 1.0:
            end_year = row["year"]
            if scenario.run.stop_at_end:
                stop = StopReason.END_OF_CORRECTION
        if progress is not None:
            progress(state.read_only(), row)  # it may read the state; a write fails, never changes the run
        if checkpoint is not None and checkpoint_every and state.year % checkpoint_every == 0 \
                and state.year < years and stop is not StopReason.END_OF_CORRECTION:
            checkpoint(state, recorder)
    return Simulation(state, recorder.table(), stop, end_year, time.perf_counter() - t0, step_fn.schedule)


def _end_year(recorder: Recorder) -> int | None:
    table = recorder.table()
    hits = (table["weakest_link"] >= 1.0).nonzero()[0]
    return int(table["year"][hits[0]]) if hits.size else None
