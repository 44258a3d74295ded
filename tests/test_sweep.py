"""Sweeps on a real Dask LocalCluster of 2 worker processes: results, run ids, nothing lost.

One cluster serves the module (starting worker processes and loading Numba's kernels in them
is the main cost; the kernels are compiled once, in this process, and the workers read Numba's
on-disk cache). Runs are the quick preset at 500 to 20,000 souls.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tikkun
from tikkun.sweep import SweepError, make_run_id, parse_sweep, plan
from tikkun.sweep.driver import available_cores

pytest.importorskip("distributed")  # the extra tikkun[sweep]; the test extra pulls it

GRID12 = """
base = "quick"
seeds = [20, 21, 22]
years = 100
set = { "souls.count" = 1000 }
[grid]
"light.beta" = [0.5, 1.0]
"network.good_and_pure" = [true, false]
"""
RUN_FILES = ["metrics.parquet", "scenario.toml", "souls.parquet", "summary.json"]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def tikkun_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tikkun", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def reference(out, souls, years, seed, **overrides):
    """The same run by `tikkun.run`, in this process, into the run folder ``out``."""
    return tikkun.run(preset="quick", souls=souls, years=years, seed=seed, overrides=overrides, out=out)


def assert_same_run(folder: Path, ref) -> None:
    """The run folder holds the same metrics and souls as the reference's folder, bit for bit."""
    for name in ("metrics.parquet", "souls.parquet"):
        assert pq.read_table(folder / name).equals(pq.read_table(ref.folder / name)), name
    assert (folder / "scenario.toml").read_text() == (ref.folder / "scenario.toml").read_text()


def mtimes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in [folder, *folder.rglob("*")]}


# ---------------------------------------------------------------- without a cluster
def test_run_ids_readable_stable_and_short():
    spec = parse_sweep({"base": "quick", "seeds": [20], "grid": {"network.good_and_pure": [False], "light.beta": [0.5]}})
    (run,) = plan(spec)
    assert run.run_id == "light.beta=0.5,network.good_and_pure=false,seed=20"
    # the order of the grid's keys in the file does not change the id
    again = parse_sweep({"base": "quick", "seeds": [20], "grid": {"light.beta": [0.5], "network.good_and_pure": [False]}})
    assert plan(again)[0].run_id == run.run_id
    assert make_run_id(["name with/slash", "seed=1"]) == "name_with_slash,seed=1"
    long_parts = [f"light.alpha={0.1 + i / 3}" for i in range(6)]
    a, b = make_run_id(long_parts), make_run_id(long_parts[:-1] + ["light.alpha=9"])
    assert len(a) <= 96 and a != b and a[:60] == b[:60] and "~" in a


def test_variants_times_grid_times_seeds():
    spec = parse_sweep({"base": "quick", "seeds": {"start": 5, "count": 2}, "set": {"souls.count": 500},
                        "grid": {"light.beta": [0.0, 1.0]},
                        "variants": [{"name": "plain"}, {"name": "cold", "set": {"network": {"enabled": False}}}]})
    runs = plan(spec)
    assert len(runs) == 2 * 2 * 2
    cold = [r for r in runs if r.variant == "cold"][0]
    assert cold.run_id == "cold,light.beta=0.0,seed=5"
    assert dict(cold.overrides) == {"souls.count": 500, "network.enabled": False, "light.beta": 0.0}


def test_a_worker_with_another_tikkun_refuses_the_run(tmp_path):
    from tikkun.sweep.task import RunTask, execute

    spec = parse_sweep({"base": "quick", "years": 10})
    run = plan(spec)[0]
    from tikkun.outputs.provenance import code_digest

    import socket

    from tikkun.sweep.task import WorkerRefused

    here = socket.gethostname()  # outside a Dask worker the refusal names the host
    with pytest.raises(WorkerRefused, match=f"^worker {here} .* resolves the run's scenario otherwise") as exc:
        execute(RunTask(run.run_id, spec.base, run.overrides, run.seed, 10, 5, str(tmp_path), "0" * 64,
                        tikkun.__version__, code_digest()))
    assert exc.value.worker == here
    assert not (tmp_path / "runs").exists()
    # a worker of another version (one that joined after the sweep checked its workers)
    with pytest.raises(WorkerRefused, match="has tikkun .*, the client 0.0.1"):
        execute(RunTask(run.run_id, spec.base, run.overrides, run.seed, 10, 5, str(tmp_path), "0" * 64,
                        "0.0.1", code_digest()))
    # the same version with other code (an edited checkout): its bits could differ
    with pytest.raises(WorkerRefused, match="runs other code than the client"):
        execute(RunTask(run.run_id, spec.base, run.overrides, run.seed, 10, 5, str(tmp_path), "0" * 64,
                        tikkun.__version__, "f" * 64))
    assert not (tmp_path / "runs").exists()
    import pickle  # the refusal crosses from the worker to the client with its worker
    again = pickle.loads(pickle.dumps(exc.value))
    assert (type(again), str(again), again.worker) == (WorkerRefused, str(exc.value), here)


def test_the_code_digest_covers_what_a_runs_files_are_made_by(tmp_path):
    from tikkun.native import kernel_cache
    from tikkun.outputs.provenance import RESULT_SOURCES

    root = tmp_path / "tikkun"
    for rel in ("rules/light.py", "outputs/run_folder.py", "api.py", "cli.py", "report/html.py", "dash/app.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\n")
    before = kernel_cache.sources_hash(root, RESULT_SOURCES)
    for rel, counts in (("rules/light.py", True), ("outputs/run_folder.py", True), ("api.py", True),
                        ("cli.py", False), ("report/html.py", False), ("dash/app.py", False)):
        (root / rel).write_text(f"# {rel}, edited\n")
        assert (kernel_cache.sources_hash(root, RESULT_SOURCES) != before) is counts, rel
        (root / rel).write_text(f"# {rel}\n")


