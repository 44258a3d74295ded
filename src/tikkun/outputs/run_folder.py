"""The run folder: scenario.toml, metrics.parquet, souls.parquet, summary.json, checkpoint.npz.

Every file is written atomically (:mod:`tikkun.outputs.atomic`). A checkpoint is one file, so a
``kill -9`` at any moment leaves either the previous checkpoint or the new one.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..records import Recorder, SaveAt
from ..rules.illumination import illumination
from ..rules.network import edge_weights
from ..rules.stages import journeys, stages
from ..scenario import Scenario, scenario_to_toml
from ..state import ARRAY_DTYPES, DERIVED_ARRAYS, GLOBAL_ARRAYS, SOUL_ARRAYS, SPARK_ARRAYS, State
from .atomic import write_text, write_with
from .provenance import code_digest

CHECKPOINT_FORMAT = 3  # 3: completed_year (model revision 2); 2: no edge_warmth, edge_weight rebuilt on load
CHECKPOINT_NAME = "checkpoint.npz"


class CheckpointError(ValueError):
    """A folder that cannot be resumed; the message says why."""


def write_scenario(folder: Path, scenario: Scenario) -> None:
    """Write ``folder/scenario.toml``, a run's first file, only if the folder has none: it
    claims the folder (FileExistsError if another run has, even one that began at the same
    moment)."""
    write_text(folder / "scenario.toml", scenario_to_toml(scenario), exclusive=True)


@contextlib.contextmanager
def held(folder: Path, option: str):
    """Hold ``folder`` while a run writes into it: another process that would write there (a
    resume of the same run, started while it runs) is refused (:class:`CheckpointError`, its
    message beginning with ``option``) rather than removing the files it is writing. The hold is
    the system's lock on the folder itself (``flock``), released when the process ends however
    it ends, so nothing is left in the folder; where there is no ``fcntl``, or the file system
    keeps no locks, nothing is held and the run goes on."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder that cannot be opened to lock (too many open files): its writes will say
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CheckpointError(f"{option} {folder}: another tikkun process is writing this run (the run, or a "
                                  "resume of it); wait for it to end, then resume it") from None
        except OSError:  # a file system without locks (ENOLCK, EOPNOTSUPP: some network mounts): not held
            pass
        yield
    finally:
        os.close(fd)  # the lock goes with it


