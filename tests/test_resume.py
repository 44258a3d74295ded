"""Resume in the cases the plain crash-and-resume test does not meet: the end of correction
reached before the checkpoint, a kill between summary.json and the checkpoint's removal, and
the wall time of a run that was cut."""

import json
import re
import shutil
import sys
import time

import numpy as np
import pytest

import tikkun
from tikkun.outputs import run_folder as rf
from tikkun.scenario import scenario_to_toml


class Cut(Exception):
    pass


def _crash_after(year):
    def progress(state, row):
        if state.year == year:
            raise Cut  # as if killed: the last checkpoint is on disk, no summary
    return progress


# fast light: the end of correction (G = 1) comes near year 30, the horizon is 60
KW = dict(preset="quick", souls=400, years=60, overrides={"light.alpha": 20.0, "run.stop_at_end": False})


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume") / "full"
    return tikkun.run(out=folder, **KW)


def test_resume_after_the_end_of_correction_was_reached(full, tmp_path):
    """The end comes before the checkpoint (stop_at_end false): the resumed run reports the
    year in which G first reached 1, read from the uninterrupted run's metrics."""
    g = full.metrics["weakest_link"]
    end = int(np.flatnonzero(g >= 1.0)[0])
    assert 5 < end < 40 and full.summary["end_year"] == end
    with pytest.raises(Cut):
        tikkun.run(out=tmp_path / "cut", checkpoint_every=10, progress=_crash_after(45), **KW)
    meta, state, _ = rf.load_checkpoint(tmp_path / "cut")
    assert state.year == 40 > end
    resumed = tikkun.resume(tmp_path / "cut")
    assert resumed.summary["end_year"] == end and resumed.summary["stop_reason"] == "horizon"
    assert resumed.summary["years_run"] == 60
    for k in full.metrics:
        np.testing.assert_array_equal(full.metrics[k], resumed.metrics[k], err_msg=k)
    for k in full.souls:
        np.testing.assert_array_equal(full.souls[k], resumed.souls[k], err_msg=k)
    assert not (tmp_path / "cut" / rf.CHECKPOINT_NAME).exists()


