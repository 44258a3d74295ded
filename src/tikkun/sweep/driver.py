"""The sweep on Dask distributed: plan the runs, skip the finished ones, send the rest to a
cluster, file each result as it arrives.

With no scheduler address, a ``LocalCluster`` of one worker process per core, one thread
each, with Numba's threads set to the cores per worker *before* the worker imports Numba
(Dask's nanny caps the OpenMP and BLAS threads but not Numba's, dask/distributed issue 9075;
``distributed.nanny.pre-spawn-environ`` carries ``NUMBA_NUM_THREADS`` into the new process).
With an address (``scheduler=`` or ``DASK_SCHEDULER_ADDRESS``), an existing cluster; the
sweep folder must then be on a file system that the workers share.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tomllib

from .. import __version__
from ..native import environment
from ..outputs.provenance import code_digest
from ..scenario import ScenarioError, scenario_to_toml
from . import tables
from .spec import (EVENTS, RunSpec, SweepError, SweepSpec, checkpoint_every, load_sweep, plan, problems_only,
                   resolve_run, value_at)
from .task import (EVENT_TOPIC, PARTIAL, RUNS, RunTask, WorkerRefused, digest, done_record, execute,
                   failed_record, finished_run)

SPEC = "sweep.toml"
TABLE_EVERY = 1.0  # seconds between rewrites of sweep.parquet while runs finish
NO_WORKERS_WARN = 60.0  # seconds without a worker, runs left, after which the sweep says so (once)
POLL = 0.25  # seconds between looks at the cluster while no run finishes


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the finished runs are filed, the others left to a re-run."""

    def __init__(self, folder: Path, done: int, failed: int, left: int):
        super().__init__(f"{shown(folder)}: interrupted with {done} runs done, {failed} failed, {left} left")
        self.folder, self.done, self.failed, self.left = folder, done, failed, left


@dataclass(frozen=True)
class SweepProgress:
    """What the sweep is doing, handed to ``progress`` after every change.

    ``compiling``: the workers warming up (compiling or loading Numba's kernels);
    ``numba_threads``: the workers' ``NUMBA_NUM_THREADS`` as they report it (0: not set, so
    Numba takes every core);
    ``no_workers``: seconds the cluster has had no worker while runs are left (0 otherwise);
    ``last``: the row of the run that just finished, or None; ``connecting``: before the sweep
    has its cluster, what it is doing ("reaching the scheduler", "starting a local cluster"),
    else ""; ``scheduler``: the cluster's address ("" before there is one); ``workers_left``:
    how many workers the cluster had before it had none (0 if none had joined).
    """

    total: int
    done: int
    failed: int
    left: int
    workers: int
    compiling: tuple[str, ...] = ()
    numba_threads: tuple[int, ...] = ()
    dashboard: str | None = None
    last: dict | None = None
    no_workers: float = 0.0
    connecting: str = ""
    scheduler: str = ""
    workers_left: int = 0


