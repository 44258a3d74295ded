"""The Python API, mirroring the CLI: load a scenario, run it, get metrics and souls as tables.

>>> import tikkun
>>> result = tikkun.run(preset="quick", seed=3)          # in memory, nothing written
>>> result.metrics["cleansing_mean"][-1]
>>> result = tikkun.run("my.toml", out="runs/mine")      # writes the run folder
>>> result = tikkun.resume("runs/mine")                  # after a crash
>>> result = tikkun.run(saveat=tikkun.SaveAt(souls=(2448,), network=True))
>>> result.saved_souls[2448]["cleansing"], result.network  # the souls at the exodus; the graph at the end
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import time
import dataclasses
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .engine import Simulation, simulate
from .native import environment
from .outputs import run_folder as rf
from .outputs.atomic import remove_leftovers
from .outputs.genesis import write_genesis_tables
from .outputs.provenance import parquet_metadata, provenance
from .records import METRIC_COLUMNS, SOUL_COLUMNS, Recorder, SaveAt
from .scenario import Scenario, ScenarioError, load_scenario, scenario_to_toml
from .scenario.loading import build_scenario, check_kinds, _deepcopy, _parse_toml, _parse_value
from .genesis.run import shatter_unity


class OutputError(ValueError):
    """An output folder that would overwrite something; nothing is written."""


@dataclass(frozen=True)
class RunResult:
    """A finished run.

    metrics: column -> array ``(years_run,)``, one row per year (``year`` int32, ``era`` text,
    the counts and ``judge`` int64, the rest float64); souls: column -> array ``(souls,)`` (``soul``,
    ``sparks`` and ``completed_year`` int32, -1 for a soul not complete; ``complete`` and
    ``special`` bool; ``stage`` and ``journey`` text; the souls' state as the state keeps it,
    float32; ``illumination``, ``unity_mean`` and ``neighbours_mean_cleansing`` float64;
    each column described in its Parquet file's schema); summary: the content of summary.json;
    folder: the run folder, or None for an in-memory run. :meth:`metrics_frame` and
    :meth:`souls_frame` are the tables as pandas reads metrics.parquet and souls.parquet
    (``completed_year`` null, not -1, for a soul not complete). With a :class:`SaveAt`:
    saved_souls: year -> the souls' table as at the end of that year (``souls_<year>.parquet``);
    network: the graph at the end, int32 ``(souls, k)`` (``network.npy``), else None.
    """

    scenario: Scenario
    metrics: dict[str, np.ndarray]
    souls: dict[str, np.ndarray]
    summary: dict[str, Any]
    folder: Path | None
    simulation: Simulation
    report: Path | None = None
    saved_souls: dict[int, dict[str, np.ndarray]] = dataclasses.field(default_factory=dict)
    network: np.ndarray | None = None

    def __repr__(self) -> str:
        # the dataclass's own repr prints every array and the whole scenario: a notebook's cell
        # showing a result would fill screens
        s = self.summary
        end = s.get("end_year")
        return (f"RunResult(scenario={self.scenario.name!r}, souls={s.get('souls', 0):,}, "
                f"years_run={s.get('years_run', 0):,}, end_year={'None' if end is None else f'{end:,}'}, "
                f"G={s.get('weakest_link', float('nan')):.4g}, C={s.get('cleansing_mean', float('nan')):.4g}, "
                f"folder={None if self.folder is None else str(self.folder)!r})")

    def metrics_frame(self):
        """The metrics as a pandas DataFrame, equal to ``pandas.read_parquet`` of metrics.parquet (needs pandas)."""
        return rf.arrow_table(self.metrics).to_pandas()

    def souls_frame(self, year: int | None = None):
        """The souls as a pandas DataFrame, equal to ``pandas.read_parquet`` of souls.parquet
        (needs pandas): ``completed_year`` is null (NaN) for a soul not complete. With ``year``,
        those kept at that year's end (:class:`SaveAt`; souls_<year>.parquet)."""
        if year is None:
            return rf.arrow_table(self.souls).to_pandas()
        if year not in self.saved_souls:
            kept = ", ".join(str(y) for y in self.saved_souls) or "none"
            if year in (self.summary.get("saved") or {}).get("souls_not_reached", []):
                raise KeyError(f"the souls of year {year} were asked for, but the run ended first, in year "
                               f"{self.summary['years_run'] - 1} (kept: {kept})")
            raise KeyError(f"the souls of year {year} were not kept (kept: {kept}); ask with SaveAt(souls=...)")
        return rf.arrow_table(self.saved_souls[year]).to_pandas()


def resolve_scenario(
    scenario: Scenario | str | os.PathLike | None = None,
    *,
    preset: str | None = None,
    seed: int | None = None,
    years: int | None = None,
    souls: int | None = None,
    overrides: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Scenario:
    """A scenario from an object, a file or a preset, with the CLI's overrides applied and
    ``events`` (tables as in a scenario file) appended to its own."""
    if scenario is not None and not isinstance(scenario, (Scenario, str, os.PathLike)):
        raise ScenarioError(f"scenario: a Scenario, or a scenario file's path (got {type(scenario).__name__})")
    check_kinds(preset=preset, overrides=overrides, events=events)
    for name, value in (("seed", seed), ("souls", souls), ("years", years)):
        # a number given by name is taken as it is, not read as --set's text ("3") or a float (2.0)
        if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral)):
            raise ScenarioError(f"{name}: a whole number (got {value!r})")
    seed, souls, years = (None if v is None else int(v) for v in (seed, souls, years))  # NumPy's as Python's
    sets = dict(overrides or {})
    for option, value, key in (("--seed", seed, "run.seed"), ("--souls", souls, "souls.count"),
                               ("--years", years, "run.years")):
        if value is None or key not in sets:
            continue
        given = _parse_value(sets[key], key) if isinstance(sets[key], str) else sets[key]  # --set gives text
        if given != value or isinstance(given, bool) != isinstance(value, bool):  # else one would silently win
            raise ScenarioError(f"{option} {value} and --set {key}={sets[key]} disagree; give one of them")
    if seed is not None:
        sets["run.seed"] = seed
    if souls is not None:
        sets["souls.count"] = souls
    if isinstance(scenario, Scenario):
        if preset is not None:
            raise ScenarioError("give a scenario or a preset, not both")
        raw = scenario.model_dump(mode="json", exclude_none=True)
        from .scenario.loading import add_events, apply_overrides, _with_horizon

        raw = apply_overrides(raw, sets)
        if events:
            raw = add_events(raw, events)
        if years is not None:
            raw = _with_horizon(raw, years)
        return build_scenario(raw)
    return load_scenario(scenario, preset=preset, overrides=sets, years=years, events=events)


def interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The interrupt (Ctrl-C, SIGTERM) an error came of, or None. An interrupt that lands inside
    a library's call can come out as that library's error: zipfile's "Can't close the ZIP file
    while there is an open writing handle" after one inside ``np.savez`` (a checkpoint), Numba's
    SystemError "returned a result with an exception set" after one inside a compiled call."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


@contextlib.contextmanager
def _interrupts_as_themselves():
    """Raise an interrupt that came out as another error (:func:`interrupt_behind`) as itself, so
    that a caller sees it stopped (the command line exits with 130 and says where to go on)."""
    try:
        yield
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        interrupt = interrupt_behind(exc)
        if interrupt is None:
            raise
        raise interrupt.with_traceback(interrupt.__traceback__) from None


def _check_arguments(out, progress, report, out_name: str = "out") -> None:
    """ScenarioError naming an argument of :func:`run` or :func:`resume` of the wrong kind, before
    anything is written (Python's errors from inside came of them, or a run cut short by one)."""
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise ScenarioError(f"{out_name}: a folder's path (got {type(out).__name__})")
    if progress is not None and not callable(progress):
        raise ScenarioError(f"progress: a function of the state and the year's row (got {type(progress).__name__})")
    if not isinstance(report, (bool, np.bool_)):
        raise ScenarioError(f"report: True or False (got {report!r})")


