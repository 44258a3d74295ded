"""One run of a sweep, as one Dask task: rebuild the scenario, run it (or resume it), file it.

A sweep folder ``DIR`` holds::

    sweep.toml                    the sweep these runs belong to
    sweep.parquet                 one row per finished run (tables.py)
    sweep-metrics.parquet/        every run's yearly metrics, one file per run (tables.py)
    runs/<run-id>/                a finished run: the same files as `tikkun run`
    partial/<run-id>/             a run under way or cut short, with its last checkpoint

A run is written in ``partial/<run-id>/`` with a checkpoint every so many years and moved
to ``runs/<run-id>/`` (one rename) once finished, so ``runs/`` holds finished runs only. A task
whose worker dies is given by Dask's scheduler to another worker; it finds the checkpoint and
resumes from it (:func:`tikkun.api.resume`: the same bits as a run never cut). A lock file per
run keeps two tasks of one run (a sweep started again while the tasks of the first still run
on a cluster) from working in one folder at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..outputs import run_folder as rf
from ..outputs.atomic import remove_leftovers
from ..outputs.provenance import code_digest
from ..scenario import Scenario, ScenarioError, scenario_to_toml
from .spec import Base, resolve_run
from .tables import final_row, read_run_metrics, write_metrics_part

RUNS = "runs"
PARTIAL = "partial"
EVENT_TOPIC = "tikkun-sweep"
WARM_SOULS = 64  # souls of the warm-up run: every kernel compiles, in well under a second once cached

try:  # a lock per run; on systems without fcntl, tasks rely on Dask alone
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None


@dataclass(frozen=True)
class RunTask:
    """What a worker needs to make one run: a few kilobytes, whatever the run's size.

    ``scenario_digest``: sha256 of the resolved scenario's TOML as the client resolved it; a
    worker that resolves it otherwise refuses the run. ``tikkun_version``: the client's; a worker
    with another refuses the run (one that joined after the sweep's check of the workers).
    ``code_digest``: the client's :func:`code_digest`; a worker whose code differs under the
    same version (an edited checkout) refuses the run, whose bits could differ.
    """

    run_id: str
    base: Base
    overrides: tuple[tuple[str, Any], ...]
    seed: int
    years: int | None
    checkpoint_every: int
    folder: str
    scenario_digest: str
    tikkun_version: str
    code_digest: str


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def finished_run(folder: Path, scenario_text: str) -> dict | None:
    """The summary of the run in ``folder`` if it is finished (scenario.toml, metrics.parquet,
    souls.parquet and a readable summary.json) and its scenario is exactly ``scenario_text``;
    else None."""
    try:
        if (folder / "scenario.toml").read_text("utf-8") != scenario_text:
            return None
        summary = json.loads((folder / "summary.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or not {"end_year", "stop_reason", "years_run", "wall_seconds"} <= summary.keys():
        return None
    if not ((folder / "metrics.parquet").is_file() and (folder / "souls.parquet").is_file()):
        return None
    return summary


def done_record(run_id: str, folder: Path, summary: dict, *, reused: bool, resumed_from: int | None,
                metrics=None) -> dict:
    """The result of a finished run as the sweep's table wants it (``metrics``: its
    metrics.parquet as an Arrow table, if already read)."""
    if metrics is None:
        metrics = read_run_metrics(folder)
    return {"run_id": run_id, "status": "done", "error": None, "reused": reused, "resumed_from": resumed_from,
            "summary": summary, "final": final_row(metrics)}


def failed_record(run_id: str, error: str) -> dict:
    return {"run_id": run_id, "status": "failed", "error": error, "reused": False, "resumed_from": None,
            "summary": None, "final": None}


class WorkerRefused(RuntimeError):
    """A worker that imports another tikkun than the client's refuses a run (it would make a run
    of another model): raised to the client, which gives the run to another worker.
    ``worker``: the worker's address (its host name outside a Dask worker)."""

    def __init__(self, message: str, worker: str):
        super().__init__(message)
        self.worker = worker

    def __reduce__(self):  # across the wire with its worker
        return type(self), (str(self), self.worker)


