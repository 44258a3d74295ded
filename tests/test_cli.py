"""The command line end to end on the quick preset: outputs, exit codes, nothing half-written."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

METRICS = ["year", "light", "conductance", "holiness", "cleansing_mean", "weakest_link", "illumination_mean",
           "effort_mean", "complete", "shepherds", "holding_aim", "stage_spark", "stage_particular", "stage_common"]
SOULS = ["soul", "cleansing", "complete", "stage", "hbd", "effort", "warmth", "attachment", "illumination", "sparks"]


def tikkun(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tikkun", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_run_quick_end_to_end(tmp_path):
    r = tikkun("run", "--preset", "quick", "--out", "r1", "-q", "--years", "250", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
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
    # the mean of souls.parquet's cleansing is the last row's C
    c = s.column("cleansing").to_numpy().astype(np.float64)
    assert m.column("cleansing_mean").to_numpy()[-1] == pytest.approx(c.mean(), rel=1e-12)


@pytest.mark.parametrize("args, needle", [
    (["run", "--preset", "quik"], "did you mean 'quick'"),
    (["run", "missing.toml"], "no such scenario file"),
    (["run", "--preset", "quick", "--set", "light.alfa=2"], "light.alfa"),
    (["run", "--preset", "quick", "--set", "souls.count=-3"], "souls.count"),
    (["run", "--preset", "quick", "--set", "light.alpha=nan"], "light.alpha"),
    (["run", "--preset", "quick", "--souls", "0"], "--souls"),
    (["run", "--preset", "quick", "--years", "-1"], "--years"),
    (["run", "--preset", "quick", "--checkpoint-every", "0"], "--checkpoint-every"),
    (["run", "--resume", "nowhere"], "no such run folder"),
    (["run", "--preset", "quick", "--bogus"], "bogus"),
    (["validate", "bad.toml"], "not a valid TOML"),
])
def test_bad_input_exit_2_and_nothing_written(tmp_path, args, needle):
    (tmp_path / "bad.toml").write_text("x = = 1")
    before = sorted(os.listdir(tmp_path))
    r = tikkun(*args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr + r.stdout
    assert sorted(os.listdir(tmp_path)) == before


def test_never_overwrites_a_run_and_resume_refuses_non_checkpoint(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    r = tikkun("run", "--preset", "quick", "--out", "mine", "-q", cwd=tmp_path)
    assert r.returncode == 2 and "not empty" in r.stderr
    r = tikkun("run", "--resume", "mine", cwd=tmp_path)
    assert r.returncode == 2 and "not a checkpointed run" in r.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert sorted(os.listdir(tmp_path / "mine")) == ["notes.txt"]


def test_validate_and_presets(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[souls]\ncount = 100\n[run]\nyears = 10\n')
    r = tikkun("validate", good, cwd=tmp_path)
    assert r.returncode == 0 and "ok" in r.stdout
    r = tikkun("presets", cwd=tmp_path)
    assert r.returncode == 0 and "history" in r.stdout and "quick" in r.stdout


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


def test_help_keeps_the_section_names(tmp_path):
    # Rich markup would swallow an unescaped "[genesis]" and leave "with a  section"
    r = tikkun("genesis", "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "[genesis]" in r.stdout
