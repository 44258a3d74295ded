"""The run folder's files and the writing beneath them: atomic writes with the usual file mode,
souls.parquet at a run's last year, and checkpoints that refuse what they cannot resume.

Each value is worked out here from its definition (MODEL.md, the Standards' "outputs are
written atomically", the checkpoint's documented format), not read from the code under test.
"""

import json
import os
import pickle
import re
import stat
import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest
from test_resume import Cut, _crash_after  # a run killed after a year, as test_resume.py kills its runs

import tikkun
from tikkun.outputs import atomic
from tikkun.outputs import run_folder as rf


# ---------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_written_file_has_the_usual_mode_for_the_umask(tmp_path, umask, mode):
    """A new file gets 0o666 less the umask, as ``open(..., "w")`` would give it (the temporary
    file it comes from is made 0o600)."""
    old = os.umask(umask)
    try:
        atomic.write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == mode


# Linux alone tells a process its umask without setting it (/proc/self/status); elsewhere a write
# sets it and puts it back, as the test above checks the modes it gives
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="only Linux tells the umask without setting it")
def test_a_write_reads_the_umask_without_setting_it(tmp_path, monkeypatch):
    """Setting the umask to read it would give a file another thread makes in between (the
    dashboard and the sweeps write from threads) the mode 0o666: a write never sets it."""
    old = os.umask(0o027)
    try:
        def no_setting(mask):
            raise AssertionError("the umask was set")

        monkeypatch.setattr(os, "umask", no_setting)
        atomic.write_text(tmp_path / "a.txt", "x")
        atomic.write_text(tmp_path / "b.txt", "y", exclusive=True)
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert {stat.S_IMODE((tmp_path / n).stat().st_mode) for n in ("a.txt", "b.txt")} == {0o640}
    # nor does importing tikkun (a Dask worker imports it while its other threads run)
    code = ("import os\ncalls = []\nreal = os.umask\nos.umask = lambda m: (calls.append(m), real(m))[1]\n"
            "import tikkun, tikkun.outputs.atomic, tikkun.outputs.run_folder\nprint(calls)\n")
    import subprocess

    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr


def test_a_write_makes_the_folders_it_needs(tmp_path):
    target = tmp_path / "a" / "b" / "c.txt"
    atomic.write_text(target, "hello")
    assert target.read_text() == "hello"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")

    def writer(tmp):
        tmp.write_text("half of the ne")
        raise KeyboardInterrupt  # a BaseException, as a Ctrl-C mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic.write_with(target, writer)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("links", [True, False])
def test_an_exclusive_write_never_replaces_a_file(tmp_path, monkeypatch, links):
    """With ``exclusive`` a file is written only where none is; with or without hard links
    (some file systems have none)."""
    if not links:
        def no_link(src, dst):
            raise PermissionError(1, "Operation not permitted")

        monkeypatch.setattr(atomic.os, "link", no_link)
    target = tmp_path / "scenario.toml"
    atomic.write_text(target, "first", exclusive=True)
    assert target.read_text() == "first"
    with pytest.raises(FileExistsError):
        atomic.write_text(target, "second", exclusive=True)
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"]  # no temporary left


def test_two_runs_started_at_once_into_one_folder_never_mix(tmp_path, monkeypatch):
    """Both find the folder empty; the one that writes its first file second is refused
    (OutputError, exit code 2 on the command line) and the other's run is left whole, equal
    to the same run made elsewhere."""
    import tikkun.api as api

    real = api.prepare_folder
    other = []

    def prepare_then_lose_the_race(out, option):
        folder = real(out, option)
        if not other:  # the other run, started at the same moment, writes its files now
            other.append(folder)
            tikkun.run(preset="quick", souls=120, years=12, seed=1, out=folder)
        return folder

    monkeypatch.setattr(api, "prepare_folder", prepare_then_lose_the_race)
    folder = tmp_path / "shared"
    with pytest.raises(api.OutputError, match=f"^out {re.escape(str(folder))}: another run began writing into it"):
        tikkun.run(preset="quick", souls=150, years=10, seed=2, out=folder)
    monkeypatch.setattr(api, "prepare_folder", real)
    alone = tikkun.run(preset="quick", souls=120, years=12, seed=1, out=tmp_path / "alone")
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in alone.folder.iterdir())
    for name in ("scenario.toml", "metrics.parquet", "souls.parquet"):
        assert (folder / name).read_bytes() == (alone.folder / name).read_bytes(), name


