"""The command line end to end on the quick preset: outputs, exit codes, nothing half-written."""

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

METRICS = ["year", "light", "conductance", "holiness", "cleansing_mean", "weakest_link", "illumination_mean",
           "effort_mean", "complete", "shepherds", "holding_aim", "stage_spark", "stage_particular", "stage_common"]
SOULS = ["soul", "cleansing", "complete", "stage", "hbd", "effort", "warmth", "attachment", "illumination", "sparks"]


def tikkun(*args, cwd):
    r = subprocess.run([sys.executable, "-m", "tikkun", *map(str, args)], cwd=cwd,
                       capture_output=True, text=True, timeout=600)
    assert "Traceback" not in r.stderr, r.stderr  # whatever a command does, it never shows one
    return r


def test_run_quick_end_to_end(tmp_path):
    r = tikkun("run", "--preset", "quick", "--out", "r1", "-q", "--years", "250", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "year" not in r.stderr and "ETA" not in r.stderr  # -q: no progress bar
    folder = tmp_path / "r1"
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.parquet", "report.html", "scenario.toml",
                                                        "souls.parquet", "summary.json"]
    m = pq.read_table(folder / "metrics.parquet")
    assert set(METRICS) <= set(m.column_names) and m.num_rows == 250
    s = pq.read_table(folder / "souls.parquet")
    assert set(SOULS) <= set(s.column_names) and s.num_rows == 4000
    summary = json.loads((folder / "summary.json").read_text())
    assert {"end_year", "years_run", "stop_reason", "seed", "wall_seconds", "tikkun_version"} <= set(summary)
    assert summary["years_run"] == 250 and summary["stop_reason"] == "horizon"
    # the resolved scenario reproduces the run exactly
    r2 = tikkun("run", folder / "scenario.toml", "--out", "r2", "-q", cwd=tmp_path)
    assert r2.returncode == 0, r2.stderr
    m2 = pq.read_table(tmp_path / "r2" / "metrics.parquet")
    assert m2.equals(m)
    # a finished run has nothing to resume, and says so (not that it was never checkpointed)
    before = sorted(p.name for p in folder.iterdir())
    r3 = tikkun("run", "--resume", "r1", cwd=tmp_path)
    assert r3.returncode == 2 and "the run has finished (summary.json); nothing to resume" in r3.stderr, r3.stderr
    assert sorted(p.name for p in folder.iterdir()) == before
    # the mean of souls.parquet's cleansing is the last row's C
    c = s.column("cleansing").to_numpy().astype(np.float64)
    assert m.column("cleansing_mean").to_numpy()[-1] == pytest.approx(c.mean(), rel=1e-12)