def test_resume_of_a_checkpoint_past_the_end_with_stop_at_end(full, tmp_path):
    """A checkpoint whose metrics already hold the end, resumed under stop_at_end = true, runs
    no further year: it stops with the end of correction in the year G first reached 1."""
    with pytest.raises(Cut):
        tikkun.run(out=tmp_path / "cut", checkpoint_every=10, progress=_crash_after(45), **KW)
    path = tmp_path / "cut" / rf.CHECKPOINT_NAME
    with np.load(path) as data:
        payload = {k: data[k] for k in data.files}
    meta = json.loads(bytes(payload["meta"]).decode())
    sc = tikkun.load_scenario(preset="quick", overrides={**KW["overrides"], "souls.count": 400, "run.stop_at_end": True},
                              years=60)
    meta["scenario"] = scenario_to_toml(sc)
    payload["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **payload)
    (tmp_path / "cut" / "scenario.toml").write_text(meta["scenario"])  # the folder's says the same (a resume checks)
    resumed = tikkun.resume(tmp_path / "cut")
    end = int(np.flatnonzero(full.metrics["weakest_link"] >= 1.0)[0])
    assert resumed.summary["stop_reason"] == "end_of_correction" and resumed.summary["end_year"] == end
    assert resumed.summary["years_run"] == 40 and len(resumed.metrics["year"]) == 40
    np.testing.assert_array_equal(resumed.metrics["cleansing_mean"], full.metrics["cleansing_mean"][:40])


def test_kill_between_the_summary_and_the_checkpoints_removal(full, tmp_path):
    """Killed after summary.json was written and before checkpoint.npz was removed, the folder
    holds a finished run and a checkpoint. Resuming it finishes the run again, to the same
    files, and leaves no checkpoint."""
    with pytest.raises(Cut):
        tikkun.run(out=tmp_path / "cut", checkpoint_every=20, progress=_crash_after(50), **KW)
    folder = tmp_path / "cut"
    for name in ("metrics.parquet", "souls.parquet", "summary.json"):  # what the finished run had written
        shutil.copy2(full.folder / name, folder / name)
    assert (folder / rf.CHECKPOINT_NAME).exists()
    resumed = tikkun.resume(folder)
    assert not (folder / rf.CHECKPOINT_NAME).exists()
    a, b = rf.read_parquet(full.folder / "metrics.parquet"), rf.read_parquet(folder / "metrics.parquet")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    sa = json.loads((full.folder / "summary.json").read_text())
    sb = json.loads((folder / "summary.json").read_text())
    for key in ("end_year", "years_run", "stop_reason", "complete", "cleansing_mean", "weakest_link"):
        assert sa[key] == sb[key], key
    assert resumed.summary["years_run"] == 60


def test_wall_seconds_add_up_across_a_resume(tmp_path):
    """summary.json's wall_seconds of a resumed run is the checkpoint's time plus the resumed
    part's, timed here from outside: at least the first, at most both."""
    kw = dict(preset="quick", souls=2000, years=80, overrides={"run.stop_at_end": False})
    with pytest.raises(Cut):
        tikkun.run(out=tmp_path / "cut", checkpoint_every=40, progress=_crash_after(50), **kw)
    meta, _, _ = rf.load_checkpoint(tmp_path / "cut")
    before = meta["wall_seconds"]
    assert before > 0
    t0 = time.perf_counter()
    resumed = tikkun.resume(tmp_path / "cut")
    elapsed = time.perf_counter() - t0
    wall = json.loads((tmp_path / "cut" / "summary.json").read_text())["wall_seconds"]
    assert wall == resumed.summary["wall_seconds"]
    assert before < wall <= before + elapsed + 0.001  # rounded to the millisecond


@pytest.mark.parametrize("every", [True, 2.5, "5", 0, -3])
def test_checkpoint_every_must_be_a_positive_whole_number(every, tmp_path):
    """``checkpoint_every=True`` ran with a checkpoint every year, 2.5 went unchecked: each is
    refused, naming the option, before anything is written."""
    with pytest.raises(tikkun.ScenarioError, match="^checkpoint_every: must be a positive whole number"):
        tikkun.run(out=tmp_path / "run", checkpoint_every=every, **KW)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kw, message", [
    (dict(preset=5), "preset: a preset's name as text, e.g. \"quick\" (got int)"),
    (dict(scenario=5), "scenario: a Scenario, or a scenario file's path (got int)"),
    (dict(preset="quick", overrides="light.alpha=1"), "overrides: a dict of dotted keys and values, e.g. "
     "{\"light.alpha\": 0.5} (got str)"),
    (dict(preset="quick", overrides={("light", "alpha"): 1}), "(got a dict with the key ('light', 'alpha'))"),
    (dict(preset="quick", events="reset"), "events: a list of dicts, each an event's table as in a scenario file"),
    (dict(preset="quick", events=[{"kind": "reset", "year": 5}, 7]), "(got a list holding int 7)"),
    (dict(preset="quick", years=5, progress=5), "progress: a function of the state and the year's row (got int)"),
    (dict(preset="quick", years=5, out=5), "out: a folder's path (got int)"),
    (dict(preset="quick", years=5, out="OUT", report="yes"), "report: True or False (got 'yes')"),
])
def test_run_names_an_argument_of_the_wrong_kind(kw, message, tmp_path, monkeypatch):
    """Each of these raised Python's TypeError or ValueError from inside the run ('int' object is
    not iterable, ... is not callable); now a ScenarioError names the argument and what it takes,
    and nothing is written."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(tikkun.ScenarioError) as exc:
        tikkun.run(**kw)
    assert message in str(exc.value)
    assert list(tmp_path.iterdir()) == []


def test_a_progress_callback_reads_the_state_and_cannot_change_the_run():
    """``progress`` may read the state, not change it: its arrays are read-only views of the
    run's own (a callback that set every cleansing to 1 ended the quick run at C 0.99957 instead
    of 0.994, unwarned). A reading callback sees the year's values; a writing one fails."""
    seen = []

    def reads(state, row):
        seen.append((state.year, float(state.cleansing.mean(dtype=np.float64)), row["cleansing_mean"]))

    res = tikkun.run(preset="quick", souls=300, years=12, progress=reads)
    assert [y for y, _, _ in seen] == list(range(1, 13))
    np.testing.assert_allclose([c for _, c, _ in seen], res.metrics["cleansing_mean"], rtol=1e-6)  # float32 souls
    assert [c for _, _, c in seen] == list(res.metrics["cleansing_mean"])

    def writes(state, row):
        state.cleansing[:] = 1.0

    with pytest.raises(ValueError, match="read-only"):
        tikkun.run(preset="quick", souls=300, years=12, progress=writes)


