"""What a run's outputs say of what made them, and that it is enough to make the run again."""

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from test_run_folder import _rewrite_meta, cut_run  # noqa: F401  (cut_run: a fixture, a run cut at year 10)

import tikkun
from tikkun.outputs import run_folder as rf

PACKAGE = Path(tikkun.__file__).resolve().parent
REPO = PACKAGE.parents[1]
# what a run's files are made by, written out here (docs/sweeps.md, "Nothing lost")
RESULT_SOURCES = ("engine", "rules", "native", "genesis", "scenario", "state.py", "random.py", "records", "outputs", "api.py")


def sources_sha256() -> str:
    """sha256 of every .py file under the sources above, in sorted order of their paths
    relative to the package, each as its path, a NUL, its bytes, a NUL."""
    h = hashlib.sha256()
    files = sorted(p for p in PACKAGE.rglob("*.py")
                   if "__pycache__" not in p.parts and p.relative_to(PACKAGE).parts[0] in RESULT_SOURCES)
    for p in files:
        h.update(p.relative_to(PACKAGE).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def model_revision() -> int:
    """The latest revision MODEL.md (shipped beside the code) describes."""
    return max(int(n) for n in re.findall(r"^\*\*Revision (\d+)\b", (REPO / "MODEL.md").read_text(), re.M))


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prov") / "a run"
    tikkun.run(preset="history", souls=300, years=60, seed=0, out=folder,
               overrides={"light.alpha": 1, "genesis.n": 32},
               events=[{"kind": "reset", "year": 30, "group": {"first": 0, "count": 5}}])
    return folder


def test_every_output_of_a_run_names_its_version_code_revision_seed_and_scenario(run_folder):
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["tikkun_version"] == tikkun.__version__
    assert summary["tikkun_code"] == sources_sha256()
    assert summary["model_revision"] == model_revision()
    assert summary["seed"] == 0
    scenario = (run_folder / "scenario.toml").read_text()
    for name in ("metrics.parquet", "souls.parquet", "genesis.parquet"):
        meta = pq.read_schema(run_folder / name).metadata
        assert meta[b"tikkun.version"].decode() == tikkun.__version__, name
        assert meta[b"tikkun.code"].decode() == sources_sha256(), name
        assert meta[b"tikkun.model_revision"].decode() == str(model_revision()), name
        assert meta[b"tikkun.seed"] == b"0", name
        assert meta[b"tikkun.scenario"].decode() == scenario, name


def test_tikkun_version_code_prints_what_summary_json_records(run_folder, tmp_path):
    r = subprocess.run([sys.executable, "-m", "tikkun", "version", "--code"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    printed = dict(line.split(" ", 1) for line in r.stdout.strip().splitlines())
    summary = json.loads((run_folder / "summary.json").read_text())
    assert printed == {k: str(summary[k]) for k in ("tikkun_version", "tikkun_code", "model_revision")}


def test_a_table_alone_makes_its_run_again(run_folder, tmp_path):
    """The scenario in metrics.parquet's metadata (the --set and --event applied) run again
    gives the same bits."""
    text = pq.read_schema(run_folder / "metrics.parquet").metadata[b"tikkun.scenario"].decode()
    (tmp_path / "again.toml").write_text(text)
    again = tikkun.run(tmp_path / "again.toml", out=tmp_path / "again")
    for name in ("metrics.parquet", "souls.parquet", "genesis.parquet"):
        mine, theirs = pq.read_table(tmp_path / "again" / name), pq.read_table(run_folder / name)
        assert mine.equals(theirs, check_metadata=True), name
    assert np.array_equal(np.load(tmp_path / "again" / "field.npy"), np.load(run_folder / "field.npy"))
    summary, summary_again = json.loads((run_folder / "summary.json").read_text()), dict(again.summary)
    for s in (summary, summary_again):  # the times, not results
        s.pop("wall_seconds"), s["genesis"].pop("seconds")
    assert summary_again == summary


def test_a_checkpoint_records_the_code_that_wrote_it(cut_run):
    assert rf.checkpoint_meta(cut_run)["tikkun_code"] == sources_sha256()


@pytest.mark.parametrize("code", ["0" * 64, None])
def test_a_checkpoint_of_other_code_under_the_same_version_is_not_resumed(cut_run, tmp_path, code):
    """Resumed by other code, a run would have the bits of neither code: refused (exit 2),
    nothing written; a sweep starts such a run afresh instead."""
    from tikkun.sweep.task import _resumable_year

    folder = _rewrite_meta(cut_run, tmp_path / "other", tikkun_code=code)
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(rf.CheckpointError, match="written by other code than this tikkun"):
        tikkun.resume(folder)
    r = subprocess.run([sys.executable, "-m", "tikkun", "run", "--resume", folder, "-q"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "other code" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert sorted(p.name for p in folder.iterdir()) == before
    text = rf.checkpoint_meta(folder)["scenario"]
    assert _resumable_year(folder, text) is None
    assert _resumable_year(_rewrite_meta(cut_run, tmp_path / "same"), text) == 10