def no_workers_message(seconds: float, address: str, workers_left: int) -> str:
    """What a sweep says once it has had no worker for ``seconds``: that none joined the
    cluster at ``address``, or that its ``workers_left`` workers left it; it waits, as workers
    may join later (a batch system's jobs still queued)."""
    what = (f"the cluster's {workers_left} worker{'s' if workers_left > 1 else ''} left it "
            f"{seconds:.0f} s ago" if workers_left else f"no worker has joined {address} in {seconds:.0f} s")
    return f"{what}; the sweep waits for one (start `dask worker {address}`)"


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: ``runs`` (sweep.parquet) and ``metrics`` (sweep-metrics.parquet) as
    pandas DataFrames, and the sweep folder."""

    folder: Path
    runs: Any
    metrics: Any
    spec: SweepSpec = field(repr=False)

    @property
    def failed(self):
        return self.runs[self.runs["status"] == "failed"]

    def __repr__(self) -> str:
        # the dataclass's own repr prints both tables: a notebook's cell showing a result would fill
        # screens (as RunResult's)
        runs = len(self.runs)
        failed = int((self.runs["status"] == "failed").sum()) if runs else 0
        reused = int(self.runs["reused"].sum()) if runs else 0
        return (f"SweepResult(folder={str(self.folder)!r}, runs={runs}, failed={failed}, reused={reused}, "
                f"metrics_rows={len(self.metrics)})")


def available_cores() -> int:
    """The cores this process may use, as Dask counts them (affinity and cgroup quotas)."""
    from dask.system import CPU_COUNT

    return CPU_COUNT


def local_cluster(workers: int | None = None, **kwargs):
    """A ``distributed.LocalCluster`` for sweeps: ``workers`` processes (default one per core),
    one thread each, Numba's threads in each set to ``cores // workers`` (at least 1) before the
    worker starts. An exported ``NUMBA_NUM_THREADS`` wins (Dask's rule: the environment over its
    configuration). Other keyword arguments go to ``LocalCluster``."""
    import dask
    from distributed import LocalCluster

    cores = available_cores()
    n = workers or cores
    numba_threads = max(1, cores // n)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.NUMBA_NUM_THREADS": str(numba_threads)}):
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, **kwargs)


def unguarded_line(source: str, line: int) -> bool:
    """True if line ``line`` of a script's ``source`` lies in no branch of an ``if`` that tests
    ``__name__`` (the ``if __name__ == "__main__":`` guard), so that a spawned process that
    imports the script runs it."""
    def spans(node):
        return node.lineno <= line <= (node.end_lineno or node.lineno)

    def guarded(node):
        for child in ast.iter_child_nodes(node):
            if not (isinstance(child, ast.stmt) and spans(child)):
                continue
            if (isinstance(child, ast.If) and any(isinstance(n, ast.Name) and n.id == "__name__"
                                                  for n in ast.walk(child.test))
                    and any(spans(stmt) for stmt in (*child.body, *child.orelse))):
                return True
            if guarded(child):
                return True
        return False

    return not guarded(ast.parse(source))


TIKKUN_WORK = ("run", "resume", "sweep")  # what does a run's work: tikkun.sweep.sensitivity is tikkun.sweep's


def unguarded_tikkun_calls(source: str) -> list[tuple[int, str]]:
    """``(line, name)`` of each call of tikkun's :data:`TIKKUN_WORK` (``tikkun.run(...)``,
    ``tk.sweep.sensitivity(...)`` after ``import tikkun as tk``, ``run(...)`` after ``from
    tikkun import run``) that a process importing the script runs: outside function bodies and
    outside every branch of an ``if`` that tests ``__name__``."""
    tree = ast.parse(source)
    modules, functions = {"tikkun"}, {}
    for node in ast.walk(tree):  # the names the script gives tikkun and its work
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "tikkun"}
        elif isinstance(node, ast.ImportFrom) and node.module == "tikkun":
            functions |= {a.asname or a.name: a.name for a in node.names if a.name in TIKKUN_WORK}

    def work(f) -> str | None:
        if isinstance(f, ast.Name):
            return functions.get(f.id)
        chain = []
        while isinstance(f, ast.Attribute):
            chain.append(f.attr)
            f = f.value
        if isinstance(f, ast.Name) and f.id in modules and chain and chain[-1] in TIKKUN_WORK:
            return ".".join(reversed(chain))
        return None

    found = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) or (
                    isinstance(child, ast.If) and any(isinstance(n, ast.Name) and n.id == "__name__"
                                                      for n in ast.walk(child.test))):
                continue
            name = work(child.func) if isinstance(child, ast.Call) else None
            if name:
                found.append((child.lineno, name))
            visit(child)

    visit(tree)
    return sorted(found)


def check_main_guard() -> None:
    """Refuse, before any process starts, a local cluster asked for by a script's top-level code
    outside ``if __name__ == "__main__":``: Dask starts its workers with ``spawn``, each imports
    the script again, and the script would start a cluster in every worker (a page of Dask's
    tracebacks, "Nanny failed to start"); so is one from a script whose top-level code calls
    ``tikkun.run`` or other work outside the guard, which each worker would run again
    (:func:`unguarded_tikkun_calls`). Only what spawn runs again is looked at (a script, a
    module run with ``-m``); a notebook, ``python -c``, a package's ``__main__`` and other start
    methods pass."""
    import dask

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    name = getattr(getattr(main, "__spec__", None), "name", None)
    # what multiprocessing's spawn runs again: a script, or a module run with -m, but not a
    # package's __main__ (`python -m tikkun`) nor IPython's launcher
    if (main is None or not path or dask.config.get("distributed.worker.multiprocessing-method", "spawn") != "spawn"
            or (name is not None and (name == "__main__" or name.endswith(".__main__")))
            or (name is None and Path(path).stem == "ipython")):
        return
    frame = sys._getframe(1)
    line = None
    while frame is not None:  # the outermost frame of the script's own top-level code
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return
    try:
        source = Path(path).read_text("utf-8")
        unguarded = unguarded_line(source, line)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return  # cannot tell: let Dask try
    if unguarded:
        raise SweepError(f"{path}, line {line}: a sweep on a local cluster from a script's top-level code must be "
                         'under `if __name__ == "__main__":` (each worker imports the script again and would start '
                         "the sweep again); put the script's work under it (docs/sweeps.md)")
    other = [(n, name) for n, name in unguarded_tikkun_calls(source) if n != line]
    if other:
        n, name = other[0]
        raise SweepError(f"{path}, line {n}: tikkun.{name}(...) outside `if __name__ == \"__main__\":` would run again "
                         "in each worker of the sweep's local cluster (each imports the script again); put the "
                         "script's work under it (docs/sweeps.md)")


CONNECT_TIMEOUT = 20.0  # seconds for a scheduler to accept the connection and answer Dask's handshake


def _check_scheduler(address: str, source: str) -> None:
    """Connect to ``address`` and wait for Dask's handshake, within :data:`CONNECT_TIMEOUT`.

    Dask's client limits the connection but then waits for the handshake without a limit, so a
    port that accepts connections but is no Dask scheduler (the scheduler's dashboard, a web
    server) would hang the command, or end it with a MemoryError as Dask reads an HTTP reply as
    the length of a message. The probe runs in a thread of its own (the caller may be inside an
    event loop, as in a notebook)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect as comm_connect

    async def probe():
        # Dask's own limit is on connecting; this one, longer, is on connecting and the handshake
        comm = await asyncio.wait_for(comm_connect(address, timeout=CONNECT_TIMEOUT), 1.5 * CONNECT_TIMEOUT)
        await comm.close()

    try:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except ValueError as exc:  # Dask's parse of the address: a bad scheme, host or port
        raise SweepError(f"{source}: not a scheduler address ({exc}); give tcp://HOST:PORT") from None
    except asyncio.TimeoutError:  # connected, but no handshake came
        raise SweepError(f"{source}: no Dask scheduler answers there (a connection, but no reply within "
                         f"{1.5 * CONNECT_TIMEOUT:g} s); is it the scheduler's port (`dask scheduler` prints its address) "
                         "and not its dashboard's?") from None
    except OSError as exc:
        raise SweepError(f"{source}: cannot reach the scheduler ({exc})") from None
    except Exception as exc:  # a reply that is no Dask message (e.g. an HTTP server's)
        raise SweepError(f"{source}: what answers there is not a Dask scheduler ({type(exc).__name__}: {exc}); "
                         "is it the scheduler's port (`dask scheduler` prints its address) and not its "
                         "dashboard's?") from None