@pytest.mark.parametrize("kw, message", [
    (dict(folder=5), "folder: a folder's path (got int)"),
    (dict(folder=None), "folder: the path of a checkpointed run's folder (got None)"),
    (dict(folder="cut", progress=5), "progress: a function of the state and the year's row (got int)"),
    (dict(folder="cut", report="no"), "report: True or False (got 'no')"),
])
def test_resume_names_an_argument_of_the_wrong_kind(kw, message, tmp_path, monkeypatch):
    """As for run: ScenarioError naming the argument before the checkpoint is read."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(tikkun.ScenarioError, match=re.escape(message)):
        tikkun.resume(**kw)


def test_resume_refuses_an_edited_scenario_file_and_puts_back_a_missing_one(full, tmp_path):
    """The finished folder must say what made its results: a scenario.toml edited after the run
    began is refused before any year (the checkpoint and the file as they were), one removed is
    written back from the checkpoint, and the resumed run is the uninterrupted one."""
    with pytest.raises(Cut):
        tikkun.run(out=tmp_path / "cut", checkpoint_every=10, progress=_crash_after(25), **KW)
    path = tmp_path / "cut" / "scenario.toml"
    original = path.read_text()
    edited = original.replace("alpha = 20.0", "alpha = 0.5")
    assert edited != original
    path.write_text(edited)
    before = (tmp_path / "cut" / rf.CHECKPOINT_NAME).read_bytes()
    with pytest.raises(rf.CheckpointError, match="scenario.toml is not the scenario the run began with"):
        tikkun.resume(tmp_path / "cut")
    assert path.read_text() == edited and (tmp_path / "cut" / rf.CHECKPOINT_NAME).read_bytes() == before
    # the command line refuses it before its progress bar appears (it showed one at G 0, C 0 first)
    import subprocess

    p = subprocess.run([sys.executable, "-m", "tikkun", "run", "--resume", str(tmp_path / "cut")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "scenario.toml is not the scenario the run began with" in p.stderr, p.stderr
    assert "ETA" not in p.stderr and "complete" not in p.stderr, p.stderr
    path.unlink()
    resumed = tikkun.resume(tmp_path / "cut")
    assert path.read_text() == original
    for k in full.metrics:
        np.testing.assert_array_equal(full.metrics[k], resumed.metrics[k], err_msg=k)


def test_a_resume_reads_its_checkpoint_while_it_holds_the_folder(tmp_path, monkeypatch):
    """The checkpoint a resume goes on from is read under its hold: read before it, it could be
    one that another resume has since carried on, or whose run has since finished, and this
    resume would run those years again over what was written."""
    with pytest.raises(Cut):
        tikkun.run(out=tmp_path / "cut", checkpoint_every=10, progress=_crash_after(45), **KW)
    seen = []
    real = rf.load_checkpoint

    def watched(folder, option):
        try:
            with rf.held(folder, "--resume"):  # a second hold fails where the folder is held
                seen.append("free")
        except rf.CheckpointError:
            seen.append("held")
        return real(folder, option)

    monkeypatch.setattr(rf, "load_checkpoint", watched)
    tikkun.resume(tmp_path / "cut")
    assert seen == ["held"]
    monkeypatch.undo()
    with pytest.raises(rf.CheckpointError, match="no such run folder"):  # said before any hold is tried
        tikkun.resume(tmp_path / "nowhere")


def test_messages_name_the_api_arguments_and_the_command_line_options(tmp_path, monkeypatch, capsys):
    """tikkun.run and tikkun.resume name what their caller gave: ``out``, ``checkpoint_every``,
    ``folder``; ``tikkun run`` names its options (``--out``, ``--resume``), also for what only the
    resume itself finds (a scenario.toml edited after the run began)."""
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("a user's file")
    with pytest.raises(tikkun.OutputError, match=f"^out {re.escape(str(tmp_path / 'full'))}: exists and is not empty"):
        tikkun.run(out=tmp_path / "full", **KW)
    with pytest.raises(tikkun.ScenarioError, match=r"^checkpoint_every needs an output folder \(out\)$"):
        tikkun.run(checkpoint_every=10, **KW)
    with pytest.raises(tikkun.CheckpointError, match=f"^folder {re.escape(str(tmp_path / 'nowhere'))}: no such run folder"):
        tikkun.resume(tmp_path / "nowhere")
    with pytest.raises(Cut):
        tikkun.run(out=tmp_path / "cut", checkpoint_every=10, progress=_crash_after(25), **KW)
    path = tmp_path / "cut" / "scenario.toml"
    path.write_text(path.read_text().replace("alpha = 20.0", "alpha = 0.5"))
    with pytest.raises(tikkun.CheckpointError, match=f"^folder {re.escape(str(tmp_path / 'cut'))}: scenario.toml is not"):
        tikkun.resume(tmp_path / "cut")
    from tikkun import cli

    monkeypatch.setattr(sys, "argv", ["tikkun", "run", "-q", "--no-report", "--resume", str(tmp_path / "cut")])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and f"--resume {tmp_path / 'cut'}: scenario.toml is not" in err.replace("\n", " "), err
    monkeypatch.setattr(sys, "argv", ["tikkun", "run", "--preset", "quick", "--years", "5", "-q",
                                      "--out", str(tmp_path / "full")])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and f"--out {tmp_path / 'full'}: exists and is not empty" in err.replace("\n", " "), err