_TERMINATED_MID_WRITE = """
import os, signal, sys, time
from pathlib import Path
import typer
from tikkun import cli
from tikkun.outputs.atomic import atomic_path

app = typer.Typer()

@app.command()
def write(folder: Path):
    with atomic_path(folder / "out.bin") as tmp:
        tmp.write_bytes(b"half of it")
        os.kill(os.getpid(), signal.SIGTERM)  # as a job's time limit would, in the middle of a write
        time.sleep(60)

cli.app = app  # the command line's own entry point, with this one command
cli.main()
"""


def test_a_command_terminated_mid_write_leaves_no_temporary(tmp_path):
    """SIGTERM (a batch system's time limit, ``timeout``) ends a command as Ctrl-C does: the
    half-written file is removed, the target never appears, the exit code is Ctrl-C's."""
    import subprocess
    import sys

    folder = tmp_path / "out"
    folder.mkdir()
    done = subprocess.run([sys.executable, "-c", _TERMINATED_MID_WRITE, str(folder)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 130, done.stderr
    assert list(folder.iterdir()) == []


def test_leftovers_of_atomic_writes_are_removed_and_nothing_else(tmp_path):
    """What a killed process's ``atomic_path`` leaves (``.NAME.tikkun-`` + mkstemp's eight
    characters + ``.tmp``) goes; a user's files, hidden or named ``.tmp``, and subfolders stay."""
    import tempfile

    fd, left = tempfile.mkstemp(prefix=".metrics.parquet.tikkun-", suffix=".tmp", dir=tmp_path)  # as atomic_path
    os.close(fd)
    keep = [".notes.tmp", "draft.tmp", ".metrics.parquet.short.tmp", ".notes.backup01.tmp",
            ".metrics.parquet.tikkun-short.tmp", "metrics.parquet"]
    for name in keep:
        (tmp_path / name).write_text("mine")
    (tmp_path / ".sub.tikkun-abcdefgh.tmp").mkdir()  # a folder is never an atomic write's
    assert atomic.remove_leftovers(tmp_path) == [tmp_path / os.path.basename(left)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep + [".sub.tikkun-abcdefgh.tmp"])


# ---------------------------------------------------------------- souls.parquet
@pytest.mark.parametrize("k", [1, 3])
def test_neighbours_mean_cleansing_is_the_mean_over_the_row(k):
    rng = np.random.default_rng(k)
    cleansing = rng.random(7).astype(np.float32)
    neighbours = rng.integers(0, 7, size=(7, k)).astype(np.int32)
    state = SimpleNamespace(neighbours=neighbours, cleansing=cleansing, n_souls=7)
    want = [sum(float(cleansing[m]) for m in row) / k for row in neighbours]
    np.testing.assert_allclose(rf.neighbours_mean_cleansing(state), want, rtol=1e-15)


def test_neighbours_mean_cleansing_without_a_network_is_nan_and_quiet():
    """No network (k = 0): NaN for every soul, with no warning (a mean over an empty row would
    print NumPy's "Mean of empty slice" into the user's run)."""
    state = SimpleNamespace(neighbours=np.zeros((5, 0), dtype=np.int32), cleansing=np.ones(5, np.float32), n_souls=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = rf.neighbours_mean_cleansing(state)
    assert got.shape == (5,) and np.isnan(got).all()


def test_souls_table_uses_the_last_years_light_and_omega(tmp_path):
    """A light and an omega set for the last year alone: ``I_i = lam W ((1 - omega) c_i + omega
    G)`` with that year's values (0.5 and 0.9), the last year's W and G from metrics.parquet.
    Souls completed by an event in year 0 have completed_year 0 (not null); the others, never
    complete here, null. unity_mean is each soul's sparks' mean unity."""
    years = 12
    res = tikkun.run(preset="quick", souls=200, years=years, out=tmp_path / "r",
                     overrides={"run.stop_at_end": False, "network.enabled": False},
                     events=[{"kind": "set", "year": years - 1, "key": "light.light", "value": 0.5},
                             {"kind": "set", "year": years - 1, "key": "light.omega", "value": 0.9},
                             {"kind": "complete", "year": 0, "group": {"first": 0, "count": 3}}])
    souls = pq.read_table(tmp_path / "r" / "souls.parquet").to_pydict()
    m = res.metrics
    W, G = float(m["conductance"][-1]), float(m["weakest_link"][-1])
    c = np.asarray(souls["cleansing"], dtype=np.float64)
    np.testing.assert_allclose(souls["illumination"], 0.5 * W * (0.1 * c + 0.9 * G), rtol=1e-9)
    done = np.asarray(souls["complete"], dtype=bool)
    assert done[:3].all() and souls["completed_year"][:3] == [0, 0, 0]
    assert all(y is None for y, d in zip(souls["completed_year"], done) if not d)
    state = res.simulation.state
    start = state.spark_start
    want = [float(np.mean(state.unity[start[i]:start[i + 1]].astype(np.float64))) for i in range(state.n_souls)]
    np.testing.assert_allclose(souls["unity_mean"], want, rtol=1e-12)
    assert all(np.isnan(souls["neighbours_mean_cleansing"]))


def test_souls_parquet_has_the_documented_columns(tmp_path):
    """souls.parquet's columns, in order and with their types, are those SOUL_COLUMNS documents."""
    from tikkun.records import SOUL_COLUMNS

    res = tikkun.run(preset="quick", souls=100, years=3)
    assert list(res.souls) == list(SOUL_COLUMNS)
    for name, (dtype, _) in SOUL_COLUMNS.items():
        got = res.souls[name]
        assert (got.dtype.kind in "UO" and isinstance(got[0], str)) if dtype == "str" else got.dtype == dtype, name


def test_every_column_of_a_runs_tables_says_what_it_is(tmp_path):
    """metrics.parquet, souls.parquet and a kept souls_<year>.parquet carry each column's meaning
    as the field's ``description``, so any Parquet reader shows it; the data stay as they were."""
    import pyarrow.parquet as pq

    from tikkun.records import METRIC_COLUMNS, SOUL_COLUMNS

    res = tikkun.run(preset="quick", souls=100, years=6, out=tmp_path / "r", saveat=tikkun.SaveAt(souls=(2,)))
    for name, columns in (("metrics.parquet", METRIC_COLUMNS), ("souls.parquet", SOUL_COLUMNS),
                          ("souls_2.parquet", SOUL_COLUMNS)):
        schema = pq.read_schema(tmp_path / "r" / name)
        assert schema.names == list(columns), name
        for field in schema:
            assert field.metadata == {b"description": columns[field.name][1].encode()}, (name, field.name)
    assert pq.read_table(tmp_path / "r" / "souls.parquet").column("completed_year").null_count == \
        int((res.souls["completed_year"] == -1).sum())


def test_the_results_frames_are_the_files_as_pandas_reads_them(tmp_path):
    """souls_frame() and metrics_frame() equal pandas.read_parquet of the run's files: a soul
    not complete has completed_year null there, not the -1 of RunResult.souls."""
    import pandas as pd  # the test extra installs it (tikkun[sweep]): missing, the test fails, not skips
    res = tikkun.run(preset="quick", souls=200, years=12, out=tmp_path / "r",
                     events=[{"kind": "complete", "year": 0, "group": {"first": 0, "count": 3}}])
    assert (res.souls["completed_year"] == -1).any()
    souls = res.souls_frame()
    pd.testing.assert_frame_equal(souls, pd.read_parquet(tmp_path / "r" / "souls.parquet"))
    pd.testing.assert_frame_equal(res.metrics_frame(), pd.read_parquet(tmp_path / "r" / "metrics.parquet"))
    assert souls["completed_year"].isna().sum() == (res.souls["completed_year"] == -1).sum()
    assert souls["completed_year"].min() == 0


def test_a_run_of_one_year_writes_its_souls(tmp_path):
    res = tikkun.run(preset="quick", souls=100, years=1, out=tmp_path / "r", overrides={"light.light": 0.7})
    souls = pq.read_table(tmp_path / "r" / "souls.parquet").to_pydict()
    W, G = float(res.metrics["conductance"][0]), float(res.metrics["weakest_link"][0])
    c = np.asarray(souls["cleansing"], dtype=np.float64)
    np.testing.assert_allclose(souls["illumination"], 0.7 * W * (0.5 * c + 0.5 * G), rtol=1e-9)


# ---------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def cut_run(tmp_path_factory):
    """A run stopped after year 10 with a checkpoint every 5 years: its checkpoint is year 10's."""
    folder = tmp_path_factory.mktemp("ckpt") / "cut"
    with pytest.raises(Cut):
        tikkun.run(preset="quick", souls=150, years=40, out=folder, checkpoint_every=5, progress=_crash_after(11),
                   overrides={"run.stop_at_end": False})
    return folder


def _rewrite_meta(src, dst, **changes):
    """``src``'s checkpoint in ``dst`` with its meta changed (a value None: the key removed)."""
    with np.load(src / rf.CHECKPOINT_NAME, allow_pickle=False) as data:
        payload = {k: data[k] for k in data.files}
    meta = json.loads(bytes(payload["meta"]).decode("utf-8"))
    for k, v in changes.items():
        meta.pop(k, None) if v is None else meta.__setitem__(k, v)
    payload["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    dst.mkdir()
    with open(dst / rf.CHECKPOINT_NAME, "wb") as fh:
        np.savez(fh, **payload)
    return dst


def test_checkpoint_meta_reads_the_year_without_the_arrays(cut_run, tmp_path):
    meta = rf.checkpoint_meta(cut_run)
    assert meta["scalars"]["year"] == 10 and meta["checkpoint_every"] == 5
    assert meta["tikkun_version"] == tikkun.__version__
    assert rf.checkpoint_meta(tmp_path) is None  # no checkpoint
    (tmp_path / rf.CHECKPOINT_NAME).write_bytes(b"PK\x03\x04 not a zip at all")
    assert rf.checkpoint_meta(tmp_path) is None  # a truncated or foreign file


# format 3 is revision 2's (completed_year); 2 and anything newer cannot be resumed here
@pytest.mark.parametrize("changes", [{"format": 2}, {"format": 4}, {"tikkun_version": "0.0.1"},
                                     {"tikkun_version": "99.0"}, {"format": 2, "tikkun_version": "0.0.1"}])
def test_a_checkpoint_of_another_format_or_version_is_refused(cut_run, tmp_path, changes):
    folder = _rewrite_meta(cut_run, tmp_path / "other", **changes)
    with pytest.raises(rf.CheckpointError, match="the checkpoint was written by tikkun"):
        rf.load_checkpoint(folder)


def test_the_checkpoint_as_written_loads(cut_run, tmp_path):
    meta, state, metrics = rf.load_checkpoint(_rewrite_meta(cut_run, tmp_path / "same"))
    assert meta["format"] == 3 and state.year == 10 and len(metrics["year"]) == 10


def _rewrite_payload(src, dst, change):
    """``src``'s checkpoint in ``dst`` after ``change(payload, meta)`` (both dicts, changed in
    place; a ``payload["meta"]`` it sets is written as the meta instead)."""
    with np.load(src / rf.CHECKPOINT_NAME, allow_pickle=False) as data:
        payload = {k: data[k] for k in data.files}
    meta = json.loads(bytes(payload.pop("meta")).decode("utf-8"))
    change(payload, meta)
    payload["meta"] = np.frombuffer(json.dumps(payload.get("meta", meta)).encode("utf-8"), dtype=np.uint8)
    dst.mkdir()
    with open(dst / rf.CHECKPOINT_NAME, "wb") as fh:
        np.savez(fh, **payload)
    return dst


# an archive of the right format and code whose content does not fit: refused by name, never
# handed to the kernels (an array out of step with the others corrupted memory)
@pytest.mark.parametrize("change, needle", [
    (lambda p, m: p.__setitem__("meta", [1, 2]), "holds no run's record"),
    (lambda p, m: m.pop("scalars"), "its scalars are not year"),
    (lambda p, m: m.__setitem__("scalars", {**m["scalars"], "year": "ten"}), "its scalars are not year"),
    (lambda p, m: m.__setitem__("scalars", {**m["scalars"], "year": 10**9}), "is outside the run's 40 years"),
    (lambda p, m: m.__setitem__("scenario", "x = = 1"), "its scenario: "),
    (lambda p, m: m.__setitem__("scenario", "[souls]\ncount = -1\n"), "souls.count"),
    (lambda p, m: m.__setitem__("checkpoint_every", "5"), "checkpoint_every"),
    (lambda p, m: p.__setitem__("state_cleansing", p["state_cleansing"][:3]), "cleansing has 3 rows, not 150"),
    (lambda p, m: p.__setitem__("state_screen", p["state_screen"][:-1]), "screen has"),
    (lambda p, m: p.__setitem__("state_spark_start", p["state_spark_start"][::-1].copy()), "spark_start"),
    (lambda p, m: p.__setitem__("state_neighbours", p["state_neighbours"] + 10**6), "neighbours"),
    # arrays of the right length in another dtype or shape, values not finite, another degree
    (lambda p, m: p.__setitem__("state_neighbours", p["state_neighbours"].astype(np.float64)),
     "neighbours is float64, not int32"),
    (lambda p, m: p.__setitem__("state_spark_start", p["state_spark_start"].astype(np.float64)),
     "spark_start is float64, not int64"),
    (lambda p, m: p.__setitem__("state_cleansing", p["state_cleansing"].astype(np.float64)),
     "cleansing is float64, not float32"),
    (lambda p, m: p.__setitem__("state_cleansing", p["state_cleansing"][:, None].copy()),
     "cleansing is not one value a row (its shape is (150, 1))"),
    (lambda p, m: p["state_cleansing"].__setitem__(7, np.nan), "cleansing holds values that are not finite"),
    (lambda p, m: p.__setitem__("state_neighbours", p["state_neighbours"][:, :2].copy()),
     "neighbours has 2 columns, not the scenario's 8 (network.k)"),
    (lambda p, m: m.__setitem__("wall_seconds", "abc"), "wall_seconds is not a number of seconds"),
    (lambda p, m: p.pop("metric_year"), "the metric year"),
    (lambda p, m: p.__setitem__("metric_year", p["metric_year"][:2]), "the metric year"),
    (lambda p, m: m.__setitem__("saveat", {"souls": [40]}), "saveat) is not of this run: souls at year 40"),
    (lambda p, m: m.__setitem__("saveat", {"souls": "3"}), "what it keeps (saveat)"),
    (lambda p, m: m.__setitem__("saveat", {"network": "false"}), "what it keeps (saveat)"),
    (lambda p, m: m.__setitem__("saveat", [3]), "what it keeps (saveat)"),
])
def test_a_checkpoint_whose_content_does_not_fit_is_refused(cut_run, tmp_path, change, needle):
    folder = _rewrite_payload(cut_run, tmp_path / "odd", change)
    with pytest.raises(rf.CheckpointError) as info:
        rf.load_checkpoint(folder)
    assert needle in str(info.value) and str(info.value).startswith(f"--resume {folder}: "), str(info.value)


def test_a_truncated_checkpoint_is_refused_by_name(cut_run, tmp_path):
    folder = tmp_path / "trunc"
    folder.mkdir()
    data = (cut_run / rf.CHECKPOINT_NAME).read_bytes()
    (folder / rf.CHECKPOINT_NAME).write_bytes(data[: len(data) // 2])
    with pytest.raises(rf.CheckpointError, match="cannot be read"):
        rf.load_checkpoint(folder)


def test_a_file_that_is_no_archive_is_refused_without_numpys_advice_to_unpickle(tmp_path):
    folder = tmp_path / "garbage"
    folder.mkdir()
    (folder / rf.CHECKPOINT_NAME).write_bytes(b"garbage")
    with pytest.raises(rf.CheckpointError) as info:
        rf.load_checkpoint(folder)
    assert f"{rf.CHECKPOINT_NAME} cannot be read (not a NumPy .npz archive)" in str(info.value)
    assert "allow_pickle" not in str(info.value) and "pickle.load" not in str(info.value)


class _Marker:
    """Unpickling this writes a file: a checkpoint must never run code from the file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_checkpoint_never_unpickles(cut_run, tmp_path):
    marker = tmp_path / "ran"
    folder = tmp_path / "foreign"
    folder.mkdir()
    with np.load(cut_run / rf.CHECKPOINT_NAME, allow_pickle=False) as data:
        payload = {k: data[k] for k in data.files}
    evil = np.empty(1, dtype=object)
    evil[0] = _Marker(marker)
    payload["meta"] = evil
    payload["state_effort"] = evil
    with open(folder / rf.CHECKPOINT_NAME, "wb") as fh:
        np.savez(fh, **payload)
    pickle.dumps(evil)  # it is picklable: the file really holds a pickle
    assert rf.checkpoint_meta(folder) is None
    with pytest.raises(rf.CheckpointError, match="cannot be read"):
        rf.load_checkpoint(folder)
    assert not marker.exists()


def test_a_folder_is_held_by_one_writer_and_a_file_system_without_locks_holds_none(tmp_path, monkeypatch):
    """A second hold of a held folder is refused (another process writing it: a second open
    file is as another process to flock); where the file system keeps no locks the run goes on
    unheld rather than fail."""
    import errno
    import fcntl

    with rf.held(tmp_path, "--resume"):
        with pytest.raises(rf.CheckpointError, match=r"^--resume .*: another tikkun process is writing this run"):
            with rf.held(tmp_path, "--resume"):
                pass
    with rf.held(tmp_path, "--resume"):  # released with the first
        pass

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with rf.held(tmp_path, "--out"):
        pass