# what each worker is asked: Python's own eval of a string, so that the question itself reaches
# a worker that cannot import tikkun (a function of tikkun's could not be unpickled there)
_VERSION_PROBE = "__import__('tikkun').__version__"
_CODE_PROBE = "__import__('tikkun.outputs.provenance').outputs.provenance.code_digest()"


def check_workers(client, source: str) -> None:
    """Refuse, before anything is written, a cluster with a worker that cannot import tikkun or
    imports another version than the client's. Dask would otherwise hide the first: the worker
    fails to read its first task and leaves, and the sweep waits for ever with no message (or,
    with other workers, goes on without it); the second makes runs of another model, with
    nothing said. A worker that joins later refuses each run it is given, the run recorded as
    failed with the reason (:func:`.task.execute` compares the versions and the resolved
    scenarios)."""
    try:
        found = client.run(eval, _VERSION_PROBE, on_error="return")
    except Exception:  # the scheduler cannot tell (e.g. it is closing): the runs will say
        return
    bad = []
    for worker, version in sorted(found.items()):
        if isinstance(version, BaseException):
            bad.append(f"worker {worker} cannot import tikkun ({type(version).__name__}: {version})")
        elif version != __version__:
            bad.append(f"worker {worker} has tikkun {version}")
    same = [w for w, v in found.items() if v == __version__]
    if same:  # the same version may be other code (an edited checkout): its runs' bits could differ
        from ..outputs.provenance import code_digest

        try:
            codes = client.run(eval, _CODE_PROBE, workers=same, on_error="return")
        except Exception:
            codes = {}
        bad += [f"worker {w} runs other code than the client under the same version (an edited or other checkout)"
                for w, code in sorted(codes.items()) if code != code_digest()]
    if bad:
        from distributed import LocalCluster

        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        # a local cluster's workers start from this environment, importing tikkun as it is now:
        # it changed after this process imported it (a long-lived one, such as tikkun serve)
        how = ("this process imported it before it changed, its local cluster's workers after: start this process "
               "again (e.g. tikkun serve)" if isinstance(getattr(client, "cluster", None), LocalCluster)
               else "start the workers from the same environment, docs/sweeps.md")
        raise SweepError(f"{source}: {'; '.join(bad[:3])}{more}; every worker needs the client's tikkun "
                         f"{__version__} and code ({how})")


_SCRATCH_LOCK = threading.Lock()  # Dask's configuration is the process's: one cluster made at a time with a scratch


def scheduler_address(scheduler: str | None) -> tuple[str | None, str]:
    """The scheduler's address a sweep connects to (``scheduler``, else ``DASK_SCHEDULER_ADDRESS``,
    else ``None``: a local cluster) and how a message names it, its form checked by Dask's own
    parse (not yet whether a scheduler answers there: :func:`connect` asks)."""
    import dask
    from distributed.comm.addressing import get_address_host_port, parse_address
    from distributed.comm.registry import get_backend

    if scheduler is not None and not scheduler.strip():
        raise SweepError("--scheduler: empty; give an address such as tcp://HOST:PORT, or leave it out for a "
                         "local cluster")
    address = scheduler or dask.config.get("scheduler-address", None)
    # a message names where the address came from: the user may not know the variable is set
    source = f"--scheduler {address}" if scheduler else f"DASK_SCHEDULER_ADDRESS {address}"
    if address:
        try:
            scheme, _ = parse_address(address)
            get_backend(scheme)
            if scheme in ("tcp", "tls", "ws", "wss"):
                _, port = get_address_host_port(address)
                if not 0 < port < 65536:  # else the connection waits its whole timeout
                    raise ValueError(f"port {port} is not from 1 to 65535")
        except ValueError as exc:
            raise SweepError(f"{source}: not a scheduler address ({exc}); give tcp://HOST:PORT") from None
    return address, source


