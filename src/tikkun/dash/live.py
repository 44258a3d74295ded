"""A run that goes on in a worker thread while a page watches it.

The page never steps the engine itself: a :class:`LiveRun` owns one scenario's state and
steps it (:func:`tikkun.engine.build`'s ``step_fn``) in its own thread, and the page takes the
new yearly rows (:meth:`LiveRun.take_rows`) and the latest picture of the souls
(:meth:`LiveRun.snapshot`) from its own event loop, several times a second. Nothing here
imports the web framework, so the same object can be driven and tested without a browser.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tikkun import api
from tikkun.engine import StopReason, build
from tikkun.outputs import run_folder as rf
from tikkun.outputs.provenance import parquet_metadata, provenance
from tikkun.records import METRIC_COLUMNS, SOUL_COLUMNS, Recorder
from tikkun.rules.stages import STAGES, stages
from tikkun.scenario import Scenario, scenario_to_toml

log = logging.getLogger(__name__)

# One engine step at a time across every session of the server: Numba's workqueue threading
# layer aborts the process when two threads enter its parallel kernels at once, and with TBB or
# OpenMP two sessions would only share the same cores anyway.
KERNEL_LOCK = threading.Lock()

SNAPSHOT_EVERY = 0.25  # seconds between pictures of the souls while running
RATE_WINDOW = 3.0  # seconds of running over which the years a second are measured


class Phase(enum.Enum):
    """Where a live run is."""

    PREPARING = "preparing"   # the genesis, the souls of year 0
    PAUSED = "paused"
    RUNNING = "running"
    FINISHED = "finished"     # the end of correction or the horizon
    FAILED = "failed"
    CLOSED = "closed"


@dataclass(frozen=True)
class Snapshot:
    """The souls at the end of ``year`` (a picture for the page, not the state).

    counts: int64 ``(bins,)`` souls per bin of cleansing over ``edges`` float64 ``(bins + 1,)``
    on [0, 1]; ``hbd``, ``cleansing`` float64 ``(m,)`` and ``stage`` str ``(m,)``: a sample of
    ``m`` souls at evenly spaced indices (the souls are drawn independently, so any fixed set of
    indices is a fair sample, and the same souls are followed through the run).
    """

    year: int
    edges: np.ndarray
    counts: np.ndarray
    hbd: np.ndarray
    cleansing: np.ndarray
    stage: np.ndarray


def sample_indices(n_souls: int, m: int) -> np.ndarray:
    """int64 ``(min(m, n_souls),)``: evenly spaced soul indices from 0 to ``n_souls - 1``."""
    m = min(m, n_souls)
    return np.unique(np.linspace(0, n_souls - 1, m).round().astype(np.int64))


def picture(state, degrees: int, sample: np.ndarray, bins: int = 40) -> Snapshot:
    """A :class:`Snapshot` of ``state`` (read only)."""
    c = state.cleansing.astype(np.float64)
    counts, edges = np.histogram(c, bins=bins, range=(0.0, 1.0))
    cs = c[sample]
    return Snapshot(int(state.year), edges, counts.astype(np.int64), state.hbd[sample].astype(np.float64), cs,
                    stages(cs, state.complete[sample], degrees))


class LiveRun:
    """One scenario stepped year by year in a worker thread, under the page's commands.

    ``vessel``: a :class:`tikkun.genesis.GenesisResult` already computed for this scenario's
    genesis and seed (else the thread runs the genesis first and hands it to ``on_vessel``).
    ``years_per_second``: at most this many years a second (None: as fast as the engine runs);
    ``pause_after``: pause by itself once this year is computed (None: never); once, so that
    :meth:`run` after that pause goes on (to the end, or to a later ``pause_after`` set since).
    Commands (:meth:`run`, :meth:`pause`, :meth:`step`, :meth:`close`) return at once; the
    thread starts with the first of them.
    """

    def __init__(self, scenario: Scenario, *, vessel=None, on_vessel: Callable | None = None,
                 years_per_second: float | None = None, pause_after: int | None = None, sample: int = 1500):
        self.scenario = scenario
        self.vessel = vessel
        self.genesis_seconds: float | None = None  # where this run made its vessel (not one handed to it)
        self._on_vessel = on_vessel
        self.years_per_second = years_per_second
        self._pause_after = pause_after
        self._paused_after: int | None = None  # the pause_after this run has already paused at
        self._sample_size = sample
        self._cond = threading.Condition()
        self._state_lock = threading.Lock()  # held while the state changes or is written out
        self._running = False
        self._steps = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._rows: list[dict] = []
        self._snapshot: Snapshot | None = None
        self.phase = Phase.PREPARING
        self.message = "not started"
        self.end_year: int | None = None
        self.stop_reason: StopReason | None = None
        self.state = None
        self.recorder: Recorder | None = None
        self._step_fn = None
        self.wall_seconds = 0.0
        self._marks: collections.deque = collections.deque(maxlen=20_000)  # (time, year) of the years since a pause

    # ---------------------------------------------------------------- commands
    def run(self) -> None:
        """Go on year after year until paused, finished or closed."""
        with self._cond:
            self._running = True
            self._cond.notify_all()
        self._start()

    def pause(self) -> None:
        """Stop after the year being computed."""
        with self._cond:
            self._running = False
            self._steps = 0
            self._cond.notify_all()

    def step(self) -> None:
        """One year more, then pause."""
        with self._cond:
            self._running = False
            self._steps += 1
            self._cond.notify_all()
        self._start()

    def close(self, wait: float = 0.0) -> None:
        """End the thread (after the year being computed); ``wait`` seconds at most for it."""
        with self._cond:
            self._closed = True
            self._running = False
            self._cond.notify_all()
        if wait and self._thread is not None:
            self._thread.join(wait)

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---------------------------------------------------------------- what the page reads
    def take_rows(self) -> list[dict]:
        """The yearly metrics rows computed since the last call, oldest first."""
        with self._cond:
            rows, self._rows = self._rows, []
        return rows

    def snapshot(self) -> Snapshot | None:
        """The latest picture of the souls (None before year 0 exists)."""
        return self._snapshot

    @property
    def rate(self) -> float | None:
        """Years a second over the last :data:`RATE_WINDOW` seconds of running since the last
        pause (a pause, or the steps before a Run, are not counted as running); None before half a
        second's worth."""
        marks = list(self._marks)
        if len(marks) < 2:
            return None
        t_end = marks[-1][0]
        marks = [m for m in marks if m[0] >= t_end - RATE_WINDOW]
        if len(marks) < 2 or t_end - marks[0][0] < 0.5:
            return None
        return (marks[-1][1] - marks[0][1]) / (t_end - marks[0][0])

    @property
    def pause_after(self) -> int | None:
        """Pause by itself once this year is computed (None: never). Setting it (even to the
        same year) arms it again: a year already passed pauses the run after its next year."""
        return self._pause_after

    @pause_after.setter
    def pause_after(self, year: int | None) -> None:
        self._pause_after, self._paused_after = year, None

    @property
    def pending_pause(self) -> int | None:
        """The year after which the run will pause by itself (None: it will not): ``pause_after``
        unless the run has already paused there."""
        pa = self._pause_after
        return None if pa is None or pa == self._paused_after else pa

    @property
    def year(self) -> int:
        """Years run so far."""
        st = self.state
        return int(st.year) if st is not None else 0

    # ---------------------------------------------------------------- the thread
    def _start(self) -> None:
        with self._cond:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._main, name="tikkun-live-run", daemon=True)
        self._thread.start()

    def _set(self, phase: Phase, message: str) -> None:
        self.phase, self.message = phase, message

    def _main(self) -> None:
        try:
            self._prepare()
            self._loop()
        except Exception as exc:  # shown on the page as one line; the traceback goes to the log
            log.exception("live run failed")
            self._set(Phase.FAILED, f"{type(exc).__name__}: {exc}")
        if self._closed and self.phase is not Phase.FAILED:
            self._set(Phase.CLOSED, "closed")

    def _prepare(self) -> None:
        sc = self.scenario
        if sc.genesis is not None and self.vessel is None:
            self._set(Phase.PREPARING, f"the genesis: a {sc.genesis.n} x {sc.genesis.n} vessel through "
                                       f"{len(sc.genesis.stages)} stages")
            t0 = time.perf_counter()
            self.vessel = api.genesis(sc)
            self.genesis_seconds = round(time.perf_counter() - t0, 3)
            if self._on_vessel is not None:
                self._on_vessel(self.vessel)
        if self._closed:
            return
        unity_fn, world_unity = api.vessel_inputs(sc, vessel=self.vessel)
        self._set(Phase.PREPARING, f"the souls of year 0: {sc.souls.count:,} souls")
        init_fn, self._step_fn = build(sc, unity_fn=unity_fn, world_unity=world_unity)
        t0 = time.perf_counter()
        with self._state_lock:
            self.state = init_fn()
            self.recorder = Recorder(sc.run.years)
        self.wall_seconds += time.perf_counter() - t0  # the population, as tikkun run counts it
        self._sample = sample_indices(self.state.n_souls, self._sample_size)
        self._snapshot = picture(self.state, sc.sparks.degrees, self._sample)

    def _finished(self) -> StopReason | None:
        if self.end_year is not None and self.scenario.run.stop_at_end:
            return StopReason.END_OF_CORRECTION
        if self.year >= self.scenario.run.years:
            return StopReason.HORIZON
        return None

    def _loop(self) -> None:
        sc = self.scenario
        first = True
        last_picture = time.perf_counter()
        next_due = time.perf_counter()
        while True:
            with self._cond:
                if not self._closed and not (self._running or self._steps):
                    self._set(Phase.PAUSED, f"paused after year {self.year - 1:,}" if self.year else "paused before year 0")
                while not self._closed and not (self._running or self._steps):
                    self._cond.wait()
                    next_due = time.perf_counter()
                    self._marks.clear()  # the years a second are of running, not of the pause
                if self._closed:
                    return
                one = not self._running
                if one:
                    self._steps -= 1
            self._set(Phase.RUNNING, "the first year: compiling the engine's kernels if this is the first run "
                                     "since tikkun was installed or changed (a few minutes)" if first else "running")
            t0 = time.perf_counter()
            with self._state_lock:
                with KERNEL_LOCK:
                    self.state, row = self._step_fn(self.state)
                self.recorder.record(row)
            self.wall_seconds += time.perf_counter() - t0
            first = False
            if self.end_year is None and row["weakest_link"] >= 1.0:
                self.end_year = int(row["year"])
            with self._cond:
                self._rows.append(row)
            self._marks.append((time.perf_counter(), self.year))
            stop = self._finished()
            pa = self.pending_pause
            pause_here = pa is not None and int(row["year"]) >= pa
            if pause_here:
                self._paused_after = pa  # Run after this pause goes on
            if pause_here and stop is None:
                with self._cond:  # as if Pause were pressed after this year
                    self._running = False
                    self._steps = 0
            now = time.perf_counter()
            if stop is not None or one or pause_here or now - last_picture >= SNAPSHOT_EVERY:
                self._snapshot = picture(self.state, sc.sparks.degrees, self._sample)
                last_picture = now
            if stop is not None:
                self.stop_reason = stop
                with self._cond:
                    self._running = False
                    self._steps = 0
                self._set(Phase.FINISHED, f"after year {self.year - 1:,}: {stop.message}")
                return
            yps = self.years_per_second
            if yps and not one and not pause_here:
                next_due += 1.0 / yps
                delay = next_due - time.perf_counter()
                if delay > 0:
                    with self._cond:
                        self._cond.wait_for(lambda: self._closed or not self._running, timeout=delay)
                else:
                    next_due = time.perf_counter()  # behind: no burst to catch up

    # ---------------------------------------------------------------- the run folder
    def summary(self) -> dict:
        """summary.json of the run so far (the keys of ``tikkun run``'s)."""
        st = self.state
        stop = self.stop_reason
        s = {
            "end_year": self.end_year,
            "years_run": int(st.year),
            "stop_reason": stop.value if stop is not None else "paused",
            "stop_message": stop.message if stop is not None else _paused_message(int(st.year), self.scenario.run.years),
            "seed": self.scenario.run.seed,
            "souls": st.n_souls,
            "sparks": st.n_sparks,
            "complete": int(st.complete.sum()),
            "weakest_link": float(st.weakest_link),
            "cleansing_mean": float(st.cleansing_mean),
            "wall_seconds": round(self.wall_seconds, 3),
            **provenance(),  # tikkun_version, tikkun_code, model_revision
            "sparks_unity_mean": float(st.unity.astype(np.float64).mean()) if st.n_sparks else None,
            "events_not_reached": api.events_not_reached(self.scenario, int(st.year)),
        }
        if self.vessel is not None:
            s["genesis"] = {"final_unity": float(self.vessel.records["unity"][-1]),
                            "final_mixing": float(self.vessel.records["mixing"][-1])}
            if self.genesis_seconds is not None:
                s["genesis"]["seconds"] = self.genesis_seconds
        return s

    def write_folder(self, folder: Path) -> list[Path]:
        """Write the run so far as a run folder (scenario.toml, metrics.parquet, souls.parquet,
        summary.json, and the genesis' files when there is one) into the empty ``folder``.
        The state does not move while it is written. Returns the files written."""
        folder = api.prepare_folder(folder)
        with self._state_lock:
            if self.state is None:
                raise RuntimeError("the run has no year 0 yet")
            api.claim(folder, self.scenario)
            meta = parquet_metadata(scenario_to_toml(self.scenario), self.scenario.run.seed)
            if self.vessel is not None:
                api.write_genesis_outputs(self.vessel, folder, meta)
            metrics = self.recorder.table()
            rf.write_parquet(folder / "metrics.parquet", metrics, meta, METRIC_COLUMNS)
            rf.write_parquet(folder / "souls.parquet",
                             rf.souls_table(self.state, self.scenario, self._step_fn.schedule, metrics), meta,
                             SOUL_COLUMNS)
            rf.write_summary(folder, self.summary())
        return sorted(p for p in folder.iterdir() if p.is_file())


def _paused_message(years_run: int, horizon: int) -> str:
    """summary.json's stop message of a run paused on the page: named, as the page names it, by
    the last year computed (``years_run - 1``), with the ``--years`` that reproduces it."""
    if years_run == 0:
        return f"paused in the dashboard before year 0 (the horizon is {horizon:,} years)"
    return (f"paused in the dashboard after year {years_run - 1:,} ({years_run:,} of the horizon's {horizon:,} "
            f"years run; tikkun run scenario.toml --years {years_run} gives these years)")


__all__ = ["KERNEL_LOCK", "LiveRun", "Phase", "Snapshot", "STAGES", "picture", "sample_indices"]