@pytest.mark.parametrize("text, needle", [
    ('base = "quick"\nseed = [1]', "seed: unknown key (did you mean 'seeds'?)"),
    ('seeds = [1]', "base: missing"),
    ('base = "quik"', "did you mean 'quick'"),
    ('base = "quick"\n[grid]\n"light.betta" = [1.0]', "grid.light.betta: unknown key 'betta' (did you mean 'beta'?)"),
    ('base = "quick"\n[grid]\n"light.beta" = []', "grid.light.beta: empty list"),
    ('base = "quick"\n[grid]\n', "grid: empty"),
    ('base = "quick"\n[grid]\n"light.beta" = [0.5, 0.50]', "grid.light.beta: the value 0.5 is given twice"),
    ('base = "quick"\n[grid]\n"light.beta" = [1, 0.5, 1.0]', "grid.light.beta: the value 1 is given twice (1 and 1.0)"),
    # a value of the wrong kind: the file's fault, found before any run (not a run recorded as failed)
    ('base = "quick"\n[grid]\n"light.beta" = [0.1, "b"]', "grid.light.beta: Input should be a number, not text"),
    ('base = "quick"\n[grid]\n"light.beta" = [nan, 0.5]', "grid.light.beta: nan is not allowed"),
    ('base = "quick"\n[grid]\n"network.enabled" = [true, 1]', "grid.network.enabled: Input should be true or false"),
    # one key twice in one table (dotted and as a table): one would silently win
    ('base = "quick"\nset = { "light.beta" = 0.3, light = { beta = 0.4 } }',
     "set.light.beta: given twice (as a dotted key and in a table)"),
    ('base = "quick"\n[[variants]]\nname = "a"\nset = { "light.beta" = 0.3, light = { beta = 0.4 } }',
     "variants[0].set.light.beta: given twice"),
    ('base = "quick"\nseeds = [3, 3]', "seeds: seed 3 is given twice"),
    # a count's extra zeros: refused at once, not planned for minutes
    ('base = "quick"\nseeds = { start = 0, count = 100000000 }',
     "seeds: count = 100,000,000: a sweep file makes at most 1,000,000 runs"),
    ('base = "quick"\nseeds = { start = 0, count = 1000 }\n[grid]\n"light.beta" = ['
     + ", ".join(str(k / 1000) for k in range(1001)) + "]",
     "grid: 1,001,000 runs (variants x grid points x seeds); a sweep file makes at most 1,000,000"),
    ('base = "quick"\nset = { "run.seed" = 4 }', "set.run.seed: the seed is given by seeds"),
    ('base = "quick"\nset = { "light.beta" = 1.0 }\n[grid]\n"light.beta" = [0.5]', "grid.light.beta: also in set"),
    ('base = "quick"\n[[variants]]\nname = "a"\n[[variants]]\nname = "a"', "two variants are named 'a'"),
    # no run would validate: a bad sweep file, not a sweep of failed runs
    ('base = "quick"\nset = { "souls.count" = "many" }',
     "no run makes a valid scenario; the first, seed=20: souls.count: Input should be a whole number, not text"),
    ('base = "quick"\nyears = 100000000000', "seed=20: run.years: Input should be less than or equal to"),
    ('base = "quick"\n[grid]\n"light.beta" = [-1.0, -2.0]', "the first, light.beta=-1.0,seed=20: light.beta: Input should be"),
    # a variant none of whose runs is valid (a key misspelt in its events) is a bad sweep file too
    ('base = "quick"\n[[variants]]\nname = "ok"\n[[variants]]\nname = "typo"\n'
     'events = [{ kind = "reset", yeer = 10, group = { first = 0, count = 1 } }]',
     "variant 'typo': none of its runs makes a valid scenario; the first, typo,seed=20: "),
    ('base = "quick"\n[[variants]]\nname = "ok"\n[[variants]]\nname = "typo"\n'
     'events = [{ kind = "scale", year = 10, until = 20, key = "light.lihgt", factor = 2.0 }]', "light.lihgt"),
    ('base = "quick"\n[[variants]]\nname = "ok"\n[[variants]]\nname = "typo"\n'
     'events = [{ kind = "resett", year = 10, group = { first = 0, count = 1 } }]', "resett"),
    ('base = "quick"\n[sensitivity.parameters]\n"souls.count" = [10, 20]', "souls.count: not a real-valued key"),
    ('base = "quick"\n[sensitivity.parameters]\n"network.kind" = [4, 8]',
     "network.kind: not a real-valued key (one of 'small-world', 'ring', 'random', 'given')"),
    ('base = "quick"\n[sensitivity]\nsample = 8\n[sensitivity.parameters]\n"light.beta" = [0.0, 1.0]',
     "sensitivity.sample: unknown key (did you mean 'samples'?)"),
    ('base = "quick"\n[grid.light]\nbeta = [0.0, 1.0]',
     'grid.light: must be a list of values (got a table); write the key dotted under [grid]: '
     '"light.beta" = [0.0, 1.0]'),
    ('base = "quick"\n[sensitivity.parameters]\n"light.beta" = [1.0, 0.0]', "light.beta: must be a range [low, high]"),
    ('base = "quick"\n[sensitivity.parameters]\n"run.seed" = [1, 10]',
     "sensitivity.parameters.run.seed: the seed is not a parameter: give the seeds to run each sample with as seeds"),
    ('base = "quick"\n[sensitivity.parameters]\n"light.beta" = [0.0, inf]',
     "light.beta: must be a range [low, high] of finite numbers with low < high (got [0.0, inf])"),
    # an end of the range that the scenario refuses: every run there would fail after the others ran
    ('base = "quick"\n[sensitivity.parameters]\n"light.alpha" = [0.0, 0.2]',
     "light.alpha: the range's low end 0.0 is not a valid scenario: light.alpha: Input should be greater than 0"),
    ('base = "quick"\n[sensitivity.parameters]\n"light.beta" = [0.0, 1.0]\n[sensitivity.parameters.light]\nbeta = [0.0, 2.0]',
     "sensitivity.parameters.light.beta: given twice"),
    ('base = "quick"\n[sensitivity]\nmethod = "sobol"\nsamples = 2\n[sensitivity.parameters]\n"light.beta" = [0.0, 1.0]',
     "sensitivity.samples: Sobol' needs N >= 16"),
    # samples' extra zeros: refused before SALib draws the design, which would take minutes
    ('base = "quick"\n[sensitivity]\nsamples = 100000000\n[sensitivity.parameters]\n"light.beta" = [0.0, 1.0]',
     "sensitivity.samples: 100,000,000 samples of 1 parameter make 200,000,000 runs (design points x seeds); "
     "a sweep file makes at most 1,000,000"),
    ('base = "quick"\nseeds = { start = 0, count = 1000 }\n[sensitivity]\nsamples = 1000\n'
     '[sensitivity.parameters]\n"light.beta" = [0.0, 1.0]', "make 2,000,000 runs (design points x seeds)"),
    ('base = "quick"\n[sensitivity]\nlevels = 3\n[sensitivity.parameters]\n"light.beta" = [0.0, 1.0]',
     "sensitivity.levels: must be an even integer >= 2"),
])
def test_bad_sweep_file_exit_2_names_the_key(tmp_path, monkeypatch, capsys, text, needle):
    from tikkun.cli import main

    f = write(tmp_path / "bad.toml", text)
    command = "sensitivity" if "sensitivity" in text else "sweep"
    monkeypatch.setattr(sys, "argv", ["tikkun", command, str(f), "--out", str(tmp_path / "out"), "--workers", "1"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert needle in capsys.readouterr().err.replace("\n", " ")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address, needle", [
    ("127.0.0.1:8786x", "--scheduler 127.0.0.1:8786x: not a scheduler address"),
    ("nonsense://", "--scheduler nonsense://: not a scheduler address (unknown address scheme 'nonsense'"),
    ("", "--scheduler: empty; give an address such as tcp://HOST:PORT"),
    ("notaurl", "--scheduler notaurl: not a scheduler address (missing port number"),
    ("tcp://127.0.0.1:70000", "--scheduler tcp://127.0.0.1:70000: not a scheduler address (port 70000 is not from 1 to 65535)"),
])
def test_a_malformed_scheduler_address_exit_2_nothing_written(tmp_path, monkeypatch, capsys, address, needle):
    from tikkun.cli import main

    f = write(tmp_path / "s.toml", GRID12)
    monkeypatch.setattr(sys, "argv", ["tikkun", "sweep", str(f), "--scheduler", address, "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err.replace("\n", " ")
    assert exc.value.code == 2, err
    assert needle in err and "Traceback" not in err
    assert err.startswith("error:") and "waiting" not in err  # the message alone: no progress bar before it
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command, extra", [("sweep", "sweep"), ("sensitivity", "sweep"), ("experiment", "sweep"),
                                            ("serve", "dash")])