@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int | None = None, scratch: Path | None = None,
            dashboard: bool = True):
    """A Dask client: to ``scheduler`` (or ``DASK_SCHEDULER_ADDRESS``), else to a new
    :func:`local_cluster`, closed on exit. ``scratch``: the folder where the local cluster's
    scheduler and workers make their ``dask-scratch-space`` (default: Dask's
    ``temporary-directory``, else the system's temporary folder, where it stays after them).
    ``dashboard``: the local cluster's Dask dashboard, on this machine only (port 8787, another if
    taken); without it, none (tikkun's own dashboard runs its claims so: no second web server)."""
    import dask
    from distributed import Client

    address, source = scheduler_address(scheduler)
    if address:
        if workers is not None:
            raise SweepError(f"--workers: sets the size of the local cluster; with a scheduler address ({source}) "
                             "the cluster's own workers run (start more with `dask worker ADDRESS`)")
        _check_scheduler(address, source)
        try:
            client = Client(address, timeout=f"{CONNECT_TIMEOUT:g}s")
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"{source}: cannot reach the scheduler ({exc})") from None
        except ValueError as exc:  # Dask's parse of the address: a bad scheme, host or port
            raise SweepError(f"{source}: not a scheduler address ({exc}); give tcp://HOST:PORT") from None
        with client:
            check_workers(client, source)
            yield client
        return
    # the nanny sets these in this process too before it starts a worker: put them back after
    check_main_guard()
    saved = {k: os.environ.get(k) for k in (*dask.config.get("distributed.nanny.pre-spawn-environ"), "NUMBA_NUM_THREADS")}
    try:
        # the workers' own warnings (a task cancelled at Ctrl-C, a slow close) are not the user's concern
        # Dask's own default serves its dashboard on every network interface; a local cluster is this machine's
        options = {"silence_logs": logging.ERROR, "dashboard_address": "127.0.0.1:8787" if dashboard else None}
        with warnings.catch_warnings():
            # port 8787 taken (another cluster's dashboard): Dask serves on another port, which the
            # progress names; its warning would print a path inside Dask instead
            warnings.filterwarnings("ignore", message=r"Port \d+ is already in use", category=UserWarning)
            if scratch is None:
                cluster = local_cluster(workers, **options)
            else:  # read as the scheduler and the nannies start (a nanny hands its folder to its worker)
                with _SCRATCH_LOCK, dask.config.set({"temporary-directory": str(scratch)}):
                    cluster = local_cluster(workers, **options)
        with cluster, Client(cluster) as client:
            yield client
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def default_folder(spec: SweepSpec, suffix: str = "") -> Path:
    """``sweeps/<sweep file's name><suffix>``: the same folder for the same command, so that
    running it again goes on where it stopped."""
    return Path("sweeps") / f"{spec.stem}{suffix}"


# ---------------------------------------------------------------- the sweep
def _check_arguments(sweep, out, scheduler, workers, client, progress) -> None:
    """SweepError naming an argument of the wrong kind, before anything is read or written (a
    Python type error from deep inside Dask, or a folder half made, came of them)."""
    from numbers import Integral

    if not isinstance(sweep, (SweepSpec, str, os.PathLike)):
        raise SweepError(f"sweep: a sweep file's path or a SweepSpec (got {type(sweep).__name__})")
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise SweepError(f"out: a folder's path (got {type(out).__name__})")
    if scheduler is not None and not isinstance(scheduler, str):
        raise SweepError(f"scheduler: a scheduler's address as text, e.g. tcp://host:8786 (got {type(scheduler).__name__})")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, Integral)):
        raise SweepError(f"workers: a whole number of worker processes (got {workers!r})")
    if progress is not None and not callable(progress):
        raise SweepError(f"progress: a function of a SweepProgress (got {type(progress).__name__})")
    if client is not None and not all(hasattr(client, a) for a in ("submit", "subscribe_topic", "scheduler_info")):
        raise SweepError(f"client: a distributed.Client (got {type(client).__name__})")


def run_sweep(
    sweep: SweepSpec | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client=None,
    progress: Callable[[SweepProgress], None] | None = None,
    out_option: str = "--out",
) -> SweepResult:
    """Run every run of a sweep file (or :class:`SweepSpec`) and return its tables.

    ``out``: the sweep folder (default ``sweeps/<name of the sweep file>``); running the same
    sweep into it again skips the finished runs and resumes the others from their checkpoints.
    ``client``: a ``distributed.Client`` to use (left open); else ``scheduler`` /
    ``DASK_SCHEDULER_ADDRESS``; else a local cluster of ``workers`` processes (default: one per core).
    ``progress(SweepProgress)`` is called as runs finish and workers warm up. ``out_option``:
    the command-line option that gave ``out``, as messages about the folder name it.
    Raises :class:`SweepError` (bad input: nothing written) and :class:`SweepInterrupted` (Ctrl-C).
    """
    environment.check()  # a local cluster's workers would inherit the setting it set aside
    _check_arguments(sweep, out, scheduler, workers, client, progress)
    spec = sweep if isinstance(sweep, SweepSpec) else load_sweep(sweep)
    if workers is not None and workers <= 0:
        raise SweepError(f"--workers: must be a positive number of worker processes (got {workers})")
    if client is not None and (scheduler or workers):
        raise SweepError("client: give a Dask client, or a scheduler address or a number of workers, not both")
    folder = Path(out) if out is not None else default_folder(spec)
    filing = Filing.open(spec, folder, out_option)
    todo = filing.todo()
    connecting = ""
    if client is None:
        address, source = scheduler_address(scheduler)  # its form, before a progress bar appears
        if address and not todo:  # nothing to run, yet an address no scheduler answers is told, as with runs
            _check_scheduler(address, source)
        connecting = "reaching the scheduler" if address else "starting a local cluster"
    if progress is not None and todo:  # the input is checked: a progress bar may appear now, not before
        progress(SweepProgress(len(filing.runs), *filing.counts(), workers=0, connecting=connecting))
    try:
        if todo and client is None:
            with connect(scheduler, workers) as own:  # a bad address is found before anything is written
                filing.start(out_option)
                filing.dispatch(own, todo, progress)
        else:
            if todo:
                check_workers(client, "client")
            filing.start(out_option)
            if todo:
                filing.dispatch(client, todo, progress)
            elif progress is not None:
                progress(SweepProgress(len(filing.runs), *filing.counts(), workers=0))
        filing.tidy()
    except SweepInterrupted:
        raise
    except KeyboardInterrupt:
        # one that lands outside the runs' dispatch (the local cluster starting or closing, the
        # tidying, or an interrupt a callback swallowed and the command line sent again later):
        # what is filed is said all the same
        raise SweepInterrupted(filing.folder, *filing.counts()) from None
    return filing.result()