def prepare_folder(out: str | os.PathLike, option: str = "out") -> Path:
    """Create an empty run folder; refuse one that holds anything (nothing a user made is lost).
    ``option``: how messages name the folder's argument (``--out`` on the command line)."""
    folder = Path(out)
    if folder.exists():
        if not folder.is_dir():
            raise OutputError(f"{option} {folder}: exists and is not a folder")
        if any(folder.iterdir()):
            raise OutputError(f"{option} {folder}: exists and is not empty; choose a new folder "
                              "(tikkun never writes over an earlier run)")
    missing = rf.missing_folders(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a parent folder should be, no permission, a name too long, ...
        rf.remove_empty(missing)  # the folders above it made on the way: nothing half-made is left
        raise OutputError(f"{option} {folder}: cannot be made ({exc.strerror or exc}); choose another folder") from None
    return folder


def claim(folder: Path, scenario: Scenario, option: str = "out") -> None:
    """Write the run's first file, scenario.toml, into the ``folder`` :func:`prepare_folder`
    found empty, unless another run wrote one there since (two runs started at once into one
    folder): then OutputError, and nothing of either run is touched."""
    try:
        rf.write_scenario(folder, scenario)
    except FileExistsError:
        raise OutputError(f"{option} {folder}: another run began writing into it; choose a new folder "
                          "(tikkun never writes over an earlier run)") from None
    except OSError as exc:  # a folder one may not write into (read-only, no permission), a full disk
        raise OutputError(f"{option} {folder}: cannot be written ({exc.strerror or exc}); choose another folder") from None


def default_folder(scenario: Scenario, root: str | os.PathLike = "runs") -> Path:
    """A new, empty folder ``root/NAME-YYYYmmdd-HHMMSS[-i]``, made here: two runs started in the
    same second each get their own (the first free name is claimed by ``mkdir``, which fails
    where another process got there first)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{scenario.name}-{stamp}"
    for i in range(10_000):
        folder = base if i == 0 else Path(f"{base}-{i}")
        missing = rf.missing_folders(folder)
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
        except OSError as exc:  # a file named like the root, no permission, a name too long, ...
            rf.remove_empty(missing)
            raise OutputError(f"{folder}: cannot be made ({exc.strerror or exc}); give --out") from None
    raise OutputError(f"{base}: 10,000 runs of this name this second; give --out")


def run(
    scenario: Scenario | str | os.PathLike | None = None,
    *,
    preset: str | None = None,
    out: str | os.PathLike | None = None,
    seed: int | None = None,
    years: int | None = None,
    souls: int | None = None,
    overrides: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    checkpoint_every: int | None = None,
    progress: Callable | None = None,
    report: bool = False,
    graph: np.ndarray | str | os.PathLike | None = None,
    saveat: SaveAt | None = None,
    out_option: str = "out",
) -> RunResult:
    """Run a scenario (object, TOML file, or preset; default the ``history`` preset).

    ``seed``, ``years``, ``souls``: the scenario's ``run.seed``, ``run.years`` and ``souls.count``
    (``years`` also drops the events from that year on, as ``tikkun run --years`` does);
    ``overrides``: dotted keys and their values, as ``--set`` gives them (``{"light.alpha":
    0.3}``); ``events``: tables as in a scenario file, appended to the scenario's own.

    With ``out`` the run folder is written (scenario.toml first, then checkpoints every
    ``checkpoint_every`` years, then metrics.parquet, souls.parquet and summary.json; with
    ``report``, then report.html, as ``tikkun run`` does: see :func:`tikkun.api.report`).
    ``progress(state, row)`` is called after each year; it may read the state but not change
    it: its arrays are read-only views, and a write raises NumPy's ValueError (the step
    remembers which souls it found settled: to change souls, use events).

    ``graph``: a network of one's own instead of the scenario's (``tikkun run --graph``): an
    integer array ``(souls, k)`` or a ``.npy`` file of one, row ``i`` the souls soul ``i``
    listens to (:func:`tikkun.rules.network.given_graph` says what it must be). The scenario
    then has ``network.kind = "given"`` and ``network.k = k``; the run folder keeps the graph as
    ``graph.npy`` and summary.json its sha256.

    ``saveat``: what to keep besides the metrics and the souls at the end (:class:`SaveAt`):
    the souls at the end of chosen years and the graph at the end, in the result and, with
    ``out``, as ``souls_<year>.parquet`` and ``network.npy``. ``out_option``: how messages name
    ``out`` (the command line's ``--out``).

    Returns a :class:`RunResult`. Raises ``tikkun.ScenarioError`` (a scenario or argument that
    cannot be run), ``tikkun.OutputError`` (an ``out`` that holds anything, or cannot be made)
    and ``tikkun.SettingError`` (a ``NUMBA_`` or ``TIKKUN_`` variable that cannot be used), each
    before anything is written; all three are ``ValueError``.
    """
    environment.check()  # a NUMBA_ or TIKKUN_ variable that cannot be used: refused before anything is written
    _check_arguments(out, progress, report)
    given, label = None, ""
    if graph is not None:
        overrides, (given, label) = with_graph(overrides, graph)
    sc = resolve_scenario(scenario, preset=preset, seed=seed, years=years, souls=souls, overrides=overrides,
                          events=events)
    if given is None:
        given, label = graph_beside(scenario, sc)
    sc, given = checked_graph(sc, given, label)
    saveat = checked_saveat(saveat, sc)
    if checkpoint_every is not None and (isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, Integral)
                                         or checkpoint_every <= 0):
        raise ScenarioError(f"checkpoint_every: must be a positive whole number of years (got {checkpoint_every!r})")
    if checkpoint_every and out is None:
        raise ScenarioError("checkpoint_every needs an output folder (out)")
    if report and out is None:
        raise ScenarioError("report=True needs an output folder (out)")
    made = out is not None and not Path(out).exists()
    folder = prepare_folder(out, out_option) if out is not None else None
    if folder is not None:
        claim(folder, sc, out_option)  # refused where another run claimed the folder first: nothing of either is touched
    result = _run_in(folder, made, sc, given, checkpoint_every, progress, saveat, out_option)
    return _with_report(result) if report else result


def _run_in(folder: Path | None, made: bool, sc: Scenario, given, checkpoint_every, progress, saveat,
            out_option: str) -> RunResult:
    """:func:`run`'s genesis and years, into ``folder`` (claimed) if given, held while it writes
    (no other process can hold a folder just claimed: a resume needs the checkpoint this run writes)."""
    with rf.held(folder, out_option) if folder is not None else contextlib.nullcontext():
        try:
            with _interrupts_as_themselves():
                return _genesis_and_years(folder, sc, given, checkpoint_every, progress, saveat)
        except BaseException:
            # a run stopped by an error or an interrupt before its end: what it wrote goes (the same
            # call can then run again), unless a checkpoint lets it go on (resume); still held
            if folder is not None:
                rf.remove_unfinished(folder, remove_folder=made)
            raise


def _genesis_and_years(folder: Path | None, sc: Scenario, given, checkpoint_every, progress, saveat) -> RunResult:
    """The genesis (if the scenario has one) and the years of a new run, into ``folder`` if given."""
    if folder is not None and given is not None:
        rf.write_graph(folder, given)
    t0 = time.perf_counter()
    # the vessel's figures are its report's: a run without one imports no plotting library
    vessel = genesis(sc, out=folder, figures=False) if sc.genesis is not None else None
    genesis_seconds = round(time.perf_counter() - t0, 3) if vessel is not None else None
    unity_fn, world_unity = vessel_inputs(sc, vessel=vessel)
    return _drive(sc, folder, checkpoint_every, progress, state=None, recorder=None, wall_before=0.0,
                  unity_fn=unity_fn, world_unity=world_unity, vessel=vessel, graph=given, saveat=saveat,
                  genesis_seconds=genesis_seconds)


def checked_saveat(saveat, sc: Scenario) -> SaveAt:
    """``saveat`` (None: keep nothing more) checked against the scenario: a :class:`SaveAt`
    whose years are the run's; ScenarioError naming what is wrong."""
    if saveat is None:
        return SaveAt()
    if not isinstance(saveat, SaveAt):
        raise ScenarioError(f"saveat: a tikkun.SaveAt (got {type(saveat).__name__})")
    try:
        saveat.check(sc.run.years)
    except ValueError as exc:
        raise ScenarioError(f"--souls-at (SaveAt.souls): {exc}") from None
    if saveat.network and not sc.network.enabled:
        raise ScenarioError("--save-network (SaveAt.network): the scenario has no network (network.enabled is false)")
    return saveat


def _read_graph(graph) -> tuple[np.ndarray, str]:
    """``graph`` (an array, or the path of a ``.npy`` file) as an array, and how messages name it."""
    if not isinstance(graph, (str, bytes, os.PathLike)):
        try:
            return np.asarray(graph), "graph"
        except ValueError as exc:  # a ragged list of rows
            raise ScenarioError(f"graph: cannot be made an array ({exc})") from None
    path = Path(os.fsdecode(graph))
    label = f"graph {path}"
    try:
        return rf.load_npy(path), label
    except FileNotFoundError:
        raise ScenarioError(f"{label}: no such file") from None
    except ValueError as exc:
        raise ScenarioError(f"{label}: {exc}") from None


def _override(sets: dict[str, Any], dotted: str):
    """The value ``sets`` gives the dotted key, as a dotted key or inside a table (``{"network":
    {"kind": ...}}``); ``_MISSING`` if none."""
    if dotted in sets:
        v = sets[dotted]
        return _parse_value(v, dotted) if isinstance(v, str) else v
    node: Any = sets
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node  # a table's values come typed (the API's), not as --set's text


_MISSING = object()


def with_graph(overrides: dict[str, Any] | None, graph) -> tuple[dict[str, Any], tuple[np.ndarray, str]]:
    """The overrides a given ``graph`` (an array, or a ``.npy`` file's path) makes, added to a
    copy of ``overrides`` (``network.kind = "given"``; ScenarioError where an override gives
    another kind, or another ``network.k`` than the graph's columns), and the graph read, with
    how messages name it. ``network.k`` is set once the graph is checked against the souls
    (:func:`checked_graph`): until then it is 1, which every population of two souls allows."""
    given, label = _read_graph(graph)
    sets = {k: (v if isinstance(v, str) else _deepcopy(v)) for k, v in (overrides or {}).items()}
    wanted = [("network.kind", "given")] + ([("network.k", int(given.shape[1]))] if given.ndim == 2 else [])
    for key, value in wanted:
        had = _override(sets, key)
        if had is not _MISSING and (had != value or isinstance(had, bool)):
            raise ScenarioError(f"{label} and the override {key} = {had!r} disagree (the graph makes {key} {value!r})")
    sets["network.kind"] = "given"
    sets["network.k"] = 1
    return sets, (given, label)


def graph_beside(scenario, sc: Scenario) -> tuple[np.ndarray | None, str]:
    """The graph a scenario file asks for when none is given: where ``scenario`` is the path of a
    file whose network is ``"given"`` (``sc``, resolved from it) and its folder keeps
    ``graph.npy``, as a run folder does, that graph and how messages name it; else ``(None, "")``.
    Where the folder's summary.json names the run's graph, the file must be that graph (its
    sha256), so that ``tikkun run DIR/scenario.toml`` makes the run again or says why not."""
    if not isinstance(scenario, (str, os.PathLike)) or not (sc.network.enabled and sc.network.kind == "given"):
        return None, ""
    path = Path(os.fsdecode(scenario)).parent / rf.GRAPH_NAME
    if not path.is_file():
        return None, ""
    given, label = _read_graph(path)
    recorded, where = None, ""
    try:
        recorded, where = (json.loads((path.parent / "summary.json").read_text(encoding="utf-8"))["graph"]["sha256"],
                           "summary.json's graph.sha256")
    except (OSError, ValueError, KeyError, TypeError):  # no finished run here: perhaps a checkpointed one
        recorded, where = (rf.checkpoint_meta(path.parent) or {}).get("graph_sha256"), "the checkpoint's graph_sha256"
    if recorded is not None and given.dtype.kind in "iu" and rf.graph_digest(given) != recorded:
        raise ScenarioError(f"{label}: not the graph the run in {path.parent} started from (its sha256 differs from "
                            f"{where}); give that graph with --graph FILE.npy (graph=...)")
    return given, label


def checked_graph(sc: Scenario, given: np.ndarray | None, label: str = "graph",
                  souls_option: str = "souls=") -> tuple[Scenario, np.ndarray | None]:
    """The scenario with the graph's ``network.k``, and the given graph as the state holds it,
    checked against the scenario; ScenarioError where it does not fit, or where the scenario
    asks for a graph and none is given. ``souls_option``: how the caller sets the number of
    souls (``--souls `` on the command line), named where the graph's rows are another number."""
    from .rules.network import given_graph

    if given is None:
        if sc.network.enabled and sc.network.kind == "given":
            raise ScenarioError('network.kind = "given" needs its graph: tikkun run --graph FILE.npy, or '
                                'tikkun.run(graph=...) (a run folder keeps its own as graph.npy)')
        return sc, None
    if not sc.network.enabled:
        raise ScenarioError(f"{label}: network.enabled is false; a graph needs the warm network on")
    try:
        checked = given_graph(given, sc.souls.count)
    except ValueError as exc:
        hint, n = "", sc.souls.count
        if given.ndim == 2 and given.dtype.kind in "iu" and given.shape[0] != n:  # the rows are what is wrong
            hint = (f" (its {n:,} columns are as many as the souls: is it transposed?)" if given.shape[1] == n
                    else f" ({souls_option}{given.shape[0]} runs as many souls as it has rows)")
        raise ScenarioError(f"{label}: {exc}{hint}") from None
    return resolve_scenario(sc, overrides={"network.k": int(checked.shape[1])}), checked


def report(folder: str | os.PathLike) -> Path:
    """Write ``folder/report.html`` for a finished run folder and return its path: one
    self-contained page of the run's figures and tables (:mod:`tikkun.report`; matplotlib is
    imported here, never by a run without a report)."""
    from .report import write_report

    return write_report(folder)


def _with_report(result: RunResult) -> RunResult:
    import dataclasses

    return dataclasses.replace(result, report=report(result.folder))


def vessel_inputs(scenario: Scenario, out: str | os.PathLike | None = None, vessel=None):
    """What phase 1 hands to phase 2: ``(unity_fn, world_unity)`` for :func:`tikkun.engine.build`.

    With a ``[genesis]`` section the vessel is run (and its files written into ``out``), unless
    its result ``vessel`` is given; each spark's unity is drawn from the broken vessel and the
    worlds start at its final unity. Without one: ``(None, None)``, the scenario's unity
    distribution and ``worlds.initial_unity``.
    """
    if scenario.genesis is None:
        return None, None
    if vessel is None:
        vessel = genesis(scenario, out=out)
    field, seed = vessel.field, scenario.run.seed
    return (lambda entities: shatter_unity(field, entities, seed)), vessel.final_unity


def genesis(scenario: Scenario, out: str | os.PathLike | None = None, progress: Callable | None = None,
            figures: bool = True):
    """Phase 1 alone: run the scenario's genesis script; with ``out``, write genesis.parquet,
    field.npy, genesis_stages.npz and, with ``figures``, a PNG of the vessel at each stage's
    end (:func:`write_genesis_outputs`). Returns the GenesisResult."""
    from .genesis import run_genesis

    environment.check()
    if scenario.genesis is None:
        raise ScenarioError("genesis: the scenario has no [genesis] section")
    with _interrupts_as_themselves():
        result = run_genesis(scenario.genesis, scenario.run.seed, progress)
        if out is not None:
            write_genesis_outputs(result, Path(out), parquet_metadata(scenario_to_toml(scenario), scenario.run.seed),
                                  figures=figures)
    return result


def write_genesis_outputs(result, out_dir: str | os.PathLike, metadata: dict[str, str] | None = None,
                          figures: bool = True) -> list[Path]:
    """Write the genesis' files into ``out_dir``: ``genesis.parquet`` (with ``metadata`` in its
    schema), ``field.npy`` and ``genesis_stages.npz``
    (:func:`tikkun.outputs.genesis.write_genesis_tables`) and, with ``figures``,
    ``genesis_<index>_<stage>.png`` for every stage end
    (:func:`tikkun.report.genesis.write_stage_figures`, which imports matplotlib). A run leaves
    the figures to its report, which draws them from ``genesis_stages.npz``. Returns the paths."""
    paths = write_genesis_tables(result, out_dir, metadata)
    if figures:
        from .report.genesis import write_stage_figures

        paths += write_stage_figures(Path(out_dir))
    return paths


def resume(folder: str | os.PathLike, progress: Callable | None = None, report: bool = False, *,
           folder_option: str = "folder") -> RunResult:
    """Continue a checkpointed run in its folder; the result equals an uninterrupted run.
    With ``report``, then write report.html (:func:`tikkun.api.report`). ``folder_option``: how messages
    name ``folder`` (the command line's ``--resume``). Raises ``tikkun.CheckpointError`` (a
    ``ValueError``) where the folder holds no checkpoint this code can continue, before anything
    is written."""
    environment.check()
    _check_arguments(folder, progress, report, "folder")
    if folder is None:
        raise ScenarioError("folder: the path of a checkpointed run's folder (got None)")
    folder = Path(folder)
    if not folder.is_dir():
        rf.load_checkpoint(folder, folder_option)  # says what the path is instead (no such folder, a file, ...)
    with rf.held(folder, folder_option):  # a second resume of the run, or the run still going, is refused
        # read inside the hold: one read before it could be a checkpoint another resume has since
        # carried on (or a run finished), which this one would then run again over it
        meta, state, metrics = rf.load_checkpoint(folder, folder_option)
        with _interrupts_as_themselves():
            result = _resume_in(folder, meta, state, metrics, progress, folder_option)
    return _with_report(result) if report else result


def _resume_in(folder: Path, meta: dict, state, metrics, progress, option: str) -> RunResult:
    """:func:`resume` in the held ``folder``, from its checkpoint (``meta``, ``state``, ``metrics``);
    messages name the folder by ``option``."""
    rf.restore_scenario(folder, meta["scenario"], option)  # before any work: an edited scenario.toml is refused
    remove_leftovers(folder)  # a killed run's half-written files (never its outputs, which are renamed whole)
    sc = build_scenario(_parse_toml(meta["scenario"], f"{folder}/checkpoint"), f"{folder}/checkpoint")
    graph = None
    if sc.network.enabled and sc.network.kind == "given":  # the graph it started from, as the checkpoint names it
        try:
            graph = rf.read_graph(folder)
        except ValueError as exc:
            raise rf.CheckpointError(f"{option} {folder}: {exc}; put back the one the run was given") from None
        if rf.graph_digest(graph) != meta.get("graph_sha256"):
            raise rf.CheckpointError(f"{option} {folder}: {rf.GRAPH_NAME} is not the graph the run started from (its "
                                     "sha256 is not the checkpoint's); put back the one the run was given")
    saveat = SaveAt.from_dict(meta.get("saveat"))
    for year in (y for y in saveat.souls if y < state.year):  # kept before the checkpoint: not made again
        problem = _kept_souls_problem(folder / rf.saved_souls_name(year), state.n_souls)
        if problem:
            raise rf.CheckpointError(f"{option} {folder}: {rf.saved_souls_name(year)}, kept before the checkpoint, "
                                     f"{problem}; put it back (or run the scenario again)")
    recorder = Recorder(sc.run.years)
    recorder.restore(metrics)
    return _drive(sc, folder, meta["checkpoint_every"], progress, state=state, recorder=recorder,
                  wall_before=float(meta.get("wall_seconds", 0.0)), graph=graph, saveat=saveat,
                  genesis_seconds=meta.get("genesis_seconds"))


def _kept_souls_problem(path: Path, souls: int) -> str | None:
    """What is wrong with the souls a run kept at a year (``path``), as a resume finds them."""
    if not path.is_file():
        return "is missing"
    try:
        rows = len(rf.read_parquet(path)["soul"])
    except Exception as exc:  # noqa: BLE001 - whatever the reader says of a file that is not the table
        return f"cannot be read ({type(exc).__name__})"
    return None if rows == souls else f"holds {rows:,} souls, not the run's {souls:,}"


def events_not_reached(scenario: Scenario, years_run: int) -> list[dict[str, Any]]:
    """The scenario's events that never came: scheduled at or after ``years_run`` (a run that
    stopped at the end of correction before them). One dict per event: index, kind, label, year."""
    return [{"index": i, "kind": ev.kind, "label": ev.label, "year": ev.year}
            for i, ev in enumerate(scenario.events) if ev.year >= years_run]


def _drive(sc: Scenario, folder: Path | None, checkpoint_every, progress, *, state, recorder,
           wall_before: float, unity_fn=None, world_unity=None, vessel=None, graph=None, genesis_seconds=None,
           saveat: SaveAt = SaveAt()) -> RunResult:
    t0 = time.perf_counter()
    graph_sha = rf.graph_digest(graph) if graph is not None else None  # the graph the run starts from
    meta = parquet_metadata(scenario_to_toml(sc), sc.run.seed, graph_sha)

    def checkpoint(st, rec):
        rf.save_checkpoint(folder, st, rec, sc, checkpoint_every, wall_before + time.perf_counter() - t0, graph_sha,
                           saveat, genesis_seconds)

    saved: dict[int, dict[str, np.ndarray]] = {}

    def keep_souls(st, rec, schedule):
        year = int(st.year) - 1
        saved[year] = rf.souls_table(st, sc, schedule, rec.table())
        if folder is not None:
            rf.write_parquet(folder / rf.saved_souls_name(year), saved[year], meta, SOUL_COLUMNS)

    sim = simulate(sc, state=state, recorder=recorder, progress=progress,
                   checkpoint=checkpoint if (folder is not None and checkpoint_every) else None,
                   checkpoint_every=checkpoint_every, unity_fn=unity_fn, world_unity=world_unity,
                   graph=graph if state is None else None,  # a resumed state has its graph
                   saveat=saveat, keep_souls=keep_souls)
    souls_tab = rf.souls_table(sim.state, sc, sim.schedule, sim.metrics)
    summary = {
        "end_year": sim.end_year,
        "years_run": int(sim.state.year),
        "stop_reason": sim.stop_reason.value,
        "stop_message": sim.stop_reason.message,
        "seed": sc.run.seed,
        "souls": sim.state.n_souls,
        "sparks": sim.state.n_sparks,
        "complete": int(sim.state.complete.sum()),
        "weakest_link": float(sim.state.weakest_link),
        "cleansing_mean": float(sim.state.cleansing_mean),
        "wall_seconds": round(wall_before + time.perf_counter() - t0, 3),
        **provenance(),  # tikkun_version, tikkun_code, model_revision
        "sparks_unity_mean": float(sim.state.unity.astype(np.float64).mean()) if sim.state.n_sparks else None,
        "events_not_reached": events_not_reached(sc, int(sim.state.year)),
    }
    if graph is not None:  # the graph it started from
        summary["graph"] = {"souls": int(graph.shape[0]), "k": int(graph.shape[1]), "sha256": graph_sha}
    if vessel is not None:
        summary["genesis"] = {"final_unity": float(vessel.records["unity"][-1]),
                              "final_mixing": float(vessel.records["mixing"][-1])}
    elif folder is not None and (folder / "genesis.parquet").exists():  # a resumed run: from its file
        rec = rf.read_parquet(folder / "genesis.parquet")
        summary["genesis"] = {"final_unity": float(rec["unity"][-1]), "final_mixing": float(rec["mixing"][-1])}
    if "genesis" in summary and genesis_seconds is not None:  # not in wall_seconds, which counts the years
        summary["genesis"]["seconds"] = genesis_seconds
    if saveat:
        summary["saved"] = {"souls": [y for y in saveat.souls if y < sim.state.year],
                            "souls_not_reached": [y for y in saveat.souls if y >= sim.state.year],
                            "network": rf.NETWORK_NAME if saveat.network else None}
    network = sim.state.neighbours.copy() if saveat.network else None
    if folder is not None:
        if network is not None:
            rf.write_npy(folder / rf.NETWORK_NAME, network)
        rf.write_parquet(folder / "metrics.parquet", sim.metrics, meta, METRIC_COLUMNS)
        rf.write_parquet(folder / "souls.parquet", souls_tab, meta, SOUL_COLUMNS)
        rf.write_summary(folder, summary)
        with contextlib.suppress(FileNotFoundError):
            (folder / rf.CHECKPOINT_NAME).unlink()  # the run is finished; its checkpoint is spent
    if folder is not None and state is not None:  # a resumed run: the years kept before the cut, from their files
        for y in saveat.souls:
            if y not in saved and y < sim.state.year and (folder / rf.saved_souls_name(y)).is_file():
                saved[y] = rf.read_parquet(folder / rf.saved_souls_name(y))
    return RunResult(sc, sim.metrics, souls_tab, summary, folder, sim, saved_souls=dict(sorted(saved.items())),
                     network=network)