def missing_folders(folder: Path) -> list[Path]:
    """``folder`` and the folders above it that do not exist yet, nearest first: a command that
    makes them and then fails, or removes what it wrote, removes them too (:func:`remove_empty`)."""
    folder = Path(folder).absolute()
    return [p for p in (folder, *folder.parents) if not os.path.exists(p)]  # False for a name too long, too


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (nearest first) while they are empty: one that holds anything stays, and
    so do those above it."""
    for p in folders:
        if not os.path.exists(p):  # never made (the command failed on its way down): those above may have been
            continue
        try:
            p.rmdir()
        except OSError:
            return


def scenario_file_differs(folder: Path, text: str) -> bool:
    """Whether ``folder/scenario.toml`` is there and is not exactly ``text`` (a checkpoint's
    scenario): edited, or unreadable, after the run began."""
    try:
        return (Path(folder) / "scenario.toml").read_text(encoding="utf-8") != text
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError):
        return True


def restore_scenario(folder: Path, text: str, option: str = "--resume") -> None:
    """Before a resume: ``folder/scenario.toml`` must be the scenario the run began with (``text``,
    the checkpoint's), or the finished folder would not say what made its results (its report,
    and ``tikkun run DIR/scenario.toml``, would be of another run). Written back where it is
    missing; CheckpointError where it differs, its message naming the folder by ``option``."""
    folder = Path(folder)
    if scenario_file_differs(folder, text):
        raise CheckpointError(f"{option} {folder}: scenario.toml is not the scenario the run began with (the "
                              "checkpoint's): the finished folder would not say what made its results; put it back as "
                              f"it was, or run the edited file as a new run (tikkun run {folder}/scenario.toml --out NEW)")
    if not (folder / "scenario.toml").exists():
        write_text(folder / "scenario.toml", text, exclusive=True)


# What a run writes into its folder before summary.json, which it writes last: an interrupted
# run without a checkpoint removes these (remove_unfinished), never a file it did not write.
GRAPH_NAME = "graph.npy"  # a given graph (network.kind = "given"), as the run started from it
NETWORK_NAME = "network.npy"  # the graph at the end, with SaveAt(network=True)
UNFINISHED_FILES = ("scenario.toml", GRAPH_NAME, "genesis.parquet", "field.npy", "genesis_stages.npz",
                    "metrics.parquet", "souls.parquet", NETWORK_NAME)
UNFINISHED_PATTERNS = ("genesis_*_*.png", "souls_*.parquet")


def saved_souls_name(year: int) -> str:
    """The file of the souls at the end of ``year`` (:class:`tikkun.records.SaveAt`)."""
    return f"souls_{year}.parquet"


def write_npy(path: Path, array: np.ndarray) -> None:
    """Write one int32 array as a ``.npy`` file, atomically (a graph: row ``i`` whom soul ``i`` hears)."""
    import io

    from .atomic import write_bytes

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, dtype=np.int32), allow_pickle=False)
    write_bytes(path, buf.getvalue())


def write_graph(folder: Path, graph: np.ndarray) -> None:
    """Write ``folder/graph.npy``: the given graph, int32 ``(n, k)``, that the run starts from."""
    write_npy(folder / GRAPH_NAME, graph)


def load_npy(path: Path) -> np.ndarray:
    """The one array of a ``.npy`` file (no pickled objects); FileNotFoundError where there is
    none, ValueError saying why where it cannot be read as one array."""
    try:
        a = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        # NumPy's own words advise loading "unsafely" (allow_pickle) a file it cannot read: not said here
        why = ("a file of another kind, or of pickled Python objects" if "pickle" in str(exc)
               else str(exc))
        raise ValueError(f"cannot be read as a NumPy array file (.npy): {why}") from None
    if not isinstance(a, np.ndarray):  # an .npz archive
        n = len(a.files)
        a.close()
        raise ValueError(f"is an archive of {n} array{'' if n == 1 else 's'} (.npz); give one array, saved with "
                         "numpy.save (.npy)")
    return a


def read_graph(folder: Path) -> np.ndarray:
    """The given graph a run folder keeps (:func:`write_graph`); ValueError, saying why, where
    it is missing or is not one array of whole numbers."""
    try:
        a = load_npy(Path(folder) / GRAPH_NAME)
    except FileNotFoundError:
        raise ValueError(f"{GRAPH_NAME}, the graph the run started from, is missing") from None
    except ValueError as exc:
        raise ValueError(f"{GRAPH_NAME} {exc}") from None
    if a.ndim != 2 or a.dtype.kind not in "iu":
        raise ValueError(f"{GRAPH_NAME} is not the graph of a run (one 2-D array of whole numbers)")
    return a


def graph_digest(graph: np.ndarray) -> str:
    """sha256 of a graph's entries as int32 in row order (summary.json's ``graph.sha256``)."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(graph, dtype=np.int32).tobytes()).hexdigest()


def remove_unfinished(folder: Path, remove_folder: bool = True) -> bool:
    """Remove what an interrupted run that left no checkpoint wrote into ``folder`` (its
    scenario, the genesis' outputs, the tables it was writing at its end, temporary files),
    and the folder if the run made it and that empties it, so that the same command can be
    run again; return whether nothing of the run is left. Nothing else is touched: the folder
    was empty when the run began (:func:`tikkun.api.prepare_folder`), and any other file in
    it is someone's. A finished run (``summary.json``) or a checkpointed one is left whole."""
    import contextlib

    from .atomic import remove_leftovers

    folder = Path(folder)
    if not folder.is_dir() or (folder / CHECKPOINT_NAME).exists() or (folder / "summary.json").exists():
        return False
    remove_leftovers(folder)
    paths = [folder / n for n in UNFINISHED_FILES] + [p for pat in UNFINISHED_PATTERNS for p in folder.glob(pat)]
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            if p.is_file():
                p.unlink()
    if any(folder.iterdir()):  # something not ours is in it
        return False
    if remove_folder:
        folder.rmdir()
    return True


# integer columns whose negative values mean "none": null in the Parquet file
NULL_IF_NEGATIVE = ("completed_year",)


def arrow_table(columns: dict[str, np.ndarray]) -> pa.Table:
    """The columns as the Parquet files hold them (``completed_year`` below 0: null)."""
    return pa.table({k: pa.array(v, mask=(v < 0) if k in NULL_IF_NEGATIVE else None) for k, v in columns.items()})