@dataclass
class Filing:
    """The sweep folder while a sweep runs: what is planned, what has finished, the tables."""

    spec: SweepSpec
    folder: Path
    runs: list[RunSpec]
    texts: dict[str, str]                 # run id -> resolved scenario (TOML), valid runs only
    every: dict[str, int]                 # run id -> years between its checkpoints
    overrides: dict[str, dict]            # run id -> override key -> value in its scenario
    records: dict[str, dict]              # run id -> record (finished runs)
    override_keys: list[str]
    written: float = 0.0                  # when sweep.parquet was last written (monotonic)
    dirty: bool = False
    bound: dict = field(default_factory=dict)  # a run given elsewhere (its future) -> the workers it may run on

    @classmethod
    def open(cls, spec: SweepSpec, folder: Path, out_option: str = "--out") -> "Filing":
        """Plan the runs and check the folder and every run's scenario; nothing is written
        (a sweep file or folder that cannot be used changes nothing)."""
        folder = folder.absolute()
        runs = plan(spec)
        _check_folder(folder, spec, out_option)
        keys: list[str] = []
        for run in runs:
            for k, _ in run.overrides:
                if k not in keys and k != EVENTS:  # a variant's events: told by its name, not a column
                    keys.append(k)
        texts, every, overrides, records, conflicts, other_code = {}, {}, {}, {}, [], []
        for run in runs:
            try:
                sc = resolve_run(spec.base, run.overrides, run.seed, spec.years)
            except ScenarioError as exc:
                records[run.run_id] = failed_record(run.run_id, str(exc))
                overrides[run.run_id] = dict(run.overrides)
                continue
            text = scenario_to_toml(sc)
            texts[run.run_id] = text
            every[run.run_id] = checkpoint_every(spec, sc)
            dumped = sc.model_dump(mode="json")
            overrides[run.run_id] = {k: value_at(dumped, k) for k in keys}
            final = folder / RUNS / run.run_id
            if final.exists():
                summary = finished_run(final, text)
                if summary is None:
                    conflicts.append(_conflict(final, text, out_option))
                elif summary.get("tikkun_code") != code_digest():
                    other_code.append((run.run_id, summary))
                else:
                    records[run.run_id] = done_record(run.run_id, final, summary, reused=True, resumed_from=None)
        if not texts:  # every run would fail: a bad sweep file (a shared value, years), not failed runs
            rid = runs[0].run_id
            why = problems_only(records[rid]["error"])
            raise SweepError(f"{spec.origin}: no run makes a valid scenario; the first, {rid}: {why}")
        for variant in spec.variants or ():  # likewise a variant's own values or events (a key misspelt in them)
            mine = [r.run_id for r in runs if r.variant == variant.name]
            if not any(rid in texts for rid in mine):
                why = problems_only(records[mine[0]]["error"])
                raise SweepError(f"{spec.origin}: variant {variant.name!r}: none of its runs makes a valid scenario; "
                                 f"the first, {mine[0]}: {why}")
        if conflicts:
            more = f" (and {len(conflicts) - 3} more)" if len(conflicts) > 3 else ""
            raise SweepError("; ".join(conflicts[:3]) + more)
        if other_code:
            raise SweepError(_other_code_message(folder, other_code, out_option))
        return cls(spec, folder, runs, texts, every, overrides, records, keys)

    def start(self, option: str = "--out") -> None:
        """Write ``sweep.toml`` and the tables of the runs already finished or invalid. SweepError,
        naming ``option``, where the folder cannot be made or written (the folders made on the way
        are removed)."""
        from ..outputs.atomic import write_text
        from ..outputs.run_folder import missing_folders, remove_empty

        missing = missing_folders(self.folder)
        spec_path, text = self.folder / SPEC, self.spec.canonical_toml()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not spec_path.exists() or spec_path.read_text("utf-8") != text:  # another only where it holds no run
                write_text(spec_path, text)
        except OSError as exc:  # a name too long, a read-only folder, no permission, ...
            remove_empty(missing)
            raise SweepError(f"{option} {shown(self.folder)}: cannot be made or written ({exc.strerror or exc}); "
                             "choose another folder") from None
        seeds = {r.run_id: r.seed for r in self.runs}
        for rid, rec in self.records.items():
            if rec["status"] == "done" and not tables.has_metrics_part(self.folder, rid):
                metrics = tables.read_run_metrics(self.folder / RUNS / rid)
                tables.write_metrics_part(self.folder, rid, metrics, scenario_text=self.texts[rid], seed=seeds[rid])
        self.write()

    def todo(self) -> list[RunSpec]:
        return [r for r in self.runs if r.run_id not in self.records]

    def task(self, run: RunSpec) -> RunTask:
        return RunTask(run.run_id, self.spec.base, run.overrides, run.seed, self.spec.years,
                       self.every[run.run_id], str(self.folder), digest(self.texts[run.run_id]), __version__,
                       code_digest())

    MAX_ELSEWHERE = 8  # times a run refused by workers with other code is given to another worker

    def _elsewhere(self, client, run, refused: set[str], tag: str, tries: dict[str, int]):
        """The run given again, to a worker not among ``refused`` (those that refused runs: a
        worker that joined with other code takes each run it is given and refuses it at once,
        and would take most of the queue); None where no other worker is there, or the run was
        given elsewhere :data:`MAX_ELSEWHERE` times: it is then recorded as failed, with the
        refusal's message."""
        n = tries.get(run.run_id, 0) + 1
        others = [w for w in client.nthreads() if w not in refused]
        if n > self.MAX_ELSEWHERE or not others:
            return None
        tries[run.run_id] = n
        # bound to the others only: Dask's work stealing moves a run merely preferring them to an idle
        # worker, and the worker that refused it is idle while the others are busy. Were they all
        # to leave, the run would wait for ever: the sweep gives it again (:meth:`_rebind`)
        fut = client.submit(execute, self.task(run), key=f"tikkun-run-{tag}-{run.run_id}-elsewhere-{n}", pure=False,
                            workers=others, allow_other_workers=False)
        self.bound[fut] = set(others)
        return fut

    def _rebind(self, client, futures: dict, pending, refused: set[str], tag: str, tries: dict[str, int]) -> None:
        """The runs given elsewhere whose workers have all left the cluster: given again to the
        workers there now (or failed, as :meth:`_elsewhere` says)."""
        for fut in [f for f in self.bound if f.done() or f not in futures]:
            del self.bound[fut]
        if not self.bound:
            return
        alive = set(client.nthreads())
        for fut, workers in list(self.bound.items()):
            if workers & alive:
                continue
            del self.bound[fut]
            run = futures.pop(fut)
            fut.cancel()
            again = self._elsewhere(client, run, refused, tag, tries)
            if again is None:
                self.file(run.run_id, failed_record(run.run_id, "every worker it could run on left the cluster "
                                                                "(the others run other code than the client)"))
                continue
            futures[again] = run
            pending.add(again)

    def file(self, run_id: str, record: dict) -> None:
        """File a run's record; sweep.parquet is rewritten at most once a second (a row not yet
        in it is not lost: the run's folder is finished, and the next sweep files it again)."""
        self.records[run_id] = record
        self.dirty = True
        if time.monotonic() - self.written >= TABLE_EVERY:
            self.write()

    def write(self) -> None:
        self.written, self.dirty = time.monotonic(), False
        order = [r for r in self.runs if r.run_id in self.records]
        rows = [{"run_id": r.run_id, "variant": r.variant, "seed": r.seed, "overrides": self.overrides[r.run_id],
                 "record": self.records[r.run_id]} for r in order]
        table = tables.sweep_table(rows, self.override_keys, with_variant=bool(self.spec.variants))
        scenarios = {r.run_id: self.texts[r.run_id] for r in order if r.run_id in self.texts}
        tables.write_sweep_table(self.folder, table, sweep_toml=self.spec.canonical_toml(), scenarios=scenarios)

    def counts(self) -> tuple[int, int, int]:
        done = sum(1 for r in self.records.values() if r["status"] == "done")
        failed = len(self.records) - done
        return done, failed, len(self.runs) - len(self.records)

    def dispatch(self, client, todo: list[RunSpec], progress: Callable[[SweepProgress], None] | None) -> None:
        """Send ``todo`` to the cluster and file each result as it arrives."""
        from distributed import as_completed

        lock = threading.Lock()
        compiling: dict[str, bool] = {}
        threads: dict[str, int] = {}
        last_workers = [0, 0.0, 0]  # count, time asked, the last count that was not 0
        alone = [time.monotonic(), False]  # since when the cluster has had no worker; warned
        address = str(getattr(getattr(client, "scheduler", None), "address", "") or "")
        try:
            dashboard = client.dashboard_link or None
        except Exception:  # a scheduler without a dashboard (bokeh not installed)
            dashboard = None

        def count_workers() -> bool:  # from this thread only: the client's own calls block
            """Ask the cluster for its workers at most once a second; True if their count moved."""
            before = last_workers[0]
            if time.monotonic() - last_workers[1] > 1.0:
                with contextlib.suppress(Exception):
                    last_workers[0] = len(client.nthreads())
                last_workers[1] = time.monotonic()
            if last_workers[0]:
                alone[0] = time.monotonic()
                last_workers[2] = last_workers[0]
            return last_workers[0] != before

        def without_workers() -> float:
            return 0.0 if last_workers[0] else time.monotonic() - alone[0]

        def say_no_workers() -> None:
            # once, for callers without a progress line (the API, --quiet): the sweep waits, as
            # workers may join later (a batch system's jobs still queued)
            if progress is None and not alone[1] and without_workers() >= NO_WORKERS_WARN:
                alone[1] = True
                warnings.warn(no_workers_message(without_workers(), address or "the scheduler", last_workers[2]),
                              RuntimeWarning, stacklevel=4)

        def report(last=None) -> None:
            if progress is None:
                return
            done, failed, left = self.counts()
            with lock:
                now = tuple(sorted(w for w, c in compiling.items() if c))
                nthreads = tuple(sorted(set(threads.values())))
            progress(SweepProgress(len(self.runs), done, failed, left, last_workers[0], now, nthreads, dashboard, last,
                                   without_workers() if left else 0.0, scheduler=address,
                                   workers_left=last_workers[2]))

        def on_event(event) -> None:
            _, msg = event
            if not isinstance(msg, dict) or "worker" not in msg:
                return
            with lock:
                compiling[msg["worker"]] = bool(msg.get("compiling"))
                if "numba_threads" in msg:
                    threads[msg["worker"]] = int(msg["numba_threads"])
            with contextlib.suppress(Exception):
                report()

        client.subscribe_topic(EVENT_TOPIC, on_event)
        tag = digest(str(self.folder))[:8]
        futures = {}
        refused: set[str] = set()  # workers that refused a run: other code than the client's
        tries: dict[str, int] = {}  # run id -> times it was given to another worker
        try:
            for run in todo:
                fut = client.submit(execute, self.task(run), key=f"tikkun-run-{tag}-{run.run_id}", pure=False)
                futures[fut] = run
            count_workers()
            report()
            pending = as_completed(list(futures))
            while not pending.is_empty():
                batch = pending.next_batch(block=False)
                if not batch:  # no run finished: look at the cluster (its workers come and go)
                    time.sleep(POLL)
                    self._rebind(client, futures, pending, refused, tag, tries)
                    moved = count_workers()
                    if moved or not last_workers[0]:
                        report()
                    say_no_workers()
                    continue
                for fut in batch:
                    run = futures.pop(fut, None)
                    if run is None:  # given again by _rebind (this one cancelled)
                        continue
                    try:
                        record = fut.result()
                    except WorkerRefused as exc:  # a worker with other code joined: the run goes elsewhere
                        refused.add(exc.worker)
                        again = self._elsewhere(client, run, refused, tag, tries)
                        if again is not None:
                            futures[again] = run
                            pending.add(again)
                            continue
                        record = failed_record(run.run_id, f"{type(exc).__name__}: {exc}")
                    except Exception as exc:  # e.g. KilledWorker: its worker died too often
                        record = failed_record(run.run_id, f"{type(exc).__name__}: {exc}")
                    self.file(run.run_id, record)
                    # a worker that died while warming up is not compiling any more; the client is
                    # asked outside the lock: its answer needs the client's event loop, which may be
                    # waiting for the lock in on_event (a deadlock, seen once in the suite)
                    with lock:
                        warming = any(compiling.values())
                    alive = set(client.nthreads()) if warming else set()
                    with lock:
                        for w in [w for w, c in compiling.items() if c and w not in alive]:
                            compiling[w] = False
                    count_workers()
                    report(last=self.records[run.run_id])
        except KeyboardInterrupt:
            with contextlib.suppress(Exception):
                client.cancel(list(futures))
            done, failed, left = self.counts()
            raise SweepInterrupted(self.folder, done, failed, left) from None
        finally:
            if self.dirty:
                self.write()
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(EVENT_TOPIC)

    def tidy(self) -> None:
        """Once every run is filed: remove the run locks and the empty ``partial`` folder (the
        partial folder of a failed run that reached a checkpoint stays: the same sweep resumes it;
        one that failed before its first checkpoint left nothing, :func:`tikkun.api.run`)."""
        if len(self.records) < len(self.runs):
            return
        partial = self.folder / PARTIAL
        if not partial.is_dir():
            return
        for lock in partial.glob("*.lock"):
            lock.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            partial.rmdir()

    def result(self) -> SweepResult:
        import pyarrow.parquet as pq

        runs = pq.read_table(self.folder / tables.TABLE).to_pandas()
        metrics = tables.read_metrics(self.folder)
        if metrics is None:
            import pandas as pd

            metrics = pd.DataFrame({"run_id": []})
        else:
            metrics = metrics.to_pandas()
        return SweepResult(self.folder, runs, metrics, self.spec)