def test_a_command_whose_extra_is_not_installed_says_which_to_install(tmp_path, monkeypatch, capsys, command, extra):
    """A plain `pip install .` has no Dask, pandas, SALib or Panel: the commands that need them
    say so in one line, exit 2, before anything is written."""
    import importlib.util

    from tikkun.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    f = write(tmp_path / "s.toml", GRID12)
    args = {"sweep": [str(f)], "sensitivity": [str(f)], "experiment": ["judges"], "serve": []}[command]
    outs = [] if command == "serve" else ["--out", str(tmp_path / "out")]
    monkeypatch.setattr(sys, "argv", ["tikkun", command, *args, *outs])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err.replace("\n", " ")
    assert exc.value.code == 2, err
    assert f'tikkun {command} needs the extra tikkun[{extra}] (distributed not installed): pip install "tikkun[{extra}]"' \
        in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_address_from_the_environment_is_named_as_such(tmp_path, monkeypatch):
    import dask

    f = write(tmp_path / "s.toml", GRID12)
    with dask.config.set({"scheduler-address": "tcp://127.0.0.1:8786"}):
        with pytest.raises(SweepError, match=r"^--workers: .*\(DASK_SCHEDULER_ADDRESS tcp://127.0.0.1:8786\)"):
            tikkun.sweep(f, out=tmp_path / "out", workers=2)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kwargs, needle", [
    (dict(workers="2"), "workers: a whole number of worker processes (got '2')"),
    (dict(workers=1.5), "workers: a whole number of worker processes (got 1.5)"),
    (dict(workers=True), "workers: a whole number of worker processes (got True)"),
    (dict(scheduler=5), "scheduler: a scheduler's address as text"),
    (dict(progress=5), "progress: a function of a SweepProgress (got int)"),
    (dict(client="x"), "client: a distributed.Client (got str)"),
    (dict(out=5), "out: a folder's path (got int)"),
])
def test_arguments_of_the_wrong_kind_are_named_before_anything_is_written(tmp_path, monkeypatch, kwargs, needle):
    """Through the API: a SweepError naming the argument (they were Python's TypeErrors and
    AttributeErrors from inside Dask, and a client given as text left a folder half made)."""
    monkeypatch.chdir(tmp_path)
    f = write(tmp_path / "s.toml", 'base = "quick"\nseeds = [20]\nyears = 30\nset = { "souls.count" = 500 }\n')
    with pytest.raises(SweepError, match=re.escape(needle)):
        tikkun.sweep(f, **({"out": tmp_path / "out"} | kwargs))
    assert sorted(os.listdir(tmp_path)) == ["s.toml"]
    for sweep in (5, {"base": "quick"}):
        with pytest.raises(SweepError, match=r"^sweep: a sweep file's path or a SweepSpec"):
            tikkun.sweep(sweep, out=tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["s.toml"]
    assert tikkun.SweepError is SweepError and "SweepError" in tikkun.__all__  # caught without its module's path


def test_a_method_given_by_option_is_named_by_it(tmp_path, monkeypatch, capsys):
    from tikkun.cli import main

    f = write(tmp_path / "s.toml", 'base = "quick"\n[sensitivity.parameters]\n"light.beta" = [0.0, 1.0]\n')
    monkeypatch.setattr(sys, "argv", ["tikkun", "sensitivity", str(f), "--method", "sobl", "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "--method: unknown method 'sobl'; allowed: morris, sobol" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_refuses_a_folder_it_did_not_make(tmp_path, monkeypatch, capsys):
    from tikkun.cli import main

    f = write(tmp_path / "s.toml", GRID12)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    monkeypatch.setattr(sys, "argv", ["tikkun", "sweep", str(f), "--out", str(tmp_path / "mine")])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2 and "holds no sweep" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / "mine")) == ["notes.txt"]


# ---------------------------------------------------------------- on the cluster
def test_local_cluster_has_a_thread_per_worker_and_numba_to_match(client):
    nthreads = client.nthreads()
    assert len(nthreads) == 2 and set(nthreads.values()) == {1}
    numba_threads = client.run(lambda: __import__("numba").config.NUMBA_NUM_THREADS)
    assert set(numba_threads.values()) == {max(1, available_cores() // 2)}


def test_a_second_sweep_on_warm_workers_still_shows_their_numba_threads(client, tmp_path):
    """The progress line's threads come from the workers' events: a worker that warmed up in an
    earlier sweep still sends them (it compiles nothing the second time)."""
    f = write(tmp_path / "grid.toml", 'base = "quick"\nseeds = [20, 21]\nyears = 20\nset = { "souls.count" = 500 }\n')
    want = (max(1, available_cores() // 2),)
    for k in range(2):
        seen = []
        tikkun.sweep(f, out=tmp_path / f"sw{k}", client=client, progress=seen.append)
        assert seen[-1].numba_threads == want, k


def test_twelve_runs_equal_tikkun_run_and_rerun_redoes_nothing(client, tmp_path):
    f = write(tmp_path / "grid.toml", GRID12)
    out = tmp_path / "sw"
    result = tikkun.sweep(f, out=out, client=client)
    runs = result.runs
    assert len(runs) == 12 and set(runs["status"]) == {"done"} and not runs["reused"].any()
    assert sorted(os.listdir(out / "runs")) == sorted(runs["run_id"])
    assert "light.beta=0.5,network.good_and_pure=false,seed=21" in set(runs["run_id"])
    assert {"light.beta", "network.good_and_pure", "souls.count", "seed", "end_year", "stop_reason", "wall_seconds",
            "final_cleansing_mean"} <= set(runs.columns)
    for row in runs.to_dict("records"):
        folder = out / "runs" / row["run_id"]
        assert sorted(os.listdir(folder)) == RUN_FILES
        assert row["souls.count"] == 1000
        ref = reference(tmp_path / "refs" / row["run_id"], 1000, 100, row["seed"],
                        **{"light.beta": row["light.beta"], "network.good_and_pure": row["network.good_and_pure"]})
        assert_same_run(folder, ref)
        mine = result.metrics[result.metrics["run_id"] == row["run_id"]]
        np.testing.assert_array_equal(mine["cleansing_mean"].to_numpy(), ref.metrics["cleansing_mean"])
        assert row["final_cleansing_mean"] == ref.metrics["cleansing_mean"][-1]
        assert row["stop_reason"] == ref.summary["stop_reason"] and row["years_run"] == 100
    # provenance: each table names its version and the runs' resolved scenarios
    meta = pq.read_schema(out / "sweep.parquet").metadata
    assert meta[b"tikkun.version"].decode() == tikkun.__version__
    scenarios = json.loads(meta[b"tikkun.scenarios"])
    rid = "light.beta=1.0,network.good_and_pure=true,seed=22"
    assert scenarios[rid] == (out / "runs" / rid / "scenario.toml").read_text()
    part = pq.read_schema(out / "sweep-metrics.parquet" / f"{rid}.parquet").metadata
    assert part[b"tikkun.seed"] == b"22" and part[b"tikkun.scenario"].decode() == scenarios[rid]
    # ... and the code that made each run: the table's, each row's and each run's summary's
    code = json.loads((out / "runs" / rid / "summary.json").read_text())["tikkun_code"]
    assert meta[b"tikkun.code"].decode() == part[b"tikkun.code"].decode() == code
    assert set(runs["tikkun_code"]) == {code}

    # bit for bit the same as `tikkun run` on the command line
    cli = tikkun_cli("run", "--preset", "quick", "--souls", 1000, "--years", 100, "--seed", 21,
                     "--set", "light.beta=0.5", "--set", "network.good_and_pure=false", "--out", "ref", "-q", cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    mine = out / "runs" / "light.beta=0.5,network.good_and_pure=false,seed=21"
    for name in ("metrics.parquet", "souls.parquet"):
        assert pq.read_table(mine / name).equals(pq.read_table(tmp_path / "ref" / name)), name
    assert (mine / "scenario.toml").read_text() == (tmp_path / "ref" / "scenario.toml").read_text()

    # the same sweep again: nothing is redone, nothing is touched
    before = mtimes(out / "runs")
    again = tikkun.sweep(f, out=out, client=client)
    assert len(again.runs) == 12 and again.runs["reused"].all()
    assert mtimes(out / "runs") == before
    # a result shown in a notebook is one line, not its two tables
    assert repr(again) == f"SweepResult(folder={str(out)!r}, runs=12, failed=0, reused=12, metrics_rows=1200)"
    # another sweep into the same folder is refused, naming what differs
    g = write(tmp_path / "other.toml", GRID12.replace("1000", "1200"))
    with pytest.raises(SweepError, match=r"another sweep \(they differ at set.souls.count\); choose a new "
                                         r"folder, or run the sweep it holds \(tikkun sweep \S*sweep.toml --out \S+\)$"):
        tikkun.sweep(g, out=out, client=client)
    # ... and the sweep it holds runs as the message says: the same runs, nothing redone
    again = tikkun.sweep(out / "sweep.toml", out=out, client=client)
    assert len(again.runs) == 12 and again.runs["reused"].all()
    # with every run done, a bad address is still told (as with runs to do), and nothing is rewritten
    table = (out / "sweep.parquet").stat().st_mtime_ns
    for address, said in (("foo", "not a scheduler address"), ("tcp://127.0.0.1:9", "cannot reach the scheduler")):
        with pytest.raises(SweepError, match=f"^--scheduler {address}: {said}"):
            tikkun.sweep(f, out=out, scheduler=address)
    assert (out / "sweep.parquet").stat().st_mtime_ns == table
    # its sweep.toml edited by hand into invalid TOML: refused with that said, nothing touched
    marker = out / "sweep.toml"
    held = marker.read_text()
    marker.write_text(held + "\n[[[\n")
    with pytest.raises(SweepError, match=r"--out .*another sweep \(its file is not valid TOML"):
        tikkun.sweep(f, out=out, client=client)
    marker.write_text(held)
    assert mtimes(out / "runs") == before


def test_a_folder_a_sweep_left_before_any_run_is_free_for_another(tmp_path):
    """Ctrl-C while the cluster starts leaves sweep.toml (perhaps an empty table, a lock): the
    folder holds no run, and a corrected sweep takes it (it was refused as "another sweep's
    runs"); once it holds a run, or a row of its table, it is refused as before."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tikkun.sweep import driver, tables
    from tikkun.sweep.spec import parse_sweep

    first = parse_sweep({"base": "quick", "seeds": [20], "set": {"souls.count": 500}})
    second = parse_sweep({"base": "quick", "seeds": [20], "set": {"souls.count": 600}})
    folder = tmp_path / "early"
    (folder / "partial").mkdir(parents=True)
    (folder / "runs").mkdir()
    (folder / "sweep.toml").write_text(first.canonical_toml())
    (folder / "partial" / "seed=20.lock").write_text("host 1\n")
    ours = {"tikkun.version": tikkun.__version__}  # the sweep's table carries its keys (tables.py)
    tables.write_parquet(folder / "sweep.parquet", pa.table({"run_id": pa.array([], pa.string())}), ours)
    driver._check_folder(folder, second)  # free
    tables.write_parquet(folder / "sweep.parquet", pa.table({"run_id": ["seed=20"]}), ours)
    with pytest.raises(SweepError, match="holds the runs of another sweep"):
        driver._check_folder(folder, second)
    (folder / "sweep.parquet").unlink()
    (folder / "partial" / "seed=20").mkdir()  # a run begun: its checkpoint may be there
    with pytest.raises(SweepError, match="holds the runs of another sweep"):
        driver._check_folder(folder, second)


def test_a_sweep_folder_that_cannot_be_made_is_named_and_leaves_nothing(tmp_path):
    """A sweep folder's name too long for the system (Linux: 255 bytes) under a folder the sweep
    would make: SweepError naming the option (exit 2), not an OSError (exit 1), and nothing made."""
    from tikkun.sweep import driver
    from tikkun.sweep.spec import parse_sweep

    spec = parse_sweep({"base": "quick", "seeds": [20], "set": {"souls.count": 500}})
    filing = driver.Filing.open(spec, tmp_path / "np3" / ("y" * 300), "--out")
    with pytest.raises(SweepError, match=r"^--out \S+: cannot be made or written \(File name too long\)"):
        filing.start("--out")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_refused_is_named_by_the_option_that_gave_it(tmp_path):
    """``tikkun experiment`` gives its sweeps' folder with --runs (its --out is the claims' folder)."""
    from tikkun.sweep import run_sweep

    f = write(tmp_path / "s.toml", GRID12)
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(SweepError, match=r"^--runs .*afile: exists and is not a folder"):
        run_sweep(f, out=tmp_path / "afile", out_option="--runs")
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_run_with_an_invalid_scenario_is_recorded_failed(client, tmp_path):
    f = write(tmp_path / "bad.toml", 'base = "quick"\nyears = 50\nset = { "souls.count" = 500 }\n'
                                     '[grid]\n"light.beta" = [0.5, -1.0]\n')
    result = tikkun.sweep(f, out=tmp_path / "sw", client=client)
    runs = result.runs.set_index("run_id")
    assert runs.loc["light.beta=0.5,seed=20", "status"] == "done"
    failed = runs.loc["light.beta=-1.0,seed=20"]
    assert failed["status"] == "failed" and "light.beta" in failed["error"] and "greater than or equal to 0" in failed["error"]
    assert sorted(os.listdir(tmp_path / "sw" / "runs")) == ["light.beta=0.5,seed=20"]


def test_finished_runs_of_other_code_are_not_taken_into_the_sweep(client, tmp_path):
    """A sweep folder whose finished runs another code made (an edited checkout, another
    version) is refused, nothing touched: one table would hold two codes' bits."""
    from tikkun.outputs.provenance import code_digest

    f = write(tmp_path / "s.toml", 'base = "quick"\nseeds = [20, 21]\nyears = 30\nset = { "souls.count" = 500 }\n')
    out = tmp_path / "sw"
    tikkun.sweep(f, out=out, client=client)
    summary_path = out / "runs" / "seed=21" / "summary.json"
    summary = json.loads(summary_path.read_text())
    assert summary["tikkun_code"] == code_digest()
    summary["tikkun_code"] = "0" * 64  # as another code would have written it
    summary_path.write_text(json.dumps(summary))
    before = mtimes(out)
    with pytest.raises(SweepError, match=r"1 of its finished runs was made by other code .*runs/seed=21: "
                                         r"tikkun \S+, tikkun_code 000000000000; .*Choose a new --out"):
        tikkun.sweep(f, out=out, client=client)
    assert mtimes(out) == before
    del summary["tikkun_code"]  # a run of before the code was recorded
    summary_path.write_text(json.dumps(summary))
    with pytest.raises(SweepError, match=r"tikkun_code not recorded"):
        tikkun.sweep(f, out=out, client=client)


def test_a_users_file_under_the_sweeps_names_is_never_written_over(client, tmp_path):
    """A file the sweep did not write, named as its table or as a run's metrics, in the folder of
    a sweep taken up again: refused, named, nothing touched (it was written over, or failed to be
    read with Arrow's error); once moved away, the sweep goes on and writes its own."""
    f = write(tmp_path / "s.toml", 'base = "quick"\nseeds = [20, 21]\nyears = 30\nset = { "souls.count" = 500 }\n')
    out = tmp_path / "sw"
    tikkun.sweep(f, out=out, client=client)
    part = out / "sweep-metrics.parquet" / "seed=21.parquet"
    for mine in (out / "sweep.parquet", part):
        kept = mine.read_bytes()
        mine.write_text("my notes")
        before = mtimes(out)
        with pytest.raises(SweepError, match=rf"^--out .*sw: .*{re.escape(mine.name)} was not written by a sweep .*"
                                             r"move it away"):
            tikkun.sweep(f, out=out, client=client)
        assert mtimes(out) == before and mine.read_text() == "my notes"
        mine.write_bytes(kept)
    pq.write_table(pa.table({"x": [1]}), part)  # Parquet, but not the sweep's
    with pytest.raises(SweepError, match=r"seed=21.parquet was not written by a sweep"):
        tikkun.sweep(f, out=out, client=client)
    part.unlink()
    again = tikkun.sweep(f, out=out, client=client)
    assert set(again.runs["status"]) == {"done"} and b"tikkun.version" in pq.read_schema(part).metadata


def test_a_finished_unmoved_run_of_other_code_is_made_again(client, tmp_path):
    """A run a worker finished in ``partial/`` but did not move (killed between the two) is
    moved as it is when its code is this code, and made again when it is not: the sweep's
    scratch never brings another code's bits into its table."""
    from tikkun.outputs.provenance import code_digest

    f = write(tmp_path / "s.toml", 'base = "quick"\nseeds = [20, 21]\nyears = 30\nset = { "souls.count" = 500 }\n')
    out = tmp_path / "sw"
    tikkun.sweep(f, out=out, client=client)
    rid = "seed=21"
    metrics = (out / "runs" / rid / "metrics.parquet").read_bytes()
    for code, made_again in ((code_digest(), False), ("0" * 64, True)):
        (out / "partial").mkdir(exist_ok=True)
        os.rename(out / "runs" / rid, out / "partial" / rid)  # finished, not yet moved
        summary_path = out / "partial" / rid / "summary.json"
        summary = json.loads(summary_path.read_text())
        summary["tikkun_code"] = code
        summary["wall_seconds"] = -1.0  # no run takes that: a run made again cannot keep it
        summary_path.write_text(json.dumps(summary))
        result = tikkun.sweep(f, out=out, client=client)
        row = result.runs.set_index("run_id").loc[rid]
        assert row["status"] == "done" and row["tikkun_code"] == code_digest()
        moved = json.loads((out / "runs" / rid / "summary.json").read_text())
        assert moved["tikkun_code"] == code_digest()
        assert (moved["wall_seconds"] != -1.0) == made_again  # made again, or moved as it was
        assert (out / "runs" / rid / "metrics.parquet").read_bytes() == metrics or made_again
        assert not (out / "partial").exists()


def test_a_killed_worker_loses_no_run_and_its_run_resumes_from_its_checkpoint(client, tmp_path):
    # 10,000 souls for 600 years: long enough (most of a second) to be killed mid-run
    text = ('base = "quick"\nseeds = [30, 31, 32, 33, 34, 35]\nyears = 600\ncheckpoint_every = 30\n'
            'set = { "souls.count" = 10000 }\n[grid]\n"light.alpha" = [0.05, 0.069]\n')
    f = write(tmp_path / "long.toml", text)
    out = tmp_path / "sw"
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", tikkun.sweep(f, out=out, client=client)))
    worker.start()
    killed = None
    deadline = time.time() + 300
    while killed is None and time.time() < deadline and worker.is_alive():
        for ckpt in (out / "partial").glob("*/checkpoint.npz"):
            holder = (out / "partial" / f"{ckpt.parent.name}.lock").read_text().split()
            if len(holder) != 2:
                continue
            os.kill(int(holder[1]), signal.SIGKILL)
            killed = ckpt.parent.name
            break
        time.sleep(0.01)
    worker.join(timeout=300)
    assert killed is not None, "no run was seen under way"
    runs = box["result"].runs.set_index("run_id")
    assert len(runs) == 12 and set(runs["status"]) == {"done"}
    resumed = runs[runs["resumed_from"].notna()]
    assert killed in resumed.index
    year = int(resumed.loc[killed, "resumed_from"])
    assert year > 0 and year % 30 == 0
    alpha, seed = runs.loc[killed, "light.alpha"], int(runs.loc[killed, "seed"])
    assert_same_run(out / "runs" / killed, reference(tmp_path / "ref", 10000, 600, seed, **{"light.alpha": alpha}))


def test_ctrl_c_stops_cleanly_and_running_again_goes_on(client, tmp_path):
    # the command with its own local cluster (no --scheduler); Ctrl-C is SIGINT to the command
    text = ('base = "quick"\nseeds = [40, 41, 42, 43, 44, 45]\nyears = 600\ncheckpoint_every = 50\n'
            'set = { "souls.count" = 5000 }\n[grid]\n"light.beta" = [0.5, 1.0]\n')
    f = write(tmp_path / "long.toml", text)
    cmd = [sys.executable, "-m", "tikkun", "sweep", "long.toml", "--workers", "2", "--out", "sw", "-q"]
    # Ctrl-C's default handling in the command, even where the suite runs in the background (a
    # shell without job control starts background jobs with SIGINT ignored, and children inherit it)
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    out = tmp_path / "sw"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        finished = len(os.listdir(out / "runs")) if (out / "runs").exists() else 0
        if finished >= 2 and any((out / "partial").glob("*/checkpoint.npz")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep ended before two runs had finished and a third had a checkpoint"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again" in err
    assert "a run still under way on a worker may finish, and is kept" in err.replace("\n", " ")
    first = set(os.listdir(out / "runs"))
    assert 2 <= len(first) < 12
    before = {rid: mtimes(out / "runs" / rid) for rid in first}
    # runs under way when the cluster closed are cut at their last checkpoint (the nanny gives
    # them a few seconds to finish: short runs may finish instead)
    cut = {p.parent.name for p in (out / "partial").glob("*/checkpoint.npz")}

    # the same sweep again (on the module's cluster, to spare a second start of one)
    runs = tikkun.sweep(f, out=out, client=client).runs.set_index("run_id")
    assert len(runs) == 12 and set(runs["status"]) == {"done"}
    assert set(runs.index[runs["reused"]]) == first
    assert {rid: mtimes(out / "runs" / rid) for rid in first} == before
    resumed = runs[runs["resumed_from"].notna()]
    assert set(resumed.index) == cut
    for rid in sorted(cut)[:1]:
        assert_same_run(out / "runs" / rid, reference(tmp_path / "ref", 5000, 600, int(runs.loc[rid, "seed"]),
                                                      **{"light.beta": runs.loc[rid, "light.beta"]}))
    assert not (out / "partial").exists()


# ---------------------------------------------------------------- sensitivity
def _on_cluster(client, fn, X, blocks=8):
    """Evaluate ``fn`` on the rows of ``X`` in Dask tasks."""
    parts = client.gather(client.map(fn, np.array_split(X, blocks), pure=False))
    return np.concatenate(parts)


def test_morris_on_a_linear_function_gives_its_slopes(client):
    from tikkun.sweep import analyse, design

    slopes = np.array([2.0, -0.5, 0.0, 7.0])
    bounds = [[0.0, 1.0], [-2.0, 2.0], [0.0, 3.0], [1.0, 1.5]]
    problem = {"num_vars": 4, "names": ["a", "b", "c", "d"], "bounds": bounds}
    X = design(problem, "morris", 20, levels=4, seed=3)
    Y = _on_cluster(client, lambda x: x @ np.array([2.0, -0.5, 0.0, 7.0]), X)
    si = analyse(problem, X, Y, "morris", levels=4, seed=3)
    # an elementary effect of a linear function is its slope times the range: mu* exactly, sigma 0
    widths = np.array([hi - lo for lo, hi in bounds])
    np.testing.assert_allclose(si["mu_star"], np.abs(slopes) * widths, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(si["mu"], slopes * widths, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(si["sigma"], 0.0, atol=1e-9)


def test_morris_ranks_the_sobol_g_function_by_its_coefficients(client):
    from SALib.test_functions import Sobol_G

    from tikkun.sweep import analyse, design

    problem = {"num_vars": 8, "names": [f"x{i}" for i in range(8)], "bounds": [[0.0, 1.0]] * 8}
    X = design(problem, "morris", 50, levels=4, seed=1)
    si = analyse(problem, X, _on_cluster(client, Sobol_G.evaluate, X), "morris", levels=4, seed=1)
    # a = [0, 1, 4.5, 9, 99, 99, 99, 99]: the smaller a_i, the more x_i matters
    assert list(np.argsort(-si["mu_star"])[:4]) == [0, 1, 2, 3]
    assert si["mu_star"][4:].max() < 0.1 * si["mu_star"][3]


def test_sobol_on_ishigami_matches_the_analytic_indices(client):
    from SALib.test_functions import Ishigami

    from tikkun.sweep import analyse, design

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    X = design(problem, "sobol", 1024, seed=2)
    si = analyse(problem, X, _on_cluster(client, Ishigami.evaluate, X), "sobol", seed=2)
    # Ishigami (a = 7, b = 0.1): S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424, 0.2437
    np.testing.assert_allclose(si["S1"], [0.3139, 0.4424, 0.0], atol=0.05)
    np.testing.assert_allclose(si["ST"], [0.5576, 0.4424, 0.2437], atol=0.05)


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_the_confidence_intervals_are_reproducible_with_every_seed(method):
    """A sensitivity run is a function of its seed, the default seed 0 included: SALib's
    sobol.analyze seeds its bootstrap only for a truthy seed, so seed 0 drew from NumPy's global
    generator. With a seed > 0 the result is SALib's own for that seed."""
    from SALib.analyze import morris as salib_morris
    from SALib.analyze import sobol as salib_sobol
    from SALib.test_functions import Ishigami

    from tikkun.sweep import analyse, design

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    X = design(problem, method, 64, seed=0)
    Y = Ishigami.evaluate(X)
    conf = "S1_conf" if method == "sobol" else "mu_star_conf"
    runs = []
    for _ in range(2):
        np.random.seed(None)  # whatever state the global generator is in
        runs.append(analyse(problem, X, Y, method, seed=0))
    np.testing.assert_array_equal(runs[0][conf], runs[1][conf])
    assert np.all(runs[0][conf] > 0)
    X = design(problem, method, 64, seed=7)
    Y = Ishigami.evaluate(X)
    ours = analyse(problem, X, Y, method, seed=7)
    theirs = (salib_sobol.analyze(problem, Y, calc_second_order=False, seed=7) if method == "sobol"
              else salib_morris.analyze(problem, X, Y, num_levels=4, seed=7))
    for key, value in ours.items():
        np.testing.assert_array_equal(value, np.asarray(theirs[key]), err_msg=key)


def test_sobol_estimates_outside_their_bounds_are_named():
    """Sobol' estimates can break what the indices are (0 <= S1 <= ST <= 1), at small N by far;
    each is named (the note a sensitivity writes), and none where every estimate keeps its bounds."""
    from SALib.test_functions import Ishigami

    from tikkun.sweep import analyse, design
    from tikkun.sweep.sensitivity import out_of_bounds

    assert out_of_bounds({"S1": np.array([-0.0035, 0.3, 0.5]), "ST": np.array([0.2, 1.685, 0.4])}, ["a", "b", "c"]) == [
        "S1 of a -0.0035 < 0", "ST of b 1.685 > 1", "S1 of c 0.5 > its ST 0.4"]
    assert out_of_bounds({"mu": np.array([-3.0]), "mu_star": np.array([3.0])}, ["a"]) == []  # Morris has no bounds
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
    for n, seed in ((16, 2), (1024, 2)):
        X = design(problem, "sobol", n, seed=seed)
        si = analyse(problem, X, Ishigami.evaluate(X), "sobol", seed=seed)
        s1, st = si["S1"], si["ST"]
        broken = int(((s1 < 0) | (s1 > 1)).sum() + ((st < 0) | (st > 1)).sum() + (s1 > st).sum())
        assert len(out_of_bounds(si, problem["names"])) == broken
        assert broken > 0 or n > 16, (n, s1, st)  # at N = 16 x3's S1 (0 in truth) is above its ST


def test_a_sobol_sensitivity_notes_each_estimate_outside_its_bounds(client, tmp_path):
    """The notes of a Sobol' sensitivity on `quick` (N = 16: estimates break their bounds) name
    exactly the rows of sensitivity.parquet whose S1 or ST lies outside [0, 1] or whose S1
    exceeds its ST, read from the table itself."""
    from tikkun.sweep import sensitivity

    f = write(tmp_path / "sens.toml", 'base = "quick"\nyears = 120\nset = { "souls.count" = 500 }\n'
                                      '[sensitivity]\nsamples = 16\nyears = [100]\nseed = 0\n'
                                      '[sensitivity.parameters]\n"light.alpha" = [0.03, 0.3]\n"light.beta" = [0.0, 2.0]\n')
    result = sensitivity(f, method="sobol", out=tmp_path / "sens", client=client)
    table = pq.read_table(tmp_path / "sens" / "sensitivity.parquet")
    notes = json.loads(table.schema.metadata[b"tikkun.notes"])
    assert notes == list(result.notes)
    rows = table.to_pandas()
    expected = set()
    for r in rows.itertuples(index=False):
        for key, v in (("S1", r.S1), ("ST", r.ST)):
            if not 0 <= v <= 1:
                expected.add((r.output, f"{key} of {r.parameter}"))
        if r.S1 > r.ST:
            expected.add((r.output, f"S1 of {r.parameter} {r.S1:.4g} > its ST"))
    assert expected  # N = 16 breaks a bound here; else this test would check nothing
    bounds = [n for n in notes if "outside the indices' bounds" in n]
    said = " | ".join(bounds)
    for output, phrase in expected:
        assert any(n.startswith(f"{output}: ") and phrase in n for n in bounds), (output, phrase, said)
    assert sum(n.count(" of ") for n in bounds) == len(expected)  # nothing named that keeps its bounds
    settings = json.loads(table.schema.metadata[b"tikkun.settings"])
    assert settings["calc_second_order"] is False


def test_sensitivity_command_on_quick(client, tmp_path, monkeypatch, capsys):
    from tikkun.cli import main

    f = write(tmp_path / "sens.toml", 'base = "quick"\nyears = 100\nset = { "souls.count" = 500 }\n'
                                      '[sensitivity]\nsamples = 4\nyears = [50, 99]\nseed = 5\n'
                                      '[sensitivity.parameters]\n"light.alpha" = [0.03, 0.3]\n"light.beta" = [0.0, 2.0]\n')
    monkeypatch.setattr(sys, "argv", ["tikkun", "sensitivity", str(f), "--scheduler", client.scheduler.address,
                                      "--out", str(tmp_path / "sens"), "-q"])
    main_exit = None
    try:
        main()
    except SystemExit as exc:
        main_exit = exc.code
    assert main_exit in (None, 0), capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "mu_star" in printed and "light.alpha" in printed
    header = next(line for line in printed.splitlines() if "mu_star" in line)
    assert re.findall(r"[\w.]+", header) == ["output", "parameter", "mu", "mu_star", "mu_star_conf", "sigma"]  # mu's sign
    # no run ends in 100 years: the end year is the horizon in each, said once, not twice
    flat = " ".join(printed.split())
    assert "runs did not reach the end of correction; their end year is the horizon (100); no sensitivity" in flat
    assert "end_year: the same" not in flat

    indices = pq.read_table(tmp_path / "sens" / "sensitivity.parquet").to_pandas()
    runs = pq.read_table(tmp_path / "sens" / "sweep.parquet").to_pandas()
    meta = pq.read_schema(tmp_path / "sens" / "sensitivity.parquet").metadata  # made by the runs' code
    assert meta[b"tikkun.code"].decode() == runs["tikkun_code"].iloc[0] and b"tikkun.model_revision" in meta
    metrics = pq.read_table(tmp_path / "sens" / "sweep-metrics.parquet").to_pandas()
    assert (tmp_path / "sens" / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(runs["status"]) == {"done"}
    # mu* recomputed by hand: the trajectories' elementary effects on C at year 99
    from tikkun.sweep import design

    problem = {"num_vars": 2, "names": ["light.alpha", "light.beta"], "bounds": [[0.03, 0.3], [0.0, 2.0]]}
    X = design(problem, "morris", 4, levels=4, seed=5)
    c99 = metrics[metrics["year"] == 99].set_index("run_id")["cleansing_mean"]
    by_point = {(r["light.alpha"], r["light.beta"]): c99[r["run_id"]] for _, r in runs.iterrows()}
    Y = np.array([by_point[(a, b)] for a, b in X])
    effects = {0: [], 1: []}
    for t in range(4):
        rows = X[t * 3:(t + 1) * 3]
        for i in range(2):
            dx = np.diff(rows, axis=0)
            step = np.nonzero(dx[:, i])[0][0]
            delta = dx[step, i] / (problem["bounds"][i][1] - problem["bounds"][i][0])
            effects[i].append((Y[t * 3 + step + 1] - Y[t * 3 + step]) / delta)
    mine = indices[indices["output"] == "C_at_99"].set_index("parameter")
    for i, name in enumerate(problem["names"]):
        assert mine.loc[name, "mu_star"] == pytest.approx(np.mean(np.abs(effects[i])), rel=1e-12)
    # more light a year, more cleansing: alpha's effect on C is positive in every trajectory
    assert min(effects[0]) > 0 and mine.loc["light.alpha", "mu"] > 0

    # the same command again replaces its own table and figure; a user's file under either name
    # (or a folder) is refused before anything runs or is written, and kept as it was
    def again():
        try:
            main()
        except SystemExit as exc:
            return exc.code
        return 0

    assert again() in (None, 0), capsys.readouterr().err
    capsys.readouterr()
    for name in ("sensitivity.png", "sensitivity.parquet"):
        path = tmp_path / "sens" / name
        mine_before = path.read_bytes()
        for kind in ("file", "folder"):
            path.unlink()
            path.write_bytes(b"my own " + name.encode()) if kind == "file" else path.mkdir()
            before = sorted(p.name for p in (tmp_path / "sens").iterdir())
            assert again() == 2
            err = " ".join(capsys.readouterr().err.split())
            assert f"{name} was not written by tikkun sensitivity; move it away first" in err, err
            assert (path.read_bytes() == b"my own " + name.encode()) if kind == "file" else path.is_dir()
            assert sorted(p.name for p in (tmp_path / "sens").iterdir()) == before
            path.rmdir() if kind == "folder" else path.unlink()
            path.write_bytes(mine_before)


def test_a_scheduler_address_that_is_no_address_is_bad_input(tmp_path):
    """--scheduler foo (no port): exit code 2 naming the option and the form asked for, not
    Dask's ValueError with exit code 1; nothing written."""
    f = write(tmp_path / "s.toml", 'base = "quick"\nseeds = [1]\n')
    r = tikkun_cli("sweep", f, "--scheduler", "foo", "--out", "sw", "-q", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "--scheduler foo: not a scheduler address" in r.stderr and "tcp://HOST:PORT" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


@pytest.mark.parametrize("command", ["sweep", "sensitivity"])
@pytest.mark.parametrize("options, message", [
    (["--workers", "0"], "error: --workers: must be a positive number of worker processes (got 0)"),
    (["--out", "afile"], "error: --out afile: exists and is not a folder"),  # as given, not made absolute
])
def test_a_bad_option_is_told_alone_without_a_progress_bar(tmp_path, command, options, message):
    """An option refused before any run: its message is all stderr holds (the progress bar of
    runs appears once the input is checked)."""
    f = write(tmp_path / "s.toml", 'base = "quick"\nseeds = [1]\nyears = 20\n'
                                   '[sensitivity.parameters]\n"light.beta" = [0.0, 1.0]\n')
    (tmp_path / "afile").write_text("mine")
    r = tikkun_cli(command, f, *options, cwd=tmp_path)
    # the message as one line (Rich wraps a long path at the console's width)
    assert r.returncode == 2 and r.stderr.replace("\n", "") == message.format(tmp=tmp_path), r.stderr
    assert (tmp_path / "afile").read_text() == "mine"


def _saved_figures(monkeypatch) -> list:
    """The figures saved from now on (each one as savefig was called on it)."""
    from matplotlib.figure import Figure

    figures, real = [], Figure.savefig

    def saving(fig, *args, **kwargs):
        figures.append(fig)
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", saving)
    return figures


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_the_figure_says_how_many_end_years_are_the_horizon(tmp_path, monkeypatch, method):
    """The end year of a run that never ends is the horizon: its panel says so, or a reader of the
    figure alone takes the horizon's effect for the parameters'."""
    import matplotlib
    import pandas as pd

    from tikkun.sweep.sensitivity import SensitivityPlan, plot

    sp = SensitivityPlan({"num_vars": 2, "names": ["light.alpha", "light.beta"], "bounds": [[0.03, 0.2], [0.0, 2.0]]},
                         method, 16, 4, (299,), 0, 0.95, 100, 300)
    cols = ({"mu_star": [8.6, 0.4], "mu_star_conf": [1.0, 0.1], "sigma": [17.0, 0.7], "mu": [8.6, 0.4]}
            if method == "morris" else {"S1": [0.7, 0.1], "S1_conf": [0.1, 0.1], "ST": [0.8, 0.2], "ST_conf": [0.1, 0.1]})
    indices = pd.concat([pd.DataFrame({"output": out, "parameter": sp.problem["names"], **cols})
                         for out in ("end_year", "C_at_299")])
    figures = _saved_figures(monkeypatch)
    backend = matplotlib.get_backend()
    matplotlib.use("svg")  # a caller's own backend, which the figure leaves alone
    try:
        plot(indices, sp, tmp_path / "s.png", censored=(12, 14))
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(backend)
    (fig,) = figures
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert "12 of 14 runs not ended: counted at the horizon (300)" in titles[0]
    assert "not ended" not in titles[1]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes if ax.get_title())
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_the_figure_names_an_output_left_without_a_panel(tmp_path, monkeypatch, method):
    """An output that did not vary (e.g. an end year no run reached) has no panel: a line under
    the panels says which and why, or a reader of the figure alone would not miss it."""
    import pandas as pd

    from tikkun.sweep.sensitivity import SensitivityPlan, plot

    sp = SensitivityPlan({"num_vars": 2, "names": ["light.alpha", "light.beta"], "bounds": [[0.03, 0.2], [0.0, 2.0]]},
                         method, 16, 4, (100, 299), 0, 0.95, 100, 300)
    cols = ({"mu_star": [0.8, 0.1], "mu_star_conf": [0.1, 0.03], "sigma": [0.2, 0.07], "mu": [0.8, 0.1]}
            if method == "morris" else {"S1": [0.7, 0.1], "S1_conf": [0.1, 0.1], "ST": [0.8, 0.2], "ST_conf": [0.1, 0.1]})
    indices = pd.DataFrame({"output": "C_at_299", "parameter": sp.problem["names"], **cols})
    lines = ["end of correction: no panel, no run ended within the horizon (300)",
             "C at year 100: no panel, the same (0) in every run"]
    figures = _saved_figures(monkeypatch)
    plot(indices, sp, tmp_path / "s.png", censored=(80, 80), left_out=lines)
    (fig,) = figures
    assert [t.get_text() for t in fig.texts] == lines[::-1]  # drawn from the bottom up
    (ax,) = [ax for ax in fig.axes if ax.get_title()]
    # the notes sit below the panel, not over it
    renderer = fig.canvas.get_renderer()
    top_of_notes = max(t.get_window_extent(renderer).y1 for t in fig.texts)
    assert top_of_notes < ax.get_tightbbox(renderer).y0


GUARDS = '''import tikkun
tikkun.sweep("a")
if __name__ == "__main__":
    tikkun.sweep("b")
    for seed in range(2):
        tikkun.sweep("c")
if __name__ == "__main__": tikkun.sweep("d")
if len("x"):
    tikkun.sweep("e")
if "__main__" == __name__:
    pass
else:
    tikkun.sweep("f")
'''


@pytest.mark.parametrize("line, unguarded", [(2, True), (4, False), (6, False), (7, False), (9, True), (13, False)])
def test_a_line_under_the_main_guard_is_told_from_one_outside(line, unguarded):
    from tikkun.sweep.driver import unguarded_line

    assert unguarded_line(GUARDS, line) is unguarded


def test_the_work_a_spawned_worker_would_run_again_is_found():
    from tikkun.sweep.driver import unguarded_tikkun_calls

    source = ('import tikkun\nr = tikkun.run(preset="quick")\nprint(tikkun.version)\n'
              'def f():\n    tikkun.run()\nif __name__ == "__main__":\n    tikkun.sweep("s.toml")\n'
              'else:\n    tikkun.resume("x")\nfor i in range(2):\n    x = [tikkun.resume(i)]\n'
              'tikkun.SaveAt(souls=(3,))\n')
    assert unguarded_tikkun_calls(source) == [(2, "run"), (11, "resume")]
    source = ('import tikkun as tk\nfrom tikkun import run as go, SaveAt\ngo(preset="quick")\n'
              'tk.sweep.sensitivity("s.toml")\nSaveAt()\nrun = print\nrun(1)\n')
    assert unguarded_tikkun_calls(source) == [(3, "run"), (4, "sweep.sensitivity")]


@pytest.mark.slow
def test_a_local_clusters_web_server_listens_on_this_machine_only(tmp_path):
    """Dask's default serves its dashboard on every network interface; a local cluster's is this
    machine's (127.0.0.1), and the dashboard's own claims run with none (its status page absent)."""
    script = tmp_path / "probe.py"
    script.write_text(
        "import urllib.error, urllib.request\n"
        "from tikkun.sweep.driver import connect\n"
        "if __name__ == '__main__':\n"
        "    for dashboard in (True, False):\n"
        "        with connect(workers=1, dashboard=dashboard) as client:\n"
        "            sockets = client.cluster.scheduler.http_server._sockets.values()\n"
        "            hosts = sorted({s.getsockname()[0] for s in sockets})\n"
        "            port = next(iter(sockets)).getsockname()[1]\n"
        "            try:\n"
        "                code = urllib.request.urlopen(f'http://127.0.0.1:{port}/status', timeout=30).status\n"
        "            except urllib.error.HTTPError as exc:\n"
        "                code = exc.code\n"
        "            print(dashboard, hosts, code)\n")
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["True ['127.0.0.1'] 200", "False ['127.0.0.1'] 404"], r.stdout


@pytest.mark.slow
def test_a_script_that_sweeps_outside_the_main_guard_is_refused_before_any_worker_starts(tmp_path):
    (tmp_path / "s.toml").write_text('base = "quick"\nseeds = [20]\nyears = 2\n[set]\n"souls.count" = 500\n')
    script = tmp_path / "job.py"
    script.write_text('import tikkun\n\nresult = tikkun.sweep("s.toml", out="out")\n')
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("tikkun.sweep.spec.SweepError: ") and "job.py, line 3: " in last, r.stderr
    assert 'under `if __name__ == "__main__":`' in last
    assert "Nanny" not in r.stderr and not (tmp_path / "out").exists()
    # a guarded sweep beside a run outside the guard, which each worker would run again
    script.write_text('import tikkun\n\nr = tikkun.run(preset="quick", years=2, souls=500)\n'
                      'if __name__ == "__main__":\n    result = tikkun.sweep("s.toml", out="out")\n')
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 1 and "job.py, line 3: tikkun.run(...) outside" in last, r.stderr
    assert "Nanny" not in r.stderr and not (tmp_path / "out").exists()
    # under the guard the same script sweeps
    script.write_text('import tikkun\n\nif __name__ == "__main__":\n    result = tikkun.sweep("s.toml", out="out")\n'
                      '    print(len(result.runs), result.runs["status"].tolist())\n')
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "1 ['done']"


@pytest.mark.slow
def test_a_package_main_and_a_module_run_with_m_are_told_apart(tmp_path):
    # spawn does not run a package's __main__ again (python -m tikkun sweep is fine), but it does
    # run a module given to -m
    (tmp_path / "s.toml").write_text('base = "quick"\nseeds = [20]\nyears = 2\n[set]\n"souls.count" = 500\n')
    pkg = tmp_path / "jobs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "one.py").write_text('import tikkun\ntikkun.sweep("s.toml", out="out")\n')
    (pkg / "__main__.py").write_text('import tikkun\nr = tikkun.sweep("s.toml", out="out")\nprint(r.runs["status"].tolist())\n')
    r = subprocess.run([sys.executable, "-m", "jobs.one"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "one.py, line 2: a sweep on a local cluster" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "jobs"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "['done']"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("reply, needle", [
    (None, "no Dask scheduler answers there"),                      # accepts, never answers
    (b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n", "not a Dask scheduler"),  # a web server
])
def test_a_port_that_is_no_dask_scheduler_is_bad_input_not_a_hang(tmp_path, monkeypatch, reply, needle):
    """Dask's client waits for the scheduler's handshake without a limit: a port that accepts
    connections but is no scheduler (its dashboard's, a web server's) hung the sweep for ever,
    or ended it with a MemoryError (an HTTP reply read as a message's length)."""
    import contextlib
    import socket

    from tikkun.sweep import driver

    monkeypatch.setattr(driver, "CONNECT_TIMEOUT", 1.0, raising=False)
    server = socket.create_server(("127.0.0.1", 0))
    held, stop = [], threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)
            if reply is not None:
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                    conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    f = write(tmp_path / "s.toml", GRID12)
    try:
        started = time.monotonic()
        with pytest.raises(SweepError, match=f"^--scheduler {address}: .*{needle}"):
            tikkun.sweep(f, out=tmp_path / "out", scheduler=address)
        assert time.monotonic() - started < 20
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(120)
def test_a_worker_with_another_tikkun_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    """A worker of another tikkun version (or none) is named, exit code 2 and nothing written;
    before, its runs were made by the other version with nothing said (and a worker that cannot
    import tikkun left at its first task, the sweep waiting for ever)."""
    from distributed import Client, LocalCluster

    f = write(tmp_path / "s.toml", GRID12)
    # a worker thread in this process: it reads tikkun's version as it is now, the client as imported
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        monkeypatch.setattr(tikkun, "__version__", "0.0.0-other")
        address = cluster.scheduler_address
        with pytest.raises(SweepError, match=rf"^--scheduler {address}: worker \S+ has tikkun 0.0.0-other; "
                                             "every worker needs the client's tikkun"):
            tikkun.sweep(f, out=tmp_path / "out", scheduler=address)
        with Client(cluster) as client:
            with pytest.raises(SweepError, match=r"^client: worker \S+ has tikkun 0.0.0-other"):
                tikkun.sweep(f, out=tmp_path / "out", client=client)
        # the same version, other code (an edited checkout): refused too, the worker named
        # (the probe as a worker of other code answers it; the probe itself answers the same code in every
        # other sweep of the suite on a cluster, which would be refused were it wrong)
        monkeypatch.undo()
        from tikkun.sweep import driver

        monkeypatch.setattr(driver, "_CODE_PROBE", "'f' * 64")
        with pytest.raises(SweepError, match=rf"^--scheduler {address}: worker inproc://\S+ runs other code than the "
                                             "client under the same version") as refused:
            tikkun.sweep(f, out=tmp_path / "out", scheduler=address)
        assert "start the workers from the same environment" in str(refused.value)
        # a client of a local cluster: its workers are this environment's, so the code changed
        # after this process imported it (a dashboard left running), and the advice says so
        with Client(cluster) as client:
            with pytest.raises(SweepError, match=r"^client: worker \S+ runs other code") as refused:
                tikkun.sweep(f, out=tmp_path / "out", client=client)
        assert "start this process again (e.g. tikkun serve)" in str(refused.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(300)
def test_a_worker_with_other_code_that_joins_later_gives_its_runs_to_the_others(tmp_path, monkeypatch):
    """A worker with other code that the check before the sweep did not see (it joined later)
    refuses every run it is given at once, and so would take most of the queue: its runs go to
    the other workers, and none fails for it."""
    from distributed import LocalCluster

    from tikkun.sweep import task as task_module

    f = write(tmp_path / "s.toml", GRID12)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        bad = sorted(cluster.scheduler_info["workers"])[0]
        real = task_module.code_digest
        monkeypatch.setattr(task_module, "code_digest",
                            lambda: "f" * 64 if task_module._this_worker() == bad else real())
        result = tikkun.sweep(f, out=tmp_path / "out", scheduler=cluster.scheduler_address)
    assert len(result.runs) == 12 and (result.runs["status"] == "done").all(), result.failed["error"].tolist()


@pytest.mark.slow  # its good worker waits 2 s a run: 25 s
@pytest.mark.timeout(300)
def test_runs_a_worker_refused_are_not_taken_back_by_it_while_the_others_are_busy(tmp_path, monkeypatch):
    """A run given elsewhere after a refusal is bound to the other workers: Dask's work stealing
    moved such runs back to the idle worker that had refused them (its queue empty, the others'
    long), until each had been refused eight times and failed. Here the good worker is slow."""
    import time as _time

    from distributed import LocalCluster

    from tikkun.sweep import task as task_module

    f = write(tmp_path / "s.toml", GRID12)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        bad = sorted(cluster.scheduler_info["workers"])[0]
        real = task_module.code_digest

        def digest_here():
            if task_module._this_worker() == bad:
                return "f" * 64
            _time.sleep(2.0)  # the good worker's runs take long: its queue stays full
            return real()

        monkeypatch.setattr(task_module, "code_digest", digest_here)
        result = tikkun.sweep(f, out=tmp_path / "out", scheduler=cluster.scheduler_address)
    assert len(result.runs) == 12 and (result.runs["status"] == "done").all(), result.failed["error"].tolist()


def test_a_run_bound_to_workers_that_all_left_is_given_again():
    """A run given elsewhere waits only for the workers it was bound to: were they all to leave,
    it would wait for ever. The sweep's look at the cluster gives it again to the workers there
    now that did not refuse it, or records it failed where none is left."""
    import types

    from tikkun.sweep.driver import Filing

    class Fut:  # a run's future, as the sweep holds it
        def __init__(self, key, workers=None):
            self.key, self.workers, self.cancelled = key, workers, False

        def done(self):
            return False

        def cancel(self):
            self.cancelled = True

    class Client:
        def __init__(self, alive):
            self.alive, self.given = alive, []

        def nthreads(self):
            return {w: 1 for w in self.alive}

        def submit(self, fn, task, key, pure, workers, allow_other_workers):
            assert not allow_other_workers  # bound: Dask's stealing may not move it back
            self.given.append(Fut(key, workers))
            return self.given[-1]

    filed = {}
    run = types.SimpleNamespace(run_id="r1")
    filing = types.SimpleNamespace(bound={}, MAX_ELSEWHERE=Filing.MAX_ELSEWHERE, task=lambda r: r,
                                   file=lambda rid, record: filed.__setitem__(rid, record))
    filing._elsewhere = types.MethodType(Filing._elsewhere, filing)
    rebind = types.MethodType(Filing._rebind, filing)
    client = Client(["bad", "a"])
    first = filing._elsewhere(client, run, {"bad"}, "t", {})
    assert client.given[-1].workers == ["a"] and filing.bound == {first: {"a"}}
    futures, pending, tries = {first: run}, types.SimpleNamespace(added=[]), {"r1": 1}
    pending.add = pending.added.append
    rebind(client, futures, pending, {"bad"}, "t", tries)  # "a" still there: nothing moves
    assert futures == {first: run} and not first.cancelled
    client.alive = ["bad", "b"]  # "a" left, "b" joined
    rebind(client, futures, pending, {"bad"}, "t", tries)
    second = client.given[-1]
    assert first.cancelled and second.workers == ["b"] and futures == {second: run} and pending.added == [second]
    assert filing.bound == {second: {"b"}} and tries == {"r1": 2}
    client.alive = ["bad"]  # only the worker that refused it: failed, with why
    rebind(client, futures, pending, {"bad"}, "t", tries)
    assert second.cancelled and futures == {} and filing.bound == {}
    assert filed["r1"]["status"] == "failed" and "left the cluster" in filed["r1"]["error"]


def _sweep_on_a_cluster_a_worker_joins_late(f, out, seconds, **kwargs):
    """``tikkun.sweep`` on a cluster of no workers, one joining after ``seconds``; returns the
    result, the scheduler's address and the warnings given."""
    import warnings

    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        timer = threading.Timer(seconds, lambda: cluster.scale(1))
        timer.start()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = tikkun.sweep(f, out=out, scheduler=cluster.scheduler_address, **kwargs)
        finally:
            timer.cancel()
        return result, cluster.scheduler_address, [str(w.message) for w in caught
                                                   if issubclass(w.category, RuntimeWarning)]


@pytest.mark.slow
def test_a_cluster_without_workers_is_waited_for_and_said_once(tmp_path, monkeypatch):
    """A scheduler with no worker is not an error (workers may join later), but the sweep says
    so, once, after NO_WORKERS_WARN seconds; the progress carries how long it has waited; the
    runs go on when a worker joins."""
    from tikkun.sweep import driver

    monkeypatch.setattr(driver, "NO_WORKERS_WARN", 1.0)
    f = write(tmp_path / "s.toml", 'base = "quick"\nseeds = [20]\nyears = 3\nset = { "souls.count" = 300 }\n')
    result, address, caught = _sweep_on_a_cluster_a_worker_joins_late(f, tmp_path / "out", 3.0)
    said = [m for m in caught if "no worker has joined" in m]
    assert len(said) == 1 and f"start `dask worker {address}`" in said[0], said
    assert result.runs["status"].tolist() == ["done"]
    # with a progress line, its waiting time instead of a warning
    seen = []
    _, _, caught = _sweep_on_a_cluster_a_worker_joins_late(f, tmp_path / "out2", 2.5,
                                                           progress=lambda p: seen.append((p.workers, p.no_workers)))
    assert not [m for m in caught if "no worker has joined" in m]
    assert max(t for n, t in seen if n == 0) >= 1.0 and seen[-1][1] == 0.0


def test_the_first_report_says_the_sweep_is_reaching_its_scheduler(tmp_path, monkeypatch):
    """Before the sweep has a cluster its progress says what it is doing, not that it waits for a
    worker: an address where no scheduler answers is reached for until the timeout, then named."""
    from tikkun.sweep import driver

    monkeypatch.setattr(driver, "CONNECT_TIMEOUT", 1.0)
    f = write(tmp_path / "s.toml", 'base = "quick"\nseeds = [20]\nyears = 3\nset = { "souls.count" = 300 }\n')
    seen = []
    with pytest.raises(SweepError, match=r"^--scheduler tcp://127.0.0.1:9: cannot reach the scheduler"):
        tikkun.sweep(f, out=tmp_path / "out", scheduler="tcp://127.0.0.1:9", progress=seen.append)
    assert [p.connecting for p in seen] == ["reaching the scheduler"] and seen[0].workers == 0


def test_workers_that_left_are_said_to_have_left():
    """A cluster whose workers all left (killed, their jobs ended) is not one no worker joined:
    the line says how many left and when, with the scheduler's address to start new ones."""
    from tikkun.cli import _sweep_progress
    from tikkun.sweep.driver import NO_WORKERS_WARN, SweepProgress, no_workers_message

    assert no_workers_message(75.4, "tcp://h:1", 2) == ("the cluster's 2 workers left it 75 s ago; the sweep waits for "
                                                        "one (start `dask worker tcp://h:1`)")
    assert no_workers_message(61, "tcp://h:1", 1).startswith("the cluster's 1 worker left it 61 s ago;")
    progress, callback = _sweep_progress(quiet=False)
    try:
        with progress.console.capture() as said:
            callback(SweepProgress(6, 2, 0, 4, 2, scheduler="tcp://h:1", workers_left=0))
            callback(SweepProgress(6, 2, 0, 4, 0, no_workers=NO_WORKERS_WARN + 1, scheduler="tcp://h:1", workers_left=2))
        lines = [line for line in said.get().splitlines() if "worker" in line]
        assert lines == [f"the cluster's 2 workers left it {NO_WORKERS_WARN + 1:.0f} s ago; the sweep waits for one "
                         "(start `dask worker tcp://h:1`)"]
    finally:
        progress.stop()


def test_the_progress_line_says_how_long_the_cluster_has_had_no_worker():
    from tikkun.cli import _sweep_progress
    from tikkun.sweep.driver import NO_WORKERS_WARN, SweepProgress

    progress, callback = _sweep_progress(quiet=False)
    try:
        with progress.console.capture() as said:
            callback(SweepProgress(4, 0, 0, 4, 0, connecting="reaching the scheduler"))
            assert progress.tasks[0].fields["note"] == "reaching the scheduler"  # no cluster yet to join
            callback(SweepProgress(4, 0, 0, 4, 0, no_workers=NO_WORKERS_WARN - 1))
            assert progress.tasks[0].fields["note"] == "waiting for a worker"
            for extra in (2, 3):
                callback(SweepProgress(4, 0, 0, 4, 0, no_workers=NO_WORKERS_WARN + extra, scheduler="tcp://10.0.0.5:8786"))
            assert progress.tasks[0].fields["note"] == f"waiting for a worker ({NO_WORKERS_WARN + 3:.0f} s)"
            callback(SweepProgress(4, 1, 0, 3, 1, numba_threads=(1,)))
            assert progress.tasks[0].fields["note"] == "1 worker x 1 Numba thread"  # it said "1 workers"
            callback(SweepProgress(4, 1, 0, 3, 2))
            assert progress.tasks[0].fields["note"] == "2 workers"
            for _ in range(2):  # in a log (no terminal, as here), compiling is said once on a line of its own
                callback(SweepProgress(4, 1, 0, 3, 2, compiling=("tcp://127.0.0.1:1",)))
            assert progress.tasks[0].fields["note"] == "2 workers, 1 compiling the kernels"
        # a line of its own, once, that a log without the bar keeps whole: how long, and what to start
        lines = [line for line in said.get().splitlines() if "no worker" in line]
        assert lines == [f"no worker has joined tcp://10.0.0.5:8786 in {NO_WORKERS_WARN + 2:.0f} s; the sweep waits "
                         "for one (start `dask worker tcp://10.0.0.5:8786`)"]  # it said SCHEDULER_ADDRESS
        compiling = [line for line in said.get().splitlines() if line.startswith("the workers are compiling")]
        assert compiling == ["the workers are compiling the kernels (a few minutes the first time; then they are "
                             "cached)"]
    finally:
        progress.stop()


def test_an_interrupt_outside_the_runs_dispatch_still_says_what_is_filed(client, tmp_path, monkeypatch):
    """An interrupt can land after the runs' loop (the local cluster closing, the tidying, or one
    a callback swallowed and the command line sent again): it is a SweepInterrupted with the
    counts, as inside the loop, never a bare interrupt that says nothing of the runs."""
    from tikkun.sweep import SweepInterrupted
    from tikkun.sweep import driver

    f = write(tmp_path / "s.toml", 'base = "quick"\nseeds = [20, 21]\nyears = 30\nset = { "souls.count" = 500 }\n')

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(driver.Filing, "tidy", interrupted)
    with pytest.raises(SweepInterrupted) as stop:
        tikkun.sweep(f, out=tmp_path / "sw", client=client)
    assert (stop.value.done, stop.value.failed, stop.value.left) == (2, 0, 0)
    assert stop.value.folder == tmp_path / "sw"


@pytest.mark.parametrize("seed, shown", [("1.5", "1.5"), ("true", "true"), ('"abc"', '"abc"'), ("[1]", "[1]"),
                                         ("-3", "-3")])
def test_a_base_seed_that_is_no_seed_is_refused_before_any_run(tmp_path, seed, shown):
    """Without `seeds`, the runs take the base scenario's seed: one that is not a whole number in
    the schema's range is refused, named, before anything runs (1.5 and true ran as seed 1;
    text stopped the sweep with Python's ValueError)."""
    (tmp_path / "scen.toml").write_text(f"[run]\nseed = {seed}\n")
    (tmp_path / "s.toml").write_text('base = "scen.toml"\n')
    from tikkun.sweep import load_sweep

    with pytest.raises(SweepError, match=re.escape(f"scen.toml: run.seed: must be a whole number from 0 to "
                                                   f"{2**62:,} (got {shown})")):
        plan(load_sweep(tmp_path / "s.toml"))
    (tmp_path / "scen.toml").write_text("[run]\nseed = 7\n")
    assert [r.seed for r in plan(load_sweep(tmp_path / "s.toml"))] == [7]


def test_a_folder_or_a_scenario_given_as_the_sweep_file_is_named_as_such(tmp_path):
    """`tikkun sweep FOLDER` said "no such sweep file" of a folder that exists; `tikkun sweep
    run/scenario.toml` named the scenario's first key as unknown: each says what it is."""
    from tikkun.sweep import load_sweep

    with pytest.raises(SweepError, match="a folder, not a sweep file"):
        load_sweep(tmp_path)
    (tmp_path / "scenario.toml").write_text('name = "mine"\n[run]\nseed = 3\n[souls]\ncount = 100\n')
    with pytest.raises(SweepError, match=re.escape("scenario.toml: a scenario file (name, run, souls), not a sweep "
                                                   "file: `tikkun run ")):
        load_sweep(tmp_path / "scenario.toml")
    (tmp_path / "s.toml").write_text('base = "scenario.toml"\nseeds = [1]\n')
    assert [r.seed for r in plan(load_sweep(tmp_path / "s.toml"))] == [1]


def test_a_run_folder_in_the_way_is_named_with_what_it_lacks(tmp_path):
    """A run's folder in a sweep's folder that is not a finished run of its scenario: the message
    says what it lacks (it said "no valid summary.json" of a run that lacked only its metrics)."""
    from tikkun.sweep.driver import _conflict

    final = tmp_path / "runs" / "seed=20"
    final.mkdir(parents=True)
    (final / "scenario.toml").write_text("x = 1\n")
    (final / "summary.json").write_text("{}")
    (final / "souls.parquet").write_text("")
    assert _conflict(final, "x = 1\n") == (f"{final}: is not a finished run (no metrics.parquet); move it away or "
                                           "choose a new --out")
    (final / "metrics.parquet").write_text("")
    assert "(its summary.json is not a finished run's)" in _conflict(final, "x = 1\n", "--runs")
    assert "holds a run of another scenario (they differ at x" in _conflict(final, "x = 2\n")