def write_parquet(path: Path, columns: dict[str, np.ndarray], metadata: dict[str, str] | None = None,
                  described: dict[str, tuple[str, str]] | None = None) -> None:
    """Atomically write ``columns`` (:func:`arrow_table`), with ``metadata`` (str -> str) added
    to the file's schema (a run's provenance: :func:`tikkun.outputs.provenance.parquet_metadata`)
    and, for each column ``described`` names (name -> (dtype, meaning), as
    :data:`tikkun.records.METRIC_COLUMNS`), its meaning as the field's ``description``: a file
    read by any Parquet tool says what its columns are."""
    table = arrow_table(columns)
    if described:
        table = pa.Table.from_arrays(table.columns, schema=pa.schema(
            [f.with_metadata({b"description": described[f.name][1].encode("utf-8")}) if f.name in described else f
             for f in table.schema]))
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               **{k.encode(): v.encode("utf-8") for k, v in metadata.items()}})
    write_with(path, lambda tmp: pq.write_table(table, tmp))


def read_parquet(path: Path) -> dict[str, np.ndarray]:
    """A table tikkun wrote, as it held it (a null ``completed_year`` back to -1: :func:`arrow_table`)."""
    table = pq.read_table(path)
    return {name: (table.column(name).fill_null(-1) if name in NULL_IF_NEGATIVE else table.column(name))
            .to_numpy(zero_copy_only=False) for name in table.column_names}