def shown(path: Path) -> Path:
    """A path the sweep made absolute (its workers may start elsewhere), as messages show it:
    relative to the working folder where it lies inside it, as ``tikkun run`` shows its folder."""
    try:
        return Path(path).relative_to(Path.cwd())
    except ValueError:
        return Path(path)


def _check_folder(folder: Path, spec: SweepSpec, option: str = "--out") -> None:
    """Refuse a folder that holds anything but this very sweep (nothing a user made is touched)."""
    if not folder.exists():
        return
    name, marker = shown(folder), folder / SPEC  # messages show the folder as given
    if not folder.is_dir():
        raise SweepError(f"{option} {name}: exists and is not a folder")
    if marker.exists():
        held = marker.read_text("utf-8")
        if held != spec.canonical_toml() and not _holds_no_runs(folder):  # else free: its sweep.toml is replaced
            where = _where_they_differ(held, spec.canonical())
            if option == "--runs":  # an experiment's runs: its sweep is made from --seeds and --souls
                again = ", or give the --seeds and --souls its runs were made with"
            elif "\npoints = " in held or "\n[[points]]" in held:  # a sensitivity's sample
                again = ""
            else:
                again = f", or run the sweep it holds (tikkun sweep {shown(marker)} --out {name})"
            raise SweepError(f"{option} {name}: holds the runs of another sweep ({where}); choose a new folder{again}")
    elif any(folder.iterdir()):
        raise SweepError(f"{option} {name}: exists, is not empty and holds no sweep; choose a new folder "
                         "(tikkun never writes over what is there)")
    if marker.exists():
        foreign = _not_the_sweeps(folder)
        if foreign is not None:
            raise SweepError(f"{option} {name}: {shown(foreign)} was not written by a sweep (a sweep's table is "
                             "Parquet with tikkun's keys); move it away to go on with the sweep here (tikkun never "
                             "writes over what is there)")