@pytest.mark.parametrize("args, needle", [
    (["run", "--preset", "quik"], "did you mean 'quick'"),
    (["run", "missing.toml"], "no such scenario file"),
    (["run", "quick"], "quick: no such scenario file ('quick' is a preset: --preset quick on the command line, "
                       "preset='quick' in Python)"),
    (["run", "--preset", "quick", "--set", "light.alfa=2"], "light.alfa"),
    (["run", "--preset", "quick", "--set", "souls.count=-3"], "souls.count"),
    (["run", "--preset", "quick", "--set", "light.alpha=nan"], "light.alpha"),
    (["run", "--preset", "quick", "--set", "network.k=true"], "network.k: Input should be a whole number, not true or false"),
    (["run", "--preset", "quick", "--set", "network.enabled=yes"], "network.enabled: Input should be true or false"),
    (["run", "--preset", "quick", "--souls", "0"], "--souls"),
    (["run", "--preset", "quick", "--years", "-1"], "--years"),
    (["run", "--preset", "quick", "--checkpoint-every", "0"], "--checkpoint-every"),
    (["run", "--resume", "nowhere"], "no such run folder"),
    (["run", "--resume", "bad.toml"], "--resume bad.toml: a file, not a run folder"),
    (["report", "bad.toml"], "bad.toml: a file, not a run folder"),
    (["run", "--preset", "quick", "--bogus"], "bogus"),
    (["run", "--preset", "quick", "--seed", "abc"], "Invalid value for '--seed' ('abc'): "),
    (["run", "--preset", "quick", "--years=1.5"], "Invalid value for '--years' ('1.5'): "),
    (["run", "--preset", "quick", "--souls-at", "5", "--souls-at", "x"], "Invalid value for '--souls-at' ('5', 'x'): "),
    (["validate", "g100.toml"], "genesis.block: block 8 must divide the grid side n = 100"),
    (["genesis", "--preset", "history", "--set", "genesis.n=100", "--out", "g"], "genesis.block"),
    (["validate", "bad.toml"], "not a valid TOML"),
    (["validate"], "validate: give a scenario file, or --preset NAME"),
    (["validate", "--preset", "nope"], "preset: unknown preset 'nope'; allowed: history, quick"),
    (["validate", "bad.toml", "--preset", "quick"], "give a scenario file or a preset, not both"),
    (["run", "--preset", "quick", "--seed", "3", "--set", "run.seed=5"], "--seed 3 and --set run.seed=5 disagree"),
    (["run", "--preset", "quick", "--years", "30", "--set", "run.years=40"], "--years 30 and --set run.years=40"),
    (["run", "--preset", "quick", "--out", "bad.toml/sub"], "--out bad.toml/sub: cannot be made"),
    # an `events` that is no list, cut to a horizon or given more events, is named as such
    (["run", "--preset", "quick", "--set", "events=3", "--years", "10"], "events: Input should be a valid list"),
    (["run", "--preset", "quick", "--set", "events=3", "--event", '{kind = "reset", year = 5}'],
     "events: Input should be a valid list"),
    (["run", "--preset", "quick", "--set", 'events={kind = "reset", year = 5}', "--years", "10"],
     "events: Input should be a valid list"),
    (["explain", "--write", "."], "--write .: names a folder"),
    (["explain", "--write", "newdir/"], "--write newdir/: names a folder"),  # not a file named newdir
    (["explain", "--write", "bad.toml/model.md"], "--write bad.toml/model.md: cannot be written: bad.toml is a file"),
    (["experiment", "--all", "--out", "bad.toml"], "--out bad.toml: exists and is not a folder"),
    (["experiment", "one-for-all", "--out", "bad.toml"], "--out bad.toml: exists and is not a folder"),
    (["experiment", "one-for-all", "--runs", "bad.toml/x"], "--runs bad.toml/x: cannot be made: bad.toml is a file"),
])
def test_bad_input_exit_2_and_nothing_written(tmp_path, args, needle):
    (tmp_path / "bad.toml").write_text("x = = 1")
    from tikkun.scenario.loading import preset_text

    (tmp_path / "g100.toml").write_text(preset_text("history").replace("[genesis]\nn = 256\n", "[genesis]\nn = 100\n"))
    before = sorted(os.listdir(tmp_path))
    r = tikkun(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr + r.stdout
    assert sorted(os.listdir(tmp_path)) == before


def test_default_folders_made_in_the_same_second_are_each_their_own(tmp_path, monkeypatch):
    """Two runs started in one second with no --out: each claims a new, empty folder."""
    import datetime

    from conftest import make_scenario
    from tikkun import api

    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr(api._dt, "datetime", Frozen)
    sc = make_scenario(years=5)
    folders = [api.default_folder(sc, tmp_path / "runs") for _ in range(3)]
    stem = f"{sc.name}-20260102-030405"
    assert [f.name for f in folders] == [stem, f"{stem}-1", f"{stem}-2"]
    assert all(f.is_dir() and not any(f.iterdir()) for f in folders)
    api.prepare_folder(folders[0])  # the run then takes the empty folder it claimed


def test_never_overwrites_a_run_and_resume_refuses_non_checkpoint(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    r = tikkun("run", "--preset", "quick", "--out", "mine", "-q", cwd=tmp_path)
    assert r.returncode == 2 and "not empty" in r.stderr
    r = tikkun("run", "--resume", "mine", cwd=tmp_path)
    assert r.returncode == 2 and "not a checkpointed run" in r.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert sorted(os.listdir(tmp_path / "mine")) == ["notes.txt"]


_SWALLOWED = """
import os, signal, sys, time, weakref
from tikkun import cli
signal.signal(signal.SIGINT, signal.default_int_handler)  # a process started in the background inherits it ignored
if sys.argv[1] == "installed":
    cli._install_interrupts()
else:
    signal.signal(signal.SIGTERM, cli._interrupt_on_terminate)
class Thing:
    pass
def callback(_ref):
    os.kill(os.getpid(), signal.{sig})  # the handler runs here, in a weakref callback, as a signal may
    for _ in range(100_000):  # Python steps: the handler runs at one of them
        pass
thing = Thing()
ref = weakref.ref(thing, callback)
try:
    del thing
    time.sleep(3)
    print("ran on")
except KeyboardInterrupt as exc:
    print("stopped by", type(exc).__name__)
"""


@pytest.mark.parametrize("sig, exc", [("SIGTERM", "Terminated"), ("SIGINT", "KeyboardInterrupt")])
def test_an_interrupt_landing_in_a_callback_is_not_lost(tmp_path, sig, exc):
    """A signal's handler runs wherever the main thread is; in a weakref callback or a finalizer its
    KeyboardInterrupt is printed as "Exception ignored" and dropped (a dashboard stopped by SIGTERM
    then served on). main()'s hook sends it again, so it stops the command itself."""
    import subprocess
    import sys

    script = tmp_path / "swallowed.py"
    script.write_text(_SWALLOWED.replace("{sig}", sig))
    plain = subprocess.run([sys.executable, str(script), "plain"], capture_output=True, text=True, timeout=60)
    assert plain.stdout.strip() == "ran on" and "Exception ignored" in plain.stderr  # the fault, without the hook
    done = subprocess.run([sys.executable, str(script), "installed"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"stopped by {exc}", done.stderr
    assert "Exception ignored" not in done.stderr


def test_an_interrupt_no_command_tells_of_is_said(tmp_path, monkeypatch, capsys):
    """Typer turns an interrupt a command does not catch into exit code 130 without a word (a
    sweep stopped while its runs are planned said nothing); main() says "interrupted". A
    command that says what its interruption left is not followed by a second line."""
    from tikkun import cli
    from tikkun import sweep as sweeps

    def planned_for_ever(**_):
        raise KeyboardInterrupt

    (tmp_path / "s.toml").write_text('base = "quick"\nseeds = [1]\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sweeps, "run_sweep", planned_for_ever)
    monkeypatch.setattr(sys, "argv", ["tikkun", "sweep", "s.toml", "--out", "sw", "-q"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 130
    assert capsys.readouterr().err.strip() == "interrupted"
    assert not (tmp_path / "sw").exists()

    def interrupted_with_runs(**_):
        raise sweeps.SweepInterrupted(tmp_path / "sw", 2, 0, 4)

    monkeypatch.setattr(sweeps, "run_sweep", interrupted_with_runs)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err
    assert exc.value.code == 130 and err.startswith("interrupted: 2 runs done, 0 failed, 4 left")
    assert err.count("interrupted") == 1
    # a later command in the same process that says nothing of it is told of again
    monkeypatch.setattr(sweeps, "run_sweep", planned_for_ever)
    with pytest.raises(SystemExit):
        cli.main()
    assert capsys.readouterr().err.strip() == "interrupted"


def _main(monkeypatch, *args) -> int:
    """``tikkun run`` of the quick preset (300 souls, 30 years, -q) with ``args``, in this process:
    its exit code (0 where it returns)."""
    from tikkun import cli

    monkeypatch.setattr(sys, "argv", ["tikkun", "run", "--preset", "quick", "--souls", "300", "--years", "30", "-q",
                                      *args])
    try:
        cli.main()
    except SystemExit as exc:
        return exc.code
    return 0


def test_a_run_stopped_by_an_error_leaves_nothing_and_runs_again(tmp_path, monkeypatch, capsys):
    """A run that fails (here: the disk full as its tables are written) leaves neither its files
    nor the folders the command made, so the same command runs again; an error after a
    checkpoint keeps the folder, and says how the run goes on."""
    import errno

    from tikkun import api
    from tikkun.outputs import run_folder as rf

    full = OSError(errno.ENOSPC, "No space left on device")

    def disk_full(*args, **kwargs):
        raise full

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(rf, "write_parquet", disk_full)
    assert _main(monkeypatch, "--out", "new/r") == 1 and "No space left on device" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()  # a folder the user made stays, emptied
    assert _main(monkeypatch, "--out", "mine", "--checkpoint-every", "10") == 1
    err = capsys.readouterr().err
    assert "mine holds a checkpoint of the run's first 20 years; tikkun run --resume mine goes on" in err
    assert (tmp_path / "mine" / "checkpoint.npz").exists()
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert _main(monkeypatch, "--out", "new/r", "--no-report") == 0  # the same command again: it runs
    assert (tmp_path / "new" / "r" / "summary.json").exists()
    assert api.resume(tmp_path / "mine").summary["years_run"] == 30


def test_an_interrupt_while_an_error_is_told_exits_130_in_one_line(tmp_path, monkeypatch, capsys):
    """SIGTERM or Ctrl-C while main() imports the error types to tell a bad input (the report's and
    the sweep's, a second or so): exit 130 and "interrupted", not a traceback of both exceptions."""
    from tikkun import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_bad_input_types", interrupted)
    monkeypatch.setattr(sys, "argv", ["tikkun", "run", "--resume", "nowhere", "-q"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 130 and capsys.readouterr().err.strip() == "interrupted"


def test_an_out_that_cannot_be_made_or_written_leaves_no_folder_and_exits_2(tmp_path, monkeypatch, capsys):
    """A folder's name too long for the system (Linux: 255 bytes), under folders the command would
    make: exit 2 and none of them is left; a folder that cannot be written (read-only, no
    permission: played by the first write failing so) is named, exit 2, not an OSError's exit 1."""
    from tikkun.outputs import run_folder as rf

    monkeypatch.chdir(tmp_path)
    assert _main(monkeypatch, "--out", "new/deeper/" + "y" * 300) == 2
    assert "cannot be made (File name too long)" in capsys.readouterr().err and not (tmp_path / "new").exists()
    assert _main(monkeypatch, "--set", "name=" + "y" * 300) == 2  # the default folder runs/<name>-<time>
    assert "give --out" in capsys.readouterr().err and not (tmp_path / "runs").exists()

    def read_only(folder, scenario):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rf, "write_scenario", read_only)
    (tmp_path / "ro").mkdir()
    assert _main(monkeypatch, "--out", "ro") == 2
    assert "--out ro: cannot be written (Permission denied)" in " ".join(capsys.readouterr().err.split())
    assert (tmp_path / "ro").is_dir() and not any((tmp_path / "ro").iterdir())  # the user's folder, as it was


def _zip_closed_under_an_interrupt(*_, **__):
    """What np.savez raises when Ctrl-C lands inside it: zipfile's close fails on the handle the
    interrupt left open, and its ValueError carries the interrupt as its context."""
    try:
        raise KeyboardInterrupt
    finally:
        raise ValueError("Can't close the ZIP file while there is an open writing handle on it")


def _numba_under_an_interrupt(*_, **__):
    """What a compiled call raises when Ctrl-C lands inside it: a SystemError caused by the interrupt."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as exc:
        raise SystemError("CPUDispatcher(<function step>) returned a result with an exception set") from exc


@pytest.mark.parametrize("stopped", [_zip_closed_under_an_interrupt, _numba_under_an_interrupt])
def test_an_interrupt_that_comes_out_as_a_librarys_error_is_an_interrupt(tmp_path, monkeypatch, capsys, stopped):
    """Ctrl-C inside np.savez (a checkpoint) or a compiled call (the genesis) comes out as
    zipfile's ValueError or Numba's SystemError: tikkun.run raises the interrupt itself, and the
    command exits with 130 and says what the run left, as for any interrupt (it exited with 1 and
    Python's error)."""
    import tikkun
    from tikkun import api

    def writes_then_stops(folder, *args):
        (folder / "scenario.toml").write_text("written by the run")
        stopped()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(api, "_genesis_and_years", writes_then_stops)
    with pytest.raises(KeyboardInterrupt):
        tikkun.run(preset="quick", souls=300, out="api")
    assert not (tmp_path / "api").exists()
    assert _main(monkeypatch, "--out", "r") == 130
    said = " ".join(capsys.readouterr().err.split())
    assert "interrupted: no checkpoint" in said and "r removed" in said, said
    assert "Error" not in said and not (tmp_path / "r").exists()
    # a command that does not say what it left: main() says "interrupted"
    from tikkun import cli

    monkeypatch.setattr(api, "genesis", stopped)
    monkeypatch.setattr(sys, "argv", ["tikkun", "genesis", "--preset", "history", "--out", "v"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 130 and capsys.readouterr().err.strip() == "interrupted"
    assert not (tmp_path / "v").exists()


def test_ctrl_c_while_the_report_is_written_says_the_run_is_whole(tmp_path, monkeypatch, capsys):
    """Interrupted after the run's files, while its page is drawn: exit 130, the outputs stay,
    no report.html (written atomically), and the message says how to write it."""
    from tikkun import api

    def interrupted(folder, **_):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(api, "report", interrupted)
    assert _main(monkeypatch, "--out", "r") == 130
    said = " ".join(capsys.readouterr().err.split())
    assert "interrupted while writing the report; the run is finished, its outputs in r; tikkun report r writes" in said
    assert (tmp_path / "r" / "summary.json").exists() and not (tmp_path / "r" / "report.html").exists()
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    from tikkun import cli

    monkeypatch.setattr(sys, "argv", ["tikkun", "report", "r"])
    try:
        cli.main()
    except SystemExit as exc:
        assert exc.code == 0
    assert (tmp_path / "r" / "report.html").exists()


def test_a_run_refused_a_folder_another_run_claimed_touches_nothing_of_it(tmp_path, monkeypatch, capsys):
    """Two runs into one folder at once: the one that claims it second stops (exit 2) and
    removes nothing, neither the other's files nor the folder."""
    from tikkun import api

    def claimed_first(folder, scenario, option):  # the other run wrote its scenario.toml a moment before
        (folder / "scenario.toml").write_text("# the other run's\n")
        (folder / "metrics.parquet").write_bytes(b"the other run's")
        raise api.OutputError(f"{option} {folder}: another run began writing into it; choose a new folder")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(api, "claim", claimed_first)
    assert _main(monkeypatch, "--out", "r") == 2 and "--out r: another run began writing into it" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["metrics.parquet", "scenario.toml"]


def test_an_api_run_stopped_by_an_error_leaves_nothing(tmp_path):
    """tikkun.run with out=: an error in a progress callback removes what the run wrote, and
    the folder if the call made it; an empty folder of the user's stays, emptied."""
    import tikkun

    def fails(state, row):
        if row["year"] == 5:
            raise RuntimeError("the caller's callback failed")

    for out, stays in ((tmp_path / "made" / "r", False), (tmp_path / "mine", True)):
        if stays:
            out.mkdir()
        with pytest.raises(RuntimeError):
            tikkun.run(preset="quick", souls=300, years=30, out=out, progress=fails)
        assert out.exists() is stays and (not stays or not any(out.iterdir()))
        assert tikkun.run(preset="quick", souls=300, years=30, out=out).summary["years_run"] == 30


def test_a_run_says_when_its_kernels_compile(tmp_path, monkeypatch, capsys):
    """Before a run whose kernels are not in Numba's cache, one line says they compile (minutes,
    with the bar at year 0, or nothing at all where the output is no terminal); not otherwise.
    Whether they are is read from the cache's index: an empty cache folder has none, the
    suite's own cache has the yearly pass after any run."""
    from tikkun import cli

    empty = tmp_path / "cache"
    empty.mkdir()
    probe = "from tikkun.cli import kernels_compiled; print(kernels_compiled())"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NUMBA_CACHE_DIR": str(empty)})
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
    import tikkun

    tikkun.run(preset="quick", souls=50, years=1)  # compiles here if no test did before
    assert cli.kernels_compiled() is True

    monkeypatch.chdir(tmp_path)
    note = "compiling the kernels for this machine"
    for compiled, quiet, said in ((False, False, True), (True, False, False), (False, True, False)):
        monkeypatch.setattr(cli, "kernels_compiled", lambda: compiled)
        out = f"r-{compiled}-{quiet}"
        monkeypatch.setattr(sys, "argv", ["tikkun", "run", "--preset", "quick", "--souls", "50", "--years", "1",
                                          "--no-report", "--out", out] + (["-q"] if quiet else []))
        cli.main()  # returns on success
        assert (tmp_path / out / "summary.json").exists()
        printed = capsys.readouterr()
        assert (note in printed.err) is said, (compiled, quiet)
        # the run's time is said to be mostly the compiling's, quiet or not
        assert ("(most of it compiling the kernels, once)" in printed.out) is (not compiled), (compiled, quiet)


def test_a_sweep_worker_says_it_compiles_only_where_its_kernels_are_not_cached(monkeypatch):
    """A worker's warm-up tells the client it compiles only where the cache lacks the kernels
    (loading them takes seconds): what the sweep's progress line then says."""
    import tikkun
    from tikkun.native import kernel_cache
    from tikkun.scenario import load_scenario
    from tikkun.sweep import task

    tikkun.run(preset="quick", souls=50, years=1)  # compiles here if no test did before
    sent = []
    monkeypatch.setattr(task, "_event", lambda **msg: sent.append(msg["compiling"]))
    for in_cache, compiling in ((True, False), (False, True), (None, True)):
        monkeypatch.setattr(kernel_cache, "cached", lambda kernel: in_cache)
        monkeypatch.setattr(task, "_WARM", False)
        sent.clear()
        task.warm(load_scenario(preset="quick", years=2))
        assert sent == [compiling, False], in_cache  # then False once warm


@pytest.mark.parametrize("no_report", [False, True])
def test_a_terminated_run_says_where_it_can_go_on_from(tmp_path, no_report):
    """SIGTERM (a batch system's time limit) stops a run as Ctrl-C does: exit code 130, no
    half-written file, and the checkpoint's years and the command that resumes it said, as a
    shell takes it (the folder's name has a space), with ``--no-report`` if the run had it."""
    import re
    import shlex
    import signal
    import subprocess
    import sys
    import time

    from tikkun.outputs import run_folder as rf

    proc = subprocess.Popen([sys.executable, "-m", "tikkun", "run", "--preset", "quick", "--souls", "20000",
                             "--years", "1000000", "--set", "run.stop_at_end=false", "--checkpoint-every", "7",
                             "--out", "cut here", "-q", *(["--no-report"] if no_report else [])], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ckpt = tmp_path / "cut here" / "checkpoint.npz"
    deadline = time.time() + 300
    while time.time() < deadline and not (ckpt.exists() and ckpt.stat().st_size > 0):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    years = rf.checkpoint_meta(tmp_path / "cut here")["scalars"]["year"]
    assert years > 0 and years % 7 == 0
    assert f"interrupted: cut here holds a checkpoint of its first {years:,} years; tikkun run --resume " in stderr
    command = re.search(r"; (tikkun run --resume .*) goes on from there", stderr).group(1)
    assert shlex.split(command) == ["tikkun", "run", "--resume", "cut here", *(["--no-report"] if no_report else [])]
    assert not list((tmp_path / "cut here").glob(".*.tmp"))


def test_a_run_still_going_cannot_be_resumed_beside_it(tmp_path):
    """A resume started while the run writes its folder (a second terminal, a batch job started
    twice) is refused in one line and touches nothing: it would have removed the files the run
    was writing. Once the run is stopped, the folder is free to resume."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "tikkun", "run", "--preset", "quick", "--souls", "20000",
                             "--years", "1000000", "--set", "run.stop_at_end=false", "--checkpoint-every", "7",
                             "--out", "going", "-q"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        ckpt = tmp_path / "going" / "checkpoint.npz"
        deadline = time.time() + 300
        while time.time() < deadline and not (ckpt.exists() and ckpt.stat().st_size > 0):
            time.sleep(0.05)
        r = tikkun("run", "--resume", "going", cwd=tmp_path)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().splitlines() == [
            "error: --resume going: another tikkun process is writing this run (the run, or a resume of it); wait for "
            "it to end, then resume it"]
        assert proc.poll() is None  # the run goes on, its files untouched
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    from tikkun.outputs import run_folder as rf

    with rf.held(tmp_path / "going", "--resume"):  # the stopped run's hold went with its process
        pass


def test_an_interrupted_run_leaves_no_half_written_file(tmp_path):
    """Whatever moment an interrupt lands in, the folder it leaves holds no temporary file of a
    write it cut (an interrupt inside mkstemp, or in contextlib's steps around atomic_path's body,
    leaves one that atomic_path cannot remove): a run cut after a checkpoint, with such a file
    beside it, keeps its checkpoint and loses the file."""
    import typer

    from tikkun import cli
    from tikkun.outputs.atomic import atomic_path

    import tikkun
    from test_resume import Cut, _crash_after

    with pytest.raises(Cut):
        tikkun.run(preset="quick", souls=300, years=60, out=tmp_path / "r", checkpoint_every=10,
                   progress=_crash_after(25))
    cm = atomic_path(tmp_path / "r" / "checkpoint.npz")
    half = cm.__enter__()  # a write begun and never ended, as such an interrupt leaves it
    half.write_bytes(b"half")
    with pytest.raises(typer.Exit) as exc:
        cli._interrupted_run(tmp_path / "r", 10)
    assert exc.value.exit_code == 130
    assert not half.exists() and not list((tmp_path / "r").glob(".*.tmp"))
    assert (tmp_path / "r" / "checkpoint.npz").exists()


@pytest.mark.slow
def test_a_run_stopped_before_any_checkpoint_leaves_nothing_and_runs_again(tmp_path):
    """Without a checkpoint nothing of an interrupted run can be resumed, and its folder (only
    its scenario) would refuse the same command again: the run's own files go, with the folder;
    a file someone put beside them stays, and with it the folder."""
    import signal
    import subprocess
    import sys
    import time

    def start(out):
        return subprocess.Popen([sys.executable, "-m", "tikkun", "run", "--preset", "quick", "--souls", "20000",
                                 "--years", "1000000", "--set", "run.stop_at_end=false", "--out", out, "-q"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop_when_started(proc, folder):
        deadline = time.time() + 300
        while time.time() < deadline and not (folder / "scenario.toml").exists():
            time.sleep(0.05)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
        assert "interrupted" in stderr, (proc.returncode, stdout, stderr)
        return stderr

    stderr = stop_when_started(start("cut"), tmp_path / "cut")
    assert "interrupted: no checkpoint (--checkpoint-every N makes a run resumable); cut removed" in stderr
    assert not (tmp_path / "cut").exists()
    proc = start("cut")  # the same command again is not refused: it starts, and is stopped the same way
    stderr = stop_when_started(proc, tmp_path / "cut")
    assert proc.returncode == 130 and "cut removed" in stderr and not (tmp_path / "cut").exists()
    proc = start("mine")
    deadline = time.time() + 300
    while time.time() < deadline and not (tmp_path / "mine" / "scenario.toml").exists():
        time.sleep(0.05)
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert "mine kept (it holds files the run did not write)" in stderr, (proc.returncode, stdout, stderr)
    assert proc.returncode == 130
    assert sorted(os.listdir(tmp_path / "mine")) == ["notes.txt"]


@pytest.mark.parametrize("user_made_it", [False, True])
def test_a_run_stopped_in_its_last_writes_leaves_no_half_folder(tmp_path, monkeypatch, capsys, user_made_it):
    """Stopped while writing its tables at the end (no summary.json yet, no checkpoint), a run
    removes them too, not only its scenario: a folder of tables without a scenario could be
    neither resumed nor reported on, and would refuse the same command. An empty folder the
    user made for --out stays (emptied); one the run made goes."""
    from tikkun import api, cli

    def stopped_in_last_writes(sc, out, **kw):
        for name in ("scenario.toml", "metrics.parquet", "souls.parquet"):
            (out / name).write_text("written by the run")
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "run", stopped_in_last_writes)
    monkeypatch.chdir(tmp_path)
    if user_made_it:
        (tmp_path / "out").mkdir()
    monkeypatch.setattr(sys, "argv", ["tikkun", "run", "--preset", "quick", "--souls", "500", "--out", "out", "-q"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err.replace("\n", " ")
    assert exc.value.code == 130
    if user_made_it:
        assert "out emptied" in err and list((tmp_path / "out").iterdir()) == []
    else:
        assert "out removed" in err and not (tmp_path / "out").exists()


def test_only_an_unfinished_runs_own_files_are_removed(tmp_path):
    """remove_unfinished leaves a finished run (summary.json) and a checkpointed one whole, and
    any file the run did not write, with its folder."""
    from tikkun.outputs.run_folder import remove_unfinished

    def folder(name, *files):
        f = tmp_path / name
        f.mkdir()
        for n in files:
            (f / n).write_text("x")
        return f

    done = folder("done", "scenario.toml", "metrics.parquet", "souls.parquet", "summary.json")
    assert not remove_unfinished(done) and len(list(done.iterdir())) == 4
    ckpt = folder("ckpt", "scenario.toml", "checkpoint.npz")
    assert not remove_unfinished(ckpt) and len(list(ckpt.iterdir())) == 2
    mixed = folder("mixed", "scenario.toml", "genesis_0_separate.png", "notes.txt")
    assert not remove_unfinished(mixed) and [p.name for p in mixed.iterdir()] == ["notes.txt"]
    ours = folder("ours", "scenario.toml", "genesis.parquet", "field.npy", "genesis_1_strike.png", "metrics.parquet",
                  ".souls.parquet.tikkun-abcd1234.tmp")
    assert remove_unfinished(ours) and not ours.exists()


def test_events_never_reached_are_named_once_by_label_and_year(monkeypatch):
    """A chapter of the history may be two events (its light and its shocks): the command's
    summary and report.html name it once."""
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from tikkun import cli

    buf = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=buf, width=200))
    missed = [{"index": 5, "kind": "set", "label": "long exile", "year": 3830},
              {"index": 6, "kind": "set", "label": "long exile", "year": 3830},
              {"index": 7, "kind": "reset", "label": "", "year": 5700}]
    summary = {"end_year": 3700, "souls": 10, "sparks": 40, "years_run": 3701, "wall_seconds": 1.0,
               "stop_message": "the end of correction was reached", "events_not_reached": missed}
    cli._report(SimpleNamespace(summary=summary, scenario=SimpleNamespace(name="history"), folder=None))
    assert "events never reached (the run ended first): long exile (3,830), reset (5,700)\n" in buf.getvalue()
    # report.html's headline names them the same way, each once
    from tikkun.report import html

    metrics = {"year": np.arange(3701), "cleansing_mean": np.linspace(0, 1, 3701), "complete": np.full(3701, 10)}
    headline = html._headline(SimpleNamespace(summary=summary, metrics=metrics, n_souls=10))
    assert "<td>long exile (3,830), reset (5,700)</td>" in headline and headline.count("long exile") == 1


def test_validate_and_presets(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[souls]\ncount = 100\n[run]\nyears = 10\n')
    r = tikkun("validate", good, cwd=tmp_path)
    assert r.returncode == 0 and "ok" in r.stdout and "0 events)" in r.stdout
    r = tikkun("presets", cwd=tmp_path)
    assert r.returncode == 0 and "history" in r.stdout and "quick" in r.stdout
    # a preset checked by name, as `tikkun validate quick`'s message suggests
    r = tikkun("validate", "quick", cwd=tmp_path)
    assert r.returncode == 2 and "--preset quick" in r.stderr
    r = tikkun("validate", "--preset", "quick", cwd=tmp_path)
    assert r.returncode == 0 and "ok: preset quick (quick: 4,000 souls, 400 years, 1 event)" in r.stdout


def test_resume_refuses_a_checkpoint_of_another_version(tmp_path):
    import numpy as np

    from conftest import make_scenario
    from tikkun.engine import build
    from tikkun.outputs import run_folder as rf
    from tikkun.records import Recorder

    sc = make_scenario(years=20)
    init, step = build(sc)
    st, row = step(init())
    rec = Recorder(20)
    rec.record(row)
    folder = tmp_path / "old"
    folder.mkdir()
    rf.save_checkpoint(folder, st, rec, sc, 5, 0.0)
    with np.load(folder / "checkpoint.npz") as data:
        payload = {k: data[k] for k in data.files}
    meta = json.loads(bytes(payload["meta"]).decode())
    meta["tikkun_version"] = "0.0.1"
    payload["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(folder / "checkpoint.npz", **payload)
    before = (folder / "checkpoint.npz").read_bytes()
    r = tikkun("run", "--resume", "old", cwd=tmp_path)
    assert r.returncode == 2 and "written by tikkun 0.0.1" in r.stderr
    assert (folder / "checkpoint.npz").read_bytes() == before
    (folder / "checkpoint.npz").write_bytes(b"not a checkpoint")
    r = tikkun("run", "--resume", "old", cwd=tmp_path)
    assert r.returncode == 2 and "cannot be read" in r.stderr


def test_genesis_command(tmp_path):
    scen = tmp_path / "g.toml"
    scen.write_text('[genesis]\nn = 32\nblock = 4\n[[genesis.stages]]\nkind = "fuse"\n'
                    '[[genesis.stages]]\nkind = "approach"\nduration = 30.0\n[[genesis.stages]]\nkind = "shatter"\n')
    r = tikkun("genesis", scen, "--out", "g", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "g").iterdir())
    assert "genesis.parquet" in names and "field.npy" in names and any(n.endswith(".png") for n in names)
    (tmp_path / "bad.toml").write_text('[genesis]\nn = 8\n')
    r = tikkun("genesis", "bad.toml", "--out", "b", cwd=tmp_path)
    assert r.returncode == 2 and "genesis.n" in r.stderr and not (tmp_path / "b").exists()
    (tmp_path / "none.toml").write_text('[souls]\ncount = 10\n')
    r = tikkun("genesis", "none.toml", "--out", "c", cwd=tmp_path)
    assert r.returncode == 2 and "no [genesis] section" in r.stderr and not (tmp_path / "c").exists()


def test_a_genesis_script_without_shatter_is_noted(tmp_path):
    """The sparks are cut from the final field whatever the last stage (MODEL.md, Shatter): a
    script that never says 'shatter' runs, and the reader is told; with it, nothing is said."""
    unbroken = tmp_path / "u.toml"
    unbroken.write_text(GENESIS32.replace('[[genesis.stages]]\nkind = "shatter"\n', ""))
    r = tikkun("genesis", unbroken, "--out", "u", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    said = " ".join(r.stderr.split())
    assert "note: genesis.stages ends with 'approach', not 'shatter'" in said
    assert "from the vessel as the approach leaves it" in said
    (tmp_path / "b.toml").write_text(GENESIS32)
    r = tikkun("genesis", "b.toml", "--out", "b", cwd=tmp_path)
    assert r.returncode == 0 and "shatter" not in r.stderr
    r = tikkun("run", unbroken, "--set", "souls.count=64", "--years", "2", "--no-report", "--out", "r", cwd=tmp_path)
    assert r.returncode == 0 and "not 'shatter'" in r.stderr


GENESIS32 = ('[genesis]\nn = 32\nblock = 4\n[[genesis.stages]]\nkind = "fuse"\n'
             '[[genesis.stages]]\nkind = "approach"\nduration = 30.0\n[[genesis.stages]]\nkind = "shatter"\n')


def _genesis_main(monkeypatch, *args):
    """``tikkun genesis ARGS`` in this process; returns its exit code."""
    from tikkun.cli import main

    monkeypatch.setattr(sys, "argv", ["tikkun", "genesis", *map(str, args)])
    try:
        main()
    except SystemExit as exc:
        return exc.code
    return 0


def test_two_geneses_started_at_once_into_one_folder_never_mix(tmp_path, monkeypatch, capsys):
    """Both find the folder empty; the one that claims it second (its scenario.toml) is refused,
    exit code 2, and the other's files are left whole, equal to the same genesis made elsewhere."""
    import tikkun.api as api

    scen = tmp_path / "g.toml"
    scen.write_text(GENESIS32)
    other = api.resolve_scenario(scen, seed=5)
    real = api.prepare_folder

    def prepare_then_lose_the_race(out, option):
        folder = real(out, option)
        api.claim(folder, other)  # the other command, started at the same moment, writes its files now
        api.genesis(other, out=folder)
        return folder

    monkeypatch.setattr(api, "prepare_folder", prepare_then_lose_the_race)
    assert _genesis_main(monkeypatch, scen, "--seed", 6, "--out", tmp_path / "shared") == 2
    assert "another run began writing into it" in capsys.readouterr().err
    monkeypatch.setattr(api, "prepare_folder", real)
    assert _genesis_main(monkeypatch, scen, "--seed", 5, "--out", tmp_path / "alone") == 0
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    assert sorted(p.name for p in shared.iterdir()) == sorted(p.name for p in alone.iterdir())
    assert "scenario.toml" in {p.name for p in alone.iterdir()}
    for name in ("scenario.toml", "field.npy"):
        assert (shared / name).read_bytes() == (alone / name).read_bytes(), name


@pytest.mark.parametrize("made", [True, False])
def test_an_interrupted_genesis_leaves_the_folder_as_it_found_it(tmp_path, monkeypatch, made):
    """Ctrl-C or SIGTERM during the genesis: its scenario.toml goes, and the folder with it if
    the command made it (an empty folder the user made stays); the same command then runs."""
    import tikkun.api as api

    scen = tmp_path / "g.toml"
    scen.write_text(GENESIS32)
    folder = tmp_path / "g"
    if not made:
        folder.mkdir()
    real = api.genesis

    def interrupted(*a, **k):
        assert (folder / "scenario.toml").exists()  # claimed before the work
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "genesis", interrupted)
    assert _genesis_main(monkeypatch, scen, "--out", folder) == 130
    assert folder.exists() != made and (made or not any(folder.iterdir()))
    monkeypatch.setattr(api, "genesis", real)
    assert _genesis_main(monkeypatch, scen, "--out", folder) == 0


def test_help_keeps_the_section_names(tmp_path):
    # Rich markup would swallow an unescaped "[genesis]" and leave "with a  section"
    r = tikkun("genesis", "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "[genesis]" in r.stdout and "\\[" not in r.stdout


def test_help_gives_no_value_to_a_flag(tmp_path):
    """A flag takes no value, and its help must not suggest one (a type beside it: "--quiet <bool>");
    repeatable options name what they take."""
    r = tikkun("run", "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "<bool>" not in r.stdout and "list[" not in r.stdout
    for flag in ("-q, --quiet", "--no-report", "--save-network", "--set KEY=VALUE", "--event TABLE", "--souls-at YEAR"):
        assert flag in r.stdout


def test_bare_run_writes_the_history_into_a_timestamped_folder(tmp_path):
    """`tikkun run` with no scenario runs the history preset into runs/history-<YYYYmmdd-HHMMSS>
    (a small vessel, few souls and years, so it is quick)."""
    import datetime as dt
    import re

    before = dt.datetime.now().replace(microsecond=0)
    r = tikkun("run", "--souls", "500", "--years", "3", "--set", "genesis.n=32", "-q", cwd=tmp_path)
    after = dt.datetime.now()
    assert r.returncode == 0, r.stderr
    folders = list((tmp_path / "runs").iterdir())
    assert len(folders) == 1
    match = re.fullmatch(r"history-(\d{8}-\d{6})", folders[0].name)
    assert match, folders[0].name
    assert before <= dt.datetime.strptime(match.group(1), "%Y%m%d-%H%M%S") <= after
    names = {p.name for p in folders[0].iterdir()}
    assert {"scenario.toml", "metrics.parquet", "souls.parquet", "summary.json", "genesis.parquet"} <= names
    summary = json.loads((folders[0] / "summary.json").read_text())
    assert summary["years_run"] == 3 and summary["souls"] == 500 and summary["seed"] == 20
    assert f"outputs: runs/{folders[0].name}" in r.stdout.replace("\n", "")


def test_seed_option_changes_the_draws(tmp_path):
    """--seed reaches the generator: the souls' hbd of seed 7 are those of year 0 drawn with
    seed 7 (the state's own draw, from the counter-based generator), not seed 20's."""
    from conftest import make_scenario
    from tikkun.rules.population import initial_state

    r = tikkun("run", "--preset", "quick", "--seed", "7", "--souls", "300", "--years", "5", "--out", "s7", "-q",
               cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    hbd = pq.read_table(tmp_path / "s7" / "souls.parquet").column("hbd").to_numpy()
    assert json.loads((tmp_path / "s7" / "summary.json").read_text())["seed"] == 7
    np.testing.assert_array_equal(hbd, initial_state(make_scenario(**{"run.seed": 7})).hbd)
    assert not np.array_equal(hbd, initial_state(make_scenario()).hbd)


def test_version_is_the_installed_distributions(tmp_path):
    from importlib.metadata import version

    r = tikkun("version", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == version("tikkun")


def test_genesis_with_preset_and_set(tmp_path):
    """`tikkun genesis --preset history --set genesis.n=32`: the history's five stages on a
    32 x 32 vessel; a bad --set is refused with its key, nothing written."""
    r = tikkun("genesis", "--preset", "history", "--set", "genesis.n=32", "--out", "g", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "g" / "field.npy").shape == (32, 32)
    g = pq.read_table(tmp_path / "g" / "genesis.parquet").to_pydict()
    assert "5 stages on a 32 x 32 vessel" in r.stdout
    assert 0.0 < g["unity"][-1] < 1.0
    r = tikkun("genesis", "--preset", "history", "--set", "genesis.n=7", "--out", "bad", cwd=tmp_path)
    assert r.returncode == 2 and "genesis.n" in r.stderr and not (tmp_path / "bad").exists()


def test_progress_bar_on_stderr_without_quiet(tmp_path):
    """Without -q the bar is drawn on stderr: the last year, G and C of the run (with -q there
    is none: test_run_quick_end_to_end)."""
    r = tikkun("run", "--preset", "quick", "--souls", "300", "--years", "12", "--out", "p", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    m = pq.read_table(tmp_path / "p" / "metrics.parquet").to_pydict()
    assert "year     11" in r.stderr
    # as the lines after the run give them (a weakest link of 1e-05 is no "0.00%")
    assert f"C {m['cleansing_mean'][-1]:.4f}" in r.stderr and f"G {m['weakest_link'][-1]:<9.4g}" in r.stderr


def test_resume_with_other_options_is_refused(tmp_path):
    import tikkun as tk
    from test_resume import Cut, _crash_after

    with pytest.raises(Cut):
        tk.run(preset="quick", souls=300, years=30, checkpoint_every=10, out=tmp_path / "c",
               progress=_crash_after(15))
    before = {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir()}
    assert "checkpoint.npz" in before
    for extra, named in ((["--seed", "3"], "--seed"), (["--set", "light.alpha=1", "--years", "50"], "--years, --set")):
        r = tikkun("run", "--resume", "c", *extra, cwd=tmp_path)
        assert r.returncode == 2 and "--resume continues a run exactly as it was started" in r.stderr, extra
        assert f"give it without {named}" in " ".join(r.stderr.split()), r.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir()} == before


def test_out_naming_an_existing_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("mine")
    r = tikkun("run", "--preset", "quick", "--souls", "300", "--years", "5", "--out", "taken", "-q", cwd=tmp_path)
    assert r.returncode == 2 and "taken" in r.stderr and "not a folder" in r.stderr
    assert (tmp_path / "taken").read_text() == "mine"


def test_an_unexpected_error_exits_1_with_one_line(tmp_path):
    """Anything that is not bad input ends with exit code 1 and its type and message, no
    traceback: here the run itself fails inside the API."""
    script = tmp_path / "boom.py"
    script.write_text(
        "import sys\n"
        "import tikkun.api\n"
        "def boom(*a, **k):\n"
        "    raise RuntimeError('disk on fire')\n"
        "tikkun.api.run = boom\n"
        "from tikkun import cli\n"
        "sys.argv = ['tikkun', 'run', '--preset', 'quick', '--souls', '300', '--years', '5', '--out', 'r', '-q']\n"
        "cli.main()\n")
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 1
    assert "RuntimeError: disk on fire" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("name", ["../escaped", "a/b", "", "."])
def test_a_scenario_name_that_is_no_file_name_is_refused(tmp_path, name):
    """The name begins the default run folder's name: "../escaped" put a run beside runs/, not
    in it, "a/b" a folder inside another, "" a hidden-looking "-TIMESTAMP"."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "n.toml").write_text(f'name = "{name}"\n[run]\nyears = 3\n[souls]\ncount = 50\n')
    r = tikkun("run", "n.toml", "-q", "--no-report", cwd=work)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "name: a name is a non-empty file name" in r.stderr and f"(got {name!r})" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert sorted(p.name for p in work.iterdir()) == ["n.toml"]


@pytest.mark.parametrize("command", ["run", "genesis"])
@pytest.mark.parametrize("out", [None, "a/b/c"])
def test_an_interrupted_command_removes_the_folders_it_made_above_its_own(tmp_path, monkeypatch, command, out):
    """Stopped before anything could be resumed, a run (or a genesis) removes its folder and
    the folders it made above it (`runs/` for the default folder, `a/b` for `--out a/b/c`); a
    folder that existed before, or holds anything else, stays."""
    import tikkun.api as api
    from tikkun.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.toml").write_text(GENESIS32)

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, command, interrupted)
    args = ["run", "--preset", "quick", "--souls", "300", "--years", "5"] if command == "run" else ["genesis", "g.toml"]
    argv = ["tikkun", *args, *(["--out", out] if out else [])]
    for round_ in ("nothing there", "a folder of the user's beside"):
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code == 130
        top = tmp_path / ("runs" if out is None else "a")
        if round_ == "nothing there":
            assert sorted(p.name for p in tmp_path.iterdir()) == ["g.toml"]
            mine = (top / "mine") if out is None else (top / "b" / "mine")
            mine.mkdir(parents=True)
        else:  # the user's folder keeps what holds it
            assert sorted(str(p.relative_to(tmp_path)) for p in top.rglob("*")) == (
                ["runs/mine"] if out is None else ["a/b", "a/b/mine"])


def test_events_that_change_nothing_are_named_before_the_run():
    """A set event to the value already there, a scale by 1, and a set that a later set replaces
    in every year it changes leave the schedule as it is without them: each is named (the run
    goes on); an event that changes some year is not. The schedules are compared here with the
    events' spans worked out by hand."""
    from tikkun.api import resolve_scenario
    from tikkun.cli import events_that_change_nothing

    evs = [{"kind": "set", "year": 10, "until": 20, "key": "light.practice", "value": 1.0},       # already 1
           {"kind": "scale", "year": 10, "until": 20, "key": "light.light", "factor": 1.0},       # by 1
           {"kind": "set", "year": 30, "until": 40, "key": "light.light", "value": 0.5},          # replaced below
           {"kind": "set", "year": 25, "until": 45, "key": "light.light", "value": 0.7},          # changes 25-44
           {"kind": "scale", "year": 50, "until": 60, "key": "light.practice", "factor": 2.0}]    # changes 50-59
    sc = resolve_scenario(preset="quick", years=100, overrides={"events": []}, events=evs)
    assert [i for i, _ in events_that_change_nothing(sc)] == [0, 1, 2]


def test_the_history_at_another_population_is_noted_with_its_numbers():
    """The history's calibration is for the texts' 600,000 souls: at another number the note says
    so, with the special souls its judges come from (1% of the souls, counted by hand here);
    at 600,000, and for another preset, nothing is said."""
    from tikkun.api import resolve_scenario
    from tikkun.explain import population_note

    note = population_note(resolve_scenario(preset="history", souls=20_000))
    assert note.startswith("the history is calibrated for 600,000 souls")
    assert "at 20,000 the end comes sooner" in note and "chosen among 200 special souls, not 6,000" in note
    assert "the end moves" in population_note(resolve_scenario(preset="history", souls=2_000_000))
    assert population_note(resolve_scenario(preset="history")) is None
    assert population_note(resolve_scenario(preset="quick", souls=20_000)) is None
    # the history's own number of special souls, whatever the run's share; one, or none, said so
    shared = population_note(resolve_scenario(preset="history", souls=20_000, overrides={"souls.special_share": 0.05}))
    assert "chosen among 1,000 special souls, not 6,000" in shared
    assert "chosen among 1 special soul, not 6,000" in population_note(resolve_scenario(preset="history", souls=100))
    assert "no soul is special (the history has 6,000), so no generation has a judge before the Messiah era" in \
        population_note(resolve_scenario(preset="history", souls=30))


def test_the_run_command_notes_the_history_at_another_population(tmp_path):
    out = tikkun("run", "--preset", "history", "--years", "2", "--souls", "500", "--no-report", "--out",
                 tmp_path / "r", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "note: the history is calibrated for 600,000 souls (docs/calibration.md); at 500 the end comes sooner" \
        in " ".join(out.stderr.split())
    quiet = tikkun("run", "--preset", "history", "--years", "2", "--souls", "500", "--no-report", "-q", "--out",
                   tmp_path / "q", cwd=tmp_path)
    assert quiet.returncode == 0 and "calibrated" not in quiet.stderr


def test_the_run_command_notes_an_event_that_changes_nothing(tmp_path):
    out = tikkun("run", "--preset", "quick", "--years", "20", "--souls", "300", "--no-report", "--out", tmp_path / "r",
                 "--event", '{kind = "scale", year = 5, key = "light.light", factor = 1.0, label = "idle"}', cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "note: events[0], the scale of light.light at year 5 (idle), changes no year's light.light" in \
        " ".join(out.stderr.split())


def test_the_run_command_notes_an_event_of_its_own_that_years_drops(tmp_path):
    """--years drops every event from its year on (README); one given with --event is named, not
    dropped silently."""
    late = '{kind = "reset", year = 25, group = {first = 0, count = 1}}'
    out = tikkun("run", "--preset", "quick", "--years", "20", "--souls", "300", "--no-report", "--out", tmp_path / "r",
                 "--event", late, "--event", late.replace("25", "19"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    said = " ".join(out.stderr.split())
    assert "note: the --event at year 25 is dropped: --years 20 drops every event from year 20 on" in said
    assert "year 19 is dropped" not in said
    # the scenario's own events it drops are named too (quick's shepherd comes at year 200)
    assert "note: --years 20 drops the scenario's events from year 20 on: shepherds (200)" in said


def test_the_run_command_names_the_preset_events_years_drops_and_only_those(tmp_path):
    said = {}
    for years in (150, 300):
        r = tikkun("run", "--preset", "quick", "--years", str(years), "--souls", "300", "--no-report", "--out",
                   tmp_path / f"r{years}", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        said[years] = " ".join(r.stderr.split())
    assert "note: --years 150 drops the scenario's events from year 150 on: shepherds (200)" in said[150]
    assert "drops the scenario's events" not in said[300]  # its shepherd at 200 is inside 300 years


def test_c_is_never_printed_as_1_short_of_1():
    from tikkun.cli import _short_of_one

    assert _short_of_one(1.0) == "1" and _short_of_one(0.5886123) == "0.5886"
    assert _short_of_one(0.99998) == "0.99998"
    for x in (1 - 1e-9, 1 - 2.0 ** -52, 0.99995):
        assert float(_short_of_one(x)) == x or float(_short_of_one(x)) < 1.0
        assert _short_of_one(x) != "1"


def test_a_sweeps_absolute_folder_is_shown_as_given(tmp_path, monkeypatch):
    """A sweep's folder is absolute (its workers may start in another folder); the command shows
    it as `run` shows its own, relative to the working folder where it lies inside it."""
    from pathlib import Path

    from tikkun.cli import _as_given

    monkeypatch.chdir(tmp_path)
    assert _as_given(tmp_path / "sweeps" / "s") == Path("sweeps/s")
    outside = tmp_path.parent / "elsewhere" / "s"
    assert _as_given(outside) == outside


def test_a_bad_value_given_by_an_option_names_the_option(tmp_path):
    for args, key, said in ((["--souls", "3"], "souls.count", "(--souls 3 sets souls.count)"),
                            (["--seed", "-1"], "run.seed", "(--seed -1 sets run.seed)"),
                            (["--seed", "9" * 24], "run.seed", f"(--seed {'9' * 24} sets run.seed)")):
        r = tikkun("run", "--preset", "quick", *args, "--out", tmp_path / "r", cwd=tmp_path)
        assert r.returncode == 2 and key in r.stderr and said in r.stderr, r.stderr
        assert not (tmp_path / "r").exists()
    r = tikkun("run", "--preset", "quick", "--souls", "300", "--set", "light.alpha=-1", "--out", tmp_path / "r",
               cwd=tmp_path)  # a key no option set: no option named
    assert r.returncode == 2 and "light.alpha" in r.stderr and "(--" not in r.stderr, r.stderr


def test_the_runs_bar_starts_anew_for_each_claim():
    """`tikkun experiment --all` shows one bar for the claims in turn: a claim's runs start from 0
    with a clock of their own, even where the last claim had as many runs (the bar was left
    finished, its clock stopped)."""
    from tikkun import cli
    from tikkun.sweep.driver import SweepProgress

    name = ["judges"]
    progress, callback = cli._sweep_progress(False, lambda: f"runs of {name[0]}")

    def report(done, total=10):
        callback(SweepProgress(total, done, 0, total - done, 2, numba_threads=(1,)))

    try:
        report(10)
        (task,) = progress.tasks
        assert task.finished and task.fields["what"] == "runs of judges"
        name[0] = "latecomer"
        report(1)
        (task,) = progress.tasks
        assert not task.finished and task.completed == 1 and task.fields["what"] == "runs of latecomer"
        assert task.time_remaining is None or task.time_remaining > 0
    finally:
        progress.stop()


def test_an_option_of_one_value_given_twice_is_refused_and_nothing_is_written(tmp_path):
    """The parser kept the last silently (`--preset quick --preset history` ran the history),
    while `--set` given twice for one key is refused: every option of one value is refused when
    given twice, in either form (`--seed 1 --seed=2`); options that may repeat are left alone."""
    from tikkun.cli import repeated_option

    r = tikkun("run", "--preset", "quick", "--preset", "history", "--souls", 500, "--years", 20, "--out", "d",
               cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: --preset: given 2 times (--preset quick, --preset history); give it once"]
    assert os.listdir(tmp_path) == []
    assert repeated_option(["run", "--seed", "1", "--souls", "5", "--seed=2"]) == \
        "--seed: given 2 times (--seed 1, --seed 2); give it once"
    assert repeated_option(["report", "r", "--from", "10", "--from", "20"]).startswith("--from: given 2 times")
    assert repeated_option(["run", "--out", "a", "-q", "--out", "b"]).startswith("--out: given 2 times")
    for fine in (["run", "--set", "a=1", "--set", "b=2", "--souls-at", "5", "--souls-at", "9", "-q", "-q"],
                 ["compare", "a", "b", "--year", "1", "--year", "2"],
                 ["run", "--out", "--out"],  # a folder named --out: the value, not the option again
                 ["run", "--", "--seed", "1", "--seed", "2"], ["nosuchcommand", "--x", "1", "--x", "2"], []):
        assert repeated_option(fine) is None, fine


def test_a_failed_sweep_runs_message_is_one_line():
    """A run of a sweep whose scenario does not validate is printed on one line, its problems
    after "failed ID:", as docs/sweeps.md shows it; another error keeps every line, joined."""
    from tikkun.cli import _one_line

    assert _one_line("preset quick: invalid scenario\nlight.beta: Input should be greater than or equal to 0 (got -3.0)"
                     ) == "light.beta: Input should be greater than or equal to 0 (got -3.0)"
    assert _one_line("preset quick: invalid scenario\na: x\nb: y") == "a: x; b: y"
    assert _one_line("the worker left the cluster\nwhile running it") == "the worker left the cluster; while running it"
    assert _one_line(None) == "" and _one_line("MemoryError") == "MemoryError"


ENTRY = """
import atexit, sys, threading, time
from pathlib import Path
here = Path(sys.argv[1])
atexit.register(lambda: (here / "atexit-ran").write_text("yes"))
mode = sys.argv[2]
sys.argv = ["tikkun", *sys.argv[3:]]
from tikkun.cli import entry
if mode == "thread":  # a thread that is not a daemon, still running when the command ends: the exit waits
    threading.Thread(target=lambda: (time.sleep(2.0), (here / "thread-ran").write_text("yes"))).start()
entry()
raise SystemExit("entry() returned")
"""


@pytest.mark.parametrize("mode, args, code", [
    ("plain", ["presets"], 0),
    ("plain", ["run", "--preset", "no-such-preset"], 2),
    ("thread", ["presets"], 0),
])
def test_entry_ends_after_atexit_and_threads(tmp_path, mode, args, code):
    """The command's entry point ends the process itself (Python's teardown of the modules is left
    out): with the command's exit code, after every atexit handler, after a thread that is not a
    daemon has ended, and with what the command printed all there."""
    r = subprocess.run([sys.executable, "-c", ENTRY, str(tmp_path), mode, *args], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == code, r.stderr
    assert "entry() returned" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert (tmp_path / "atexit-ran").read_text() == "yes"
    if mode == "thread":
        assert (tmp_path / "thread-ran").read_text() == "yes"
    if code == 0:  # printed in full: the listing ends with the last preset shipped
        inproc = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['tikkun', 'presets']\n"
                                 "from tikkun.cli import main; main()"], capture_output=True, text=True, timeout=300)
        assert r.stdout == inproc.stdout and r.stdout.strip()
    else:
        assert "no-such-preset" in r.stderr