def souls_table(state: State, scenario: Scenario, schedule: dict, metrics: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per soul at the end of the run: illumination with the last year's light and
    conductance (the worlds' ``W`` of that year, as in ``metrics``), the year each soul
    completed, and its sparks' mean unity from the breaking."""
    last = max(state.year - 1, 0)
    lam = float(schedule["light.light"][last])
    w = float(metrics["conductance"][-1]) if len(metrics["conductance"]) else float(schedule["light.conductance"][0])
    omega = float(schedule["light.omega"][last])
    counts = state.sparks_per_soul
    unity_sum = np.add.reduceat(state.unity.astype(np.float64), state.spark_start[:-1]) if state.n_sparks else \
        np.zeros(state.n_souls)
    unity_sum[counts == 0] = np.nan
    return {
        "soul": np.arange(state.n_souls, dtype=np.int32),
        "cleansing": state.cleansing.copy(),
        "complete": state.complete.astype(bool),
        "completed_year": state.completed_year.copy(),
        "stage": stages(state.cleansing, state.complete, scenario.sparks.degrees).astype(str),
        "hbd": state.hbd.copy(),
        "effort": state.effort.copy(),
        "warmth": state.warmth.copy(),
        "attachment": state.attachment.copy(),
        "illumination": illumination(lam, w, omega, state.cleansing, state.weakest_link),
        "sparks": counts.astype(np.int32),
        "unity_mean": unity_sum / np.maximum(counts, 1),
        "special": state.special.astype(bool),
        "journey": journeys(state.cleansing, state.complete).astype(str),
        "neighbours_mean_cleansing": neighbours_mean_cleansing(state),
    }


def neighbours_mean_cleansing(state: State) -> np.ndarray:
    """float64 ``(n,)``: mean cleansing of the souls each soul listens to (NaN without a network)."""
    if state.neighbours.shape[1] == 0:
        return np.full(state.n_souls, np.nan)
    return state.cleansing.astype(np.float64)[state.neighbours].mean(axis=1)


def write_summary(folder: Path, summary: dict) -> None:
    """Write ``summary`` (JSON-able: str keys, numbers, text, lists) as ``folder/summary.json``, atomically."""
    write_text(folder / "summary.json", json.dumps(summary, indent=2) + "\n")


# ------------------------------------------------------------------ checkpoints
def save_checkpoint(folder: Path, state: State, recorder: Recorder, scenario: Scenario,
                    checkpoint_every: int, wall_seconds: float, graph_sha256: str | None = None,
                    saveat=None, genesis_seconds: float | None = None) -> None:
    """Write the whole state, the metrics so far and the scenario's text into one file (and, for
    a run of a given graph, the sha256 of the graph it started from, which a resume checks
    ``graph.npy`` against; with a :class:`tikkun.records.SaveAt`, what the run keeps, which
    the resumed run keeps too; the seconds its genesis took, for the summary).

    The generator has no state to save: every draw is a function of (seed, year, entity,
    purpose), and the year is ``state.year``.
    """
    meta = {
        "format": CHECKPOINT_FORMAT,
        "tikkun_version": __version__,
        "tikkun_code": code_digest(),
        "checkpoint_every": checkpoint_every,
        "wall_seconds": wall_seconds,
        "scalars": state.scalars(),
        "scenario": scenario_to_toml(scenario),
    }
    if graph_sha256 is not None:
        meta["graph_sha256"] = graph_sha256
    if saveat:
        meta["saveat"] = saveat.as_dict()
    if genesis_seconds is not None:
        meta["genesis_seconds"] = genesis_seconds
    payload = {f"state_{k}": v for k, v in state.saved_arrays().items()}
    payload.update({f"metric_{k}": v for k, v in recorder.table().items()})
    payload["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **payload)

    write_with(folder / CHECKPOINT_NAME, writer)


def checkpoint_meta(folder: Path) -> dict | None:
    """The meta of ``folder/checkpoint.npz`` (format, tikkun_version, tikkun_code, checkpoint_every,
    wall_seconds, scalars with the year, the scenario's text) without reading its arrays;
    None if there is no readable checkpoint."""
    path = Path(folder) / CHECKPOINT_NAME
    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(bytes(data["meta"]).decode("utf-8"))
    except Exception:  # absent, truncated or foreign: not a checkpoint to resume
        return None


def load_checkpoint(folder: Path, option: str = "--resume") -> tuple[dict, State, dict[str, np.ndarray]]:
    """Read ``folder/checkpoint.npz`` -> (meta, state, metrics table). Raises CheckpointError, its
    message naming the folder by ``option`` (``folder`` for :func:`tikkun.resume`)."""
    path = Path(folder) / CHECKPOINT_NAME
    if not Path(folder).is_dir():
        what = "a file, not a run folder" if Path(folder).exists() else "no such run folder"
        raise CheckpointError(f"{option} {folder}: {what}")
    if not path.exists() and (Path(folder) / "summary.json").exists():
        raise CheckpointError(f"{option} {folder}: the run has finished (summary.json); nothing to resume "
                              "(its checkpoint is removed when it ends)")
    if not path.exists():
        raise CheckpointError(f"{option} {folder}: not a checkpointed run (no {CHECKPOINT_NAME}; "
                              "a run with --checkpoint-every YEARS, checkpoint_every= in Python, makes one)")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            arrays = {k[6:]: data[k] for k in data.files if k.startswith("state_")}
            metrics = {k[7:]: data[k] for k in data.files if k.startswith("metric_")}
    except Exception as exc:  # a truncated or foreign file
        # NumPy reads a file that is no .npz archive as a pickle, which is never loaded here: its
        # advice to load it unsafely is not for a user resuming a run
        why = "not a NumPy .npz archive" if "pickle" in str(exc) else str(exc)
        raise CheckpointError(f"{option} {folder}: {CHECKPOINT_NAME} cannot be read ({why}); it is not a checkpoint "
                              "tikkun wrote whole: start the run again") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{option} {folder}: {CHECKPOINT_NAME} holds no run's record; it is not a checkpoint "
                              "tikkun wrote whole: start the run again")
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("tikkun_version") != __version__:
        raise CheckpointError(
            f"{option} {folder}: the checkpoint was written by tikkun {meta.get('tikkun_version')} "
            f"(format {meta.get('format')}); this is tikkun {__version__} (format {CHECKPOINT_FORMAT}). "
            "Resume it with that version, or start the run again.")
    if meta.get("tikkun_code") != code_digest():
        raise CheckpointError(
            f"{option} {folder}: the checkpoint was written by other code than this tikkun {__version__} "
            f"(its sources differ: another or an edited checkout; the checkpoint's tikkun_code "
            f"{meta.get('tikkun_code') or 'is not recorded'}, this one's {code_digest()}, `tikkun version --code` "
            "prints it), so the resumed run could have neither code's bits. Resume it with that code, or start "
            "the run again.")
    missing = [k for k in SOUL_ARRAYS + SPARK_ARRAYS + GLOBAL_ARRAYS if k not in arrays and k not in DERIVED_ARRAYS]
    if missing:
        raise CheckpointError(f"{option} {folder}: the checkpoint lacks {', '.join(missing)}")
    problem = _checkpoint_problem(meta, arrays, metrics)
    if problem is not None:  # the kernels index by these arrays: one out of step would corrupt memory
        raise CheckpointError(f"{option} {folder}: {CHECKPOINT_NAME} is inconsistent ({problem}); it is not a "
                              "checkpoint tikkun wrote whole: start the run again")
    state = State.from_saved(arrays, meta["scalars"], edge_weights(arrays["neighbours"], arrays["warmth"]))
    return meta, state, metrics


def _checkpoint_problem(meta: dict, arrays: dict[str, np.ndarray], metrics: dict[str, np.ndarray]) -> str | None:
    """What does not fit in a checkpoint that passed its format and code checks, or None: its
    record's keys, the scenario's text, the arrays' lengths and the indices into them, the
    metrics of the years run."""
    from ..scenario import ScenarioError
    from ..scenario.loading import _parse_toml, build_scenario

    scalars = meta.get("scalars")
    keys = ("year", "cleansing_mean", "weakest_link", "shepherds", "judge", "judge_cleansing")
    if not isinstance(scalars, dict) or sorted(scalars) != sorted(keys) or not all(
            isinstance(scalars[k], (int, float)) and not isinstance(scalars[k], bool) for k in keys) \
            or not isinstance(scalars["year"], int):
        return f"its scalars are not {', '.join(keys)}"
    if not isinstance(meta.get("checkpoint_every"), int) or meta["checkpoint_every"] <= 0:
        return "checkpoint_every is not a positive number of years"
    seconds = meta.get("genesis_seconds", 0.0)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds < float("inf"):
        return "genesis_seconds is not a number of seconds"
    if not isinstance(meta.get("scenario"), str):
        return "it holds no scenario"
    try:
        scenario = build_scenario(_parse_toml(meta["scenario"], "its scenario"), "its scenario")
    except ScenarioError as exc:
        lines = str(exc).splitlines()  # "its scenario: invalid scenario", then one line a problem
        return lines[0] if len(lines) == 1 else f"its scenario: {'; '.join(lines[1:])}"
    wall = meta.get("wall_seconds", 0.0)
    if not isinstance(wall, (int, float)) or isinstance(wall, bool) or not 0 <= wall < float("inf"):
        return "wall_seconds is not a number of seconds"
    for name, a in arrays.items():  # the kernels take each array only in the state's own dtype
        if a.dtype != ARRAY_DTYPES[name]:
            return f"{name} is {a.dtype}, not {ARRAY_DTYPES[name]}"
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            return f"{name} holds values that are not finite"
    n = scenario.souls.count
    start = arrays["spark_start"]
    if start.ndim != 1 or start.shape[0] != n + 1 or start[0] != 0 or np.any(np.diff(start) < 0):
        return f"spark_start is not the sparks' offsets of {n:,} souls"
    for name in SOUL_ARRAYS + SPARK_ARRAYS + GLOBAL_ARRAYS:
        if name in DERIVED_ARRAYS or name == "spark_start":
            continue
        want = 4 if name in GLOBAL_ARRAYS else int(start[-1]) if name in SPARK_ARRAYS else n
        if arrays[name].ndim < 1 or arrays[name].shape[0] != want:
            return f"{name} has {arrays[name].shape[0] if arrays[name].ndim else 0:,} rows, not {want:,}"
        if name != "neighbours" and arrays[name].ndim != 1:
            return f"{name} is not one value a row (its shape is {arrays[name].shape})"
    nb = arrays["neighbours"]
    k = scenario.network.k if scenario.network.enabled else 0
    if nb.ndim != 2 or (nb.size and (nb.min() < 0 or nb.max() >= n)):
        return f"neighbours does not name souls 0 to {n - 1:,}"
    if nb.shape[1] != k:
        return f"neighbours has {nb.shape[1]} columns, not the scenario's {k} (network.k)"
    year = scalars["year"]
    if not 0 <= year <= scenario.run.years:
        return f"year {year} is outside the run's {scenario.run.years:,} years"
    for name in Recorder(scenario.run.years).table():
        if name not in metrics or metrics[name].ndim != 1 or metrics[name].shape[0] != year:
            return f"the metric {name} is not one value for each of its {year:,} years"
    if "saveat" in meta:
        try:
            if not isinstance(meta["saveat"], dict):
                raise ValueError("not a table")
            SaveAt.from_dict(meta["saveat"]).check(scenario.run.years)
        except (TypeError, ValueError) as exc:
            return f"what it keeps (saveat) is not of this run: {exc}"
    return None