def _not_the_sweeps(folder: Path) -> Path | None:
    """The first file under a sweep's names in ``folder`` that the sweep did not write (a user's
    file named ``sweep.parquet``, or ``<id>.parquet`` among the runs' metrics, which the sweep
    would write over or fail to read), or None. A sweep's tables carry ``tikkun.version`` in
    their Parquet metadata (:mod:`tikkun.sweep.tables`)."""
    import pyarrow.parquet as pq

    table, parts = folder / tables.TABLE, folder / tables.METRICS
    candidates = [table] if table.exists() else []
    if parts.is_dir():
        candidates += sorted(parts.glob("*.parquet"))
    elif parts.exists():
        return parts
    for path in candidates:
        try:
            meta = pq.read_schema(path).metadata or {}
        except Exception:  # noqa: BLE001 - not Parquet, a folder, unreadable: not the sweep's
            return path
        if b"tikkun.version" not in meta:
            return path
    return None


def _holds_no_runs(folder: Path) -> bool:
    """Whether a sweep's folder holds nothing of any run: its sweep.toml, a sweep.parquet of no
    row, and empty folders of runs (a lock file at most): what a sweep interrupted before its
    first run began leaves. Another sweep may take it (its sweep.toml is replaced)."""
    import pyarrow.parquet as pq

    for p in folder.iterdir():
        if p.name == SPEC:
            continue
        if p.name == tables.TABLE and p.is_file():
            try:
                if pq.ParquetFile(p).metadata.num_rows:
                    return False
            except Exception:  # noqa: BLE001 - not the sweep's table: not taken
                return False
            continue
        if p.name in (RUNS, PARTIAL, tables.METRICS) and p.is_dir():
            if any(not (q.name.endswith(".lock") and q.is_file()) for q in p.iterdir()):
                return False
            continue
        return False
    return True


