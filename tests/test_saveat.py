"""What a run keeps besides its metrics (`tikkun.SaveAt`, `--souls-at`, `--save-network`).

The souls kept at the end of a year are checked against another run: the same scenario with
its horizon one year later, whose souls.parquet is written by the code every run uses at its
end. The graph at the end is checked against the state's (which the engine's twin checks year
by year, `tests/test_year_kernel.py`) and against the graph of year 0 (a run of one year).
"""

import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tikkun
from tikkun.outputs import run_folder as rf
from tikkun.scenario import ScenarioError

from test_resume import Cut, _crash_after  # a run killed after a year, as test_resume.py kills its runs

KW = dict(preset="quick", souls=1500, overrides={"events": []})
YEARS = (10, 49)


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    root = tmp_path_factory.mktemp("saveat")
    result = tikkun.run(**KW, years=60, out=root / "kept", saveat=tikkun.SaveAt(souls=YEARS + (10,), network=True))
    return root, result


def _table(path):
    return pq.read_table(path)


@pytest.mark.parametrize("year", YEARS)
def test_the_souls_kept_at_a_year_are_those_a_run_ending_then_writes(kept, year, tmp_path):
    root, result = kept
    short = tikkun.run(**KW, years=year + 1, out=tmp_path / "short")
    got, want = _table(root / "kept" / f"souls_{year}.parquet"), _table(short.folder / "souls.parquet")
    assert got.column_names == want.column_names
    for name in want.column_names:
        assert got.column(name).equals(want.column(name)), name
    # in memory the same table, completed_year -1 where the file has null
    mem = result.saved_souls[year]
    for name, values in rf.read_parquet(root / "kept" / f"souls_{year}.parquet").items():
        np.testing.assert_array_equal(mem[name], values, err_msg=name)
    assert np.array_equal(mem["completed_year"] < 0, np.asarray(got.column("completed_year").is_null()))
    import pandas as pd

    pd.testing.assert_frame_equal(result.souls_frame(year), pd.read_parquet(root / "kept" / f"souls_{year}.parquet"))
    with pytest.raises(KeyError, match=r"the souls of year 11 were not kept \(kept: 10, 49\)"):
        result.souls_frame(11)


def test_the_summary_names_what_was_kept_and_the_graph_at_the_end_is_the_states(kept, tmp_path):
    root, result = kept
    saved = json.loads((root / "kept" / "summary.json").read_text())["saved"]
    assert saved == {"souls": list(YEARS), "souls_not_reached": [], "network": "network.npy"}
    assert sorted(result.saved_souls) == list(YEARS)
    network = np.load(root / "kept" / "network.npy")
    assert network.dtype == np.int32 and network.shape == (1500, 8)
    np.testing.assert_array_equal(network, result.simulation.state.neighbours)
    np.testing.assert_array_equal(network, result.network)
    start = tikkun.run(**KW, years=1, saveat=tikkun.SaveAt(network=True)).network  # no rewiring in year 0
    changed = np.any(np.sort(network, axis=1) != np.sort(start, axis=1), axis=1)
    assert 0 < changed.sum() < 1500  # five rewirings moved some souls' rows, not all
    # given back, it is the graph a run starts from
    again = tikkun.run(**KW, years=1, graph=root / "kept" / "network.npy", saveat=tikkun.SaveAt(network=True))
    np.testing.assert_array_equal(again.network, network)


def test_years_after_the_end_are_named_not_kept(tmp_path):
    kw = dict(KW, overrides={"events": [], "light.alpha": 5.0, "run.stop_at_end": True})
    result = tikkun.run(**kw, years=400, out=tmp_path / "r", saveat=tikkun.SaveAt(souls=(5, 399)))
    end = result.summary["end_year"]
    assert end is not None and end < 399
    assert result.summary["saved"]["souls_not_reached"] == [399]
    with pytest.raises(KeyError, match=f"the souls of year 399 were asked for, but the run ended first, in year {end}"):
        result.souls_frame(399)
    assert sorted(p.name for p in (tmp_path / "r").glob("souls_*.parquet")) == ["souls_5.parquet"]


def test_a_resumed_run_keeps_what_it_was_asked_to_the_same_bits(kept, tmp_path):
    root, _ = kept
    with pytest.raises(Cut):
        tikkun.run(**KW, years=60, out=tmp_path / "cut", checkpoint_every=20, progress=_crash_after(46),
                   saveat=tikkun.SaveAt(souls=YEARS, network=True))
    assert (tmp_path / "cut" / "souls_10.parquet").is_file() and not (tmp_path / "cut" / "network.npy").exists()
    resumed = tikkun.resume(tmp_path / "cut")
    for name in [f"souls_{y}.parquet" for y in YEARS] + ["souls.parquet"]:
        assert _table(tmp_path / "cut" / name).equals(_table(root / "kept" / name)), name
    np.testing.assert_array_equal(np.load(tmp_path / "cut" / "network.npy"), np.load(root / "kept" / "network.npy"))
    assert sorted(resumed.saved_souls) == list(YEARS)  # the year kept before the cut, read back