def _this_worker() -> str:
    """The Dask worker's address, which the client and the scheduler know it by; else the host."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):  # not in a worker (a run executed by hand)
        return socket.gethostname()


def execute(task: RunTask) -> dict:
    """Run one run of a sweep (on a Dask worker) and return its record; a run that fails by
    itself returns a failed record with the message instead of raising, so the sweep goes on.
    A worker with other code raises :class:`WorkerRefused` (the run is not its to fail)."""
    try:
        return _execute(task)
    except WorkerRefused:
        raise
    except ScenarioError as exc:
        return failed_record(task.run_id, str(exc))
    except Exception as exc:  # the run's own failure: recorded, the sweep goes on
        return failed_record(task.run_id, f"{type(exc).__name__}: {exc}")


def _execute(task: RunTask) -> dict:
    from .. import api

    worker = _this_worker()
    if task.tikkun_version != __version__:
        raise WorkerRefused(f"worker {worker} has tikkun {__version__}, the client {task.tikkun_version}; install the "
                            "same tikkun on the client and the workers", worker)
    if task.code_digest != code_digest():
        raise WorkerRefused(f"worker {worker} (tikkun {__version__}) runs other code than the client under the same "
                            "version (an edited or other checkout); install the same tikkun on the client and the "
                            "workers", worker)
    scenario = resolve_run(task.base, task.overrides, task.seed, task.years)
    text = scenario_to_toml(scenario)
    if digest(text) != task.scenario_digest:
        raise WorkerRefused(f"worker {worker} (tikkun {__version__}) resolves the run's scenario otherwise than the "
                            "client did; install the same tikkun on the client and the workers", worker)
    root = Path(task.folder)
    final = root / RUNS / task.run_id
    partial = root / PARTIAL / task.run_id
    summary = finished_run(final, text)
    if summary is not None:  # finished by an earlier task of this run
        return done_record(task.run_id, final, summary, reused=True, resumed_from=None)
    with _locked(root / PARTIAL / f"{task.run_id}.lock"):
        summary = finished_run(final, text)
        if summary is not None:  # finished by the task that held the lock
            return done_record(task.run_id, final, summary, reused=True, resumed_from=None)
        resumed_from = None
        moved = finished_run(partial, text)
        if moved is not None and moved.get("tikkun_code") != code_digest():
            moved = None  # finished by other code, not yet moved: the sweep's own scratch, made again
        if moved is None:  # else: finished, not yet moved
            warm(scenario)
            year = _resumable_year(partial, text)
            if year is not None:
                resumed_from = year
                api.resume(partial)
            else:
                if partial.exists():
                    shutil.rmtree(partial)  # a start with no usable checkpoint: the sweep's own scratch
                api.run(scenario, out=partial, checkpoint_every=task.checkpoint_every)
        summary = finished_run(partial, text)
        if summary is None:
            raise RuntimeError(f"{partial}: the run ended without its files")
        metrics = read_run_metrics(partial)
        write_metrics_part(root, task.run_id, metrics, scenario_text=text, seed=task.seed)
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(partial)  # a killed worker's half-written files, from before the resume
        os.rename(partial, final)
    return done_record(task.run_id, final, summary, reused=False, resumed_from=resumed_from, metrics=metrics)


def _resumable_year(partial: Path, scenario_text: str) -> int | None:
    """The year of the checkpoint in ``partial`` if this tikkun can resume it for this scenario."""
    meta = rf.checkpoint_meta(partial)
    if meta is None or meta.get("format") != rf.CHECKPOINT_FORMAT or meta.get("tikkun_version") != __version__:
        return None
    if meta.get("tikkun_code") != code_digest():  # other code under the same version: start afresh
        return None
    if meta.get("scenario") != scenario_text:
        return None
    if rf.scenario_file_differs(partial, scenario_text):  # edited in the sweep's scratch: a resume would refuse it
        return None
    return int(meta["scalars"]["year"])


@contextlib.contextmanager
def _locked(path: Path):
    """Hold an exclusive lock on ``path`` (waits while another process holds it; released by the
    system if the holder dies). The file says which process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{socket.gethostname()} {os.getpid()}\n")
            fh.flush()
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# ---------------------------------------------------------------- warm-up
_WARM = False


def warm(scenario: Scenario) -> None:
    """Once per worker process: a small run of ``scenario`` (its years, events and rules, a
    few souls) so that Numba compiles or loads every kernel before the first run's clock
    starts. Where the kernels are not in Numba's cache yet, the worker tells the client (a Dask
    event) while it compiles them, so that the progress line can say so (loading them from the
    cache takes seconds, and is not called compiling)."""
    global _WARM
    if _WARM:
        _event()  # a later sweep on this worker still learns the Numba threads it started with
        return
    from .. import api
    from ..engine.year_kernel import year_pass
    from ..native.kernel_cache import cached

    _event(compiling=cached(year_pass) is not True)
    try:
        small = api.resolve_scenario(scenario, souls=min(scenario.souls.count, WARM_SOULS))
    except ScenarioError:
        small = scenario  # too few souls for its events: the run itself compiles
    try:
        if small is not scenario:
            api.run(small)
    finally:
        _WARM = True
        _event(compiling=False)


def _event(**msg) -> None:
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not inside a Dask worker
        return
    # the NUMBA_NUM_THREADS the worker started with (Numba read it at import); 0: not set, so
    # Numba takes every core
    threads = os.environ.get("NUMBA_NUM_THREADS", "")
    worker.log_event(EVENT_TOPIC, {**msg, "worker": worker.address,
                                   "numba_threads": int(threads) if threads.isdigit() else 0})