def _where_they_differ(held: str, wanted: dict) -> str:
    """Where the TOML ``held`` in a folder differs from ``wanted``, said for a message (a file
    edited into invalid TOML differs everywhere)."""
    try:
        return f"they differ at {_first_difference(tomllib.loads(held), wanted)}"
    except tomllib.TOMLDecodeError as exc:
        return f"its file is not valid TOML: {exc}"


def _other_code_message(folder: Path, runs: list[tuple[str, dict]], option: str) -> str:
    """Why finished runs made by other code are not taken into this sweep: its table would mix
    two codes' bits under one sweep, and redoing them would replace results made earlier."""
    rid, summary = runs[0]
    theirs = summary.get("tikkun_code")
    were = "was" if len(runs) == 1 else "were"
    return (f"{shown(folder)}: {len(runs)} of its finished runs {were} made by other code than this tikkun's "
            f"(the first, {RUNS}/{rid}: tikkun {summary.get('tikkun_version', '?')}, tikkun_code "
            f"{theirs[:12] if isinstance(theirs, str) else 'not recorded'}; this tikkun {__version__}, "
            f"tikkun_code {code_digest()[:12]}); a sweep's runs are made by one code. Choose a new {option}, "
            "or move those runs away to make them again")


def _conflict(final: Path, text: str, option: str = "--out") -> str:
    try:
        held = (final / "scenario.toml").read_text("utf-8")
    except OSError:
        held = None
    if held is not None and held != text:
        where = _where_they_differ(held, tomllib.loads(text))
        return f"{final}: holds a run of another scenario ({where}); move it away or choose a new {option}"
    missing = [n for n in ("summary.json", "metrics.parquet", "souls.parquet") if not (final / n).is_file()]
    why = f"no {', '.join(missing)}" if missing else "its summary.json is not a finished run's"
    return f"{final}: is not a finished run ({why}); move it away or choose a new {option}"


def _first_difference(a, b, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b or a[k] != b[k]:
                return _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
    return path or "the top"