def test_a_resume_whose_kept_souls_are_gone_is_refused(tmp_path):
    with pytest.raises(Cut):
        tikkun.run(**KW, years=60, out=tmp_path / "cut", checkpoint_every=20, progress=_crash_after(46),
                   saveat=tikkun.SaveAt(souls=YEARS))
    kept = (tmp_path / "cut" / "souls_10.parquet").read_bytes()
    (tmp_path / "cut" / "souls_10.parquet").write_text("not a table")
    with pytest.raises(rf.CheckpointError, match="souls_10.parquet, kept before the checkpoint, cannot be read"):
        tikkun.resume(tmp_path / "cut")
    pq.write_table(pq.read_table(pa.BufferReader(kept)).slice(0, 10), tmp_path / "cut" / "souls_10.parquet")
    with pytest.raises(rf.CheckpointError, match="souls_10.parquet, kept before the checkpoint, holds 10 souls, "
                                                 "not the run's 1,500"):
        tikkun.resume(tmp_path / "cut")
    (tmp_path / "cut" / "souls_10.parquet").unlink()
    with pytest.raises(rf.CheckpointError, match="souls_10.parquet, kept before the checkpoint, is missing"):
        tikkun.resume(tmp_path / "cut")
    assert (tmp_path / "cut" / rf.CHECKPOINT_NAME).is_file()  # nothing of the run was touched
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["checkpoint.npz", "scenario.toml"]


def test_an_interrupted_run_without_a_checkpoint_removes_what_it_kept(tmp_path):
    kept = []

    def cut_at_31(state, row):
        if row["year"] == 31:
            kept.append((tmp_path / "cut" / "souls_10.parquet").is_file())
            raise Cut
    with pytest.raises(Cut):
        tikkun.run(**KW, years=60, out=tmp_path / "cut", progress=cut_at_31, saveat=tikkun.SaveAt(souls=(10,)))
    assert kept == [True]  # written at year 10, and removed with the folder the stopped run made
    assert not (tmp_path / "cut").exists()
    (tmp_path / "left").mkdir()  # as a killed process leaves it: the cleanup of an interrupted command
    for name in ("scenario.toml", "souls_10.parquet"):
        (tmp_path / "left" / name).write_bytes(b"x")
    assert rf.remove_unfinished(tmp_path / "left") and not (tmp_path / "left").exists()


@pytest.mark.parametrize("saveat, needle", [
    (tikkun.SaveAt(souls=(60,)), "souls at year 60: give a year of the run, 0 to 59"),
    (tikkun.SaveAt(souls=(-1,)), "souls at year -1"),
    ("souls", "saveat: a tikkun.SaveAt"),
])
def test_saveat_outside_the_run_is_refused_before_anything_is_written(saveat, needle, tmp_path):
    with pytest.raises(ScenarioError, match=needle):
        tikkun.run(**KW, years=60, out=tmp_path / "r", saveat=saveat)
    assert not (tmp_path / "r").exists()


def test_saveat_checks_its_own_values():
    with pytest.raises(ValueError, match="a year is a whole number"):
        tikkun.SaveAt(souls=(1.5,))
    with pytest.raises(ValueError, match="network: true or false"):
        tikkun.SaveAt(network=1)
    assert tikkun.SaveAt(souls=(9, 3, 9)).souls == (3, 9)
    assert tikkun.SaveAt(souls=2448).souls == (2448,)  # one year
    with pytest.raises(ValueError, match="souls: a year or a list of years"):
        tikkun.SaveAt(souls="2448")
    with pytest.raises(ValueError, match="network: true or false"):
        tikkun.SaveAt.from_dict({"network": "false"})
    assert not tikkun.SaveAt() and tikkun.SaveAt(network=True)


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tikkun", "run", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("args, needle", [
    (["--souls-at", "400"], "--souls-at (SaveAt.souls): souls at year 400: give a year of the run, 0 to 399"),
    (["--save-network", "--set", "network.enabled=false"], "--save-network (SaveAt.network): the scenario has no"),
    (["--resume", "x", "--souls-at", "3"], "--resume continues a run exactly as it was started (keeping what it kept); give it without --souls-at"),
])
def test_the_command_line_refuses_with_exit_2_and_writes_nothing(args, needle, tmp_path):
    r = _cli("--preset", "quick", "--out", "r", *args, cwd=tmp_path) if "--resume" not in args else \
        _cli(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in " ".join(r.stderr.split())
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_keeps_the_souls_and_the_network(tmp_path):
    r = _cli("--preset", "quick", "--souls", "800", "--years", "30", "--souls-at", "12", "--save-network",
             "--out", "r", "-q", "--no-report", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r" / "souls_12.parquet").is_file() and (tmp_path / "r" / "network.npy").is_file()
