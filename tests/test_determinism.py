"""Reproducible to the bit: thread count, resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time

import numba
import pytest
import numpy as np
import pyarrow.parquet as pq

import tikkun
from conftest import make_scenario


def test_results_do_not_depend_on_thread_count():
    # every rule on: network, rewiring, shocks, judges, Messiah era with shepherds; 5 blocks
    sc = make_scenario(**{"souls.count": 9000, "years": 80, "light.alpha": 0.2,
                          "impurity.rate": 0.5, "generations.torah_from": 20, "generations.messiah_from": 40})
    runs = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            runs.append(tikkun.run(sc))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    a, b = runs
    for k in a.metrics:
        np.testing.assert_array_equal(a.metrics[k], b.metrics[k], err_msg=k)
    assert a.metrics["shocks"].sum() > 0 and a.metrics["rewired"].sum() > 0 and a.metrics["shepherds"][-1] > 0
    for k in ("cleansing", "effort", "illumination", "neighbours_mean_cleansing"):
        np.testing.assert_array_equal(a.souls[k], b.souls[k])


@pytest.mark.slow
def test_resume_after_kill_equals_uninterrupted(tmp_path):
    args = ["--preset", "quick", "--souls", "60000", "--years", "300", "--set", "run.stop_at_end=false",
            "--event", '{kind = "set", year = 100, key = "impurity.rate", value = 0.3}', "--set", "generations.torah_from=50",
            "--set", "generations.messiah_from=150"]
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    full = subprocess.run([sys.executable, "-m", "tikkun", "run", *args, "--out", "full", "-q"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert full.returncode == 0, full.stderr
    proc = subprocess.Popen([sys.executable, "-m", "tikkun", "run", *args, "--out", "cut", "-q",
                             "--checkpoint-every", "20"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "cut" / "checkpoint.npz"
    deadline = time.time() + 300
    while time.time() < deadline:
        if ckpt.exists() and ckpt.stat().st_size > 0:
            time.sleep(0.3)  # let it run past the checkpoint a little
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "cut" / "summary.json").exists(), "the run ended before it could be killed"
    (tmp_path / "cut" / ".checkpoint.npz.tikkun-k1ll3d9x.tmp").write_bytes(b"half")  # as a kill mid-checkpoint leaves
    resumed = subprocess.run([sys.executable, "-m", "tikkun", "run", "--resume", "cut", "-q"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    a = pq.read_table(tmp_path / "full" / "metrics.parquet")
    b = pq.read_table(tmp_path / "cut" / "metrics.parquet")
    assert a.equals(b)
    assert pq.read_table(tmp_path / "full" / "souls.parquet").equals(pq.read_table(tmp_path / "cut" / "souls.parquet"))
    sa = json.loads((tmp_path / "full" / "summary.json").read_text())
    sb = json.loads((tmp_path / "cut" / "summary.json").read_text())
    for key in ("end_year", "years_run", "stop_reason", "seed"):
        assert sa[key] == sb[key]
    assert not (tmp_path / "cut" / "checkpoint.npz").exists()
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == sorted(p.name for p in (tmp_path / "full").iterdir())
    assert (tmp_path / "cut" / "report.html").is_file()  # a resumed run ends as any run does


_FORK_CHILD = """
import multiprocessing as mp
import numba
import pytest
import tikkun
from tikkun import api

def one(seed):
    return float(api.run(preset="quick", years=20, seed=seed).metrics["cleansing_mean"][-1])

if __name__ == "__main__":
    parent = one(1)  # the parent runs the compiled parallel loops first
    with mp.get_context("fork").Pool(2) as pool:
        children = pool.map_async(one, [1, 2]).get(timeout=120)  # a stopped child never answers
    assert children[0] == parent, (children, parent)
    print(numba.threading_layer())
"""


@pytest.mark.skipif(not (sys.platform.startswith("linux") and os.uname().machine == "x86_64"),
                    reason="tikkun depends on TBB only on Linux x86-64; elsewhere the layer may be GNU OpenMP")
def test_a_process_forked_after_a_run_can_run_again(tmp_path):
    """The default threading layer (TBB where tikkun installs it) survives a fork: a child
    forked after the parent ran its parallel loops runs them too, to the same result (GNU
    OpenMP would stop the child). A sweep with multiprocessing's default start method on
    Linux does just that."""
    script = tmp_path / "fork_child.py"
    script.write_text(_FORK_CHILD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING_LAYER")}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "tbb"
