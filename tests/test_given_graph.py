"""A network of one's own (`tikkun run --graph FILE.npy`, `tikkun.run(graph=...)`): the same bits
as the scenario's own graph when it is that graph, kept in the run folder, reproduced and
resumed from it; bad graphs refused with the key and what is wrong, nothing written."""

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import tikkun
from tikkun.outputs import run_folder as rf
from tikkun.scenario import ScenarioError

N = 500
# the quick world, small, with the rewiring toward the good and pure every 10 years
KW = dict(preset="quick", souls=N, years=60)


def ring(n=N, k=8):
    """The ring lattice written out here (+1, -1, +2, -2, ...), not by tikkun's builder."""
    steps = [(q // 2 + 1) * (1 if q % 2 == 0 else -1) for q in range(k)]
    return ((np.arange(n)[:, None] + np.array(steps)[None, :]) % n).astype(np.int64)


def test_a_given_ring_is_the_scenarios_ring_bit_for_bit():
    """The ring given as an array (int64, made here) runs exactly as network.kind = "ring": every
    metric and every soul's value the same, through 5 rewirings; the array given is not changed
    (the run rewires its own copy), and summary.json names it by its sha256."""
    own = tikkun.run(overrides={"network.kind": "ring"}, **KW)
    graph = ring()
    kept = graph.copy()
    given = tikkun.run(graph=graph, **KW)
    assert own.metrics["rewired"].sum() > 0
    for k in own.metrics:
        assert np.array_equal(own.metrics[k], given.metrics[k]), k
    for k in own.souls:
        assert np.array_equal(own.souls[k], given.souls[k]), k
    assert np.array_equal(own.simulation.state.neighbours, given.simulation.state.neighbours)
    assert np.array_equal(graph, kept)
    assert given.scenario.network.kind == "given" and given.scenario.network.k == 8
    import hashlib

    digest = hashlib.sha256(kept.astype(np.int32).tobytes()).hexdigest()
    assert given.summary["graph"] == {"souls": N, "k": 8, "sha256": digest}


def test_other_degrees_and_the_folder_reproduce_and_resume(tmp_path):
    """A graph of 5 neighbours a soul drawn here: the run folder keeps it as graph.npy; its
    scenario.toml with that file gives the same bits; a run cut after a checkpoint resumes to
    them, and not without graph.npy."""
    rng = np.random.default_rng(7)
    graph = np.array([rng.choice(np.delete(np.arange(N), i), 5, replace=False) for i in range(N)])
    np.save(tmp_path / "mine.npy", graph)
    first = tikkun.run(graph=tmp_path / "mine.npy", out=tmp_path / "a", **KW)
    assert first.scenario.network.k == 5
    assert np.array_equal(np.load(tmp_path / "a" / "graph.npy"), graph)
    tikkun.run(tmp_path / "a" / "scenario.toml", graph=tmp_path / "a" / "graph.npy", out=tmp_path / "b")
    assert pq.read_table(tmp_path / "a" / "metrics.parquet").equals(pq.read_table(tmp_path / "b" / "metrics.parquet"))
    # the folder's scenario.toml alone takes the graph.npy beside it: the same bits
    tikkun.run(tmp_path / "a" / "scenario.toml", out=tmp_path / "b2")
    assert pq.read_table(tmp_path / "a" / "metrics.parquet").equals(pq.read_table(tmp_path / "b2" / "metrics.parquet"))
    # every table names the graph, which the scenario's text cannot
    for name in ("metrics.parquet", "souls.parquet"):
        meta = pq.read_schema(tmp_path / "a" / name).metadata
        assert meta[b"tikkun.graph_sha256"].decode() == first.summary["graph"]["sha256"], name
    # a graph.npy beside it that is not the run's graph (summary.json's sha256) is refused, nothing written
    (tmp_path / "d").mkdir()
    for name in ("scenario.toml", "summary.json"):
        (tmp_path / "d" / name).write_bytes((tmp_path / "a" / name).read_bytes())
    np.save(tmp_path / "d" / "graph.npy", graph[:, ::-1])
    with pytest.raises(ScenarioError, match=r"graph .*graph.npy: not the graph the run in .* started from"):
        tikkun.run(tmp_path / "d" / "scenario.toml", out=tmp_path / "c")
    (tmp_path / "d" / "graph.npy").unlink()
    with pytest.raises(ScenarioError, match='network.kind = "given" needs its graph'):
        tikkun.run(tmp_path / "d" / "scenario.toml", out=tmp_path / "c")
    assert not (tmp_path / "c").exists()
    # without a summary.json (a scenario file of one's own beside a graph), the graph is taken as it is
    (tmp_path / "d" / "summary.json").unlink()
    np.save(tmp_path / "d" / "graph.npy", graph)
    again = tikkun.run(tmp_path / "d" / "scenario.toml")
    for k in first.metrics:
        assert np.array_equal(again.metrics[k], first.metrics[k]), k

    from test_resume import Cut, _crash_after

    with pytest.raises(Cut):
        tikkun.run(graph=graph, out=tmp_path / "cut", checkpoint_every=10, progress=_crash_after(35), **KW)
    # the graph it started from, and only that, resumes it (the checkpoint names it by its sha256)
    (tmp_path / "cut" / "graph.npy").rename(tmp_path / "away.npy")
    with pytest.raises(rf.CheckpointError, match="graph.npy, the graph the run started from, is missing"):
        tikkun.resume(tmp_path / "cut")
    np.save(tmp_path / "cut" / "graph.npy", graph[:, ::-1])
    with pytest.raises(rf.CheckpointError, match="graph.npy is not the graph the run started from"):
        tikkun.resume(tmp_path / "cut")
    (tmp_path / "cut" / "graph.npy").write_text("garbage")
    with pytest.raises(rf.CheckpointError, match="graph.npy cannot be read as a NumPy array file"):
        tikkun.resume(tmp_path / "cut")
    (tmp_path / "away.npy").replace(tmp_path / "cut" / "graph.npy")
    resumed = tikkun.resume(tmp_path / "cut")
    for k in first.metrics:
        assert np.array_equal(first.metrics[k], resumed.metrics[k]), k
    assert resumed.summary["graph"] == first.summary["graph"]


def test_an_interrupted_run_removes_the_graph_it_wrote(tmp_path):
    (tmp_path / "r").mkdir()
    for name in ("scenario.toml", "graph.npy"):
        (tmp_path / "r" / name).write_text("")
    assert rf.remove_unfinished(tmp_path / "r") and not (tmp_path / "r").exists()


def _bad(tmp_path):
    g = ring()
    self_loop = g.copy()
    self_loop[3, 2] = 3
    twice = g.copy()
    twice[7, 1] = twice[7, 0]
    outside = g.copy()
    outside[9, 4] = N
    return [
        ("rows", g[:400], "has 400 rows and souls.count is 500: a row for each soul"),
        ("flat", g.ravel(), "must be a 2-D array, a row of neighbours for each soul (it has 1 dimension)"),
        ("float", g.astype(float), "must hold whole numbers, the souls' indices (it holds float64)"),
        ("self", self_loop, "soul 3 listens to itself"),
        ("twice", twice, f"soul 7 listens to soul {twice[7, 0]} twice"),
        ("outside", outside, "soul 9 listens to 500, not a soul (the souls are 0 to 499)"),
        ("negative", -g, "soul 0 listens to -1, not a soul"),
        ("empty", np.zeros((N, 0), dtype=int), "has 0 columns: each soul listens to 1 to 256 others"),
    ]


def test_bad_graphs_are_refused_naming_what_is_wrong(tmp_path):
    for name, graph, needle in _bad(tmp_path):
        with pytest.raises(ScenarioError) as exc:
            tikkun.run(graph=graph, out=tmp_path / name, **KW)
        assert str(exc.value) == f"graph: {needle}" or needle in str(exc.value), (name, str(exc.value))
        assert not (tmp_path / name).exists()
    with pytest.raises(ScenarioError, match="network.enabled is false; a graph needs the warm network on"):
        tikkun.run(graph=ring(), overrides={"network.enabled": False}, **KW)
    with pytest.raises(ScenarioError, match=r"disagree \(the graph makes network.k 8\)"):
        tikkun.run(graph=ring(), overrides={"network.k": 6}, **KW)
    with pytest.raises(ScenarioError, match=r"disagree \(the graph makes network.k 1\)"):
        tikkun.run(graph=ring(k=1), overrides={"network.k": True}, **KW)  # True is no number of neighbours
    with pytest.raises(ScenarioError, match="graph: cannot be made an array"):
        tikkun.run(graph=[[1, 2], [0]], **{**KW, "souls": 2})
    # more neighbours than a population has others: said of the graph, not of the scenario's k
    with pytest.raises(ScenarioError) as exc:
        tikkun.run(graph=ring(5, 300) % 5, **{**KW, "souls": 5})
    assert str(exc.value) == "graph: has 300 columns: each soul listens to 1 to 4 others (souls.count is 5)"
    with pytest.raises(ScenarioError) as exc:
        tikkun.run(graph=ring(300), **KW)
    assert str(exc.value) == ("graph: has 300 rows and souls.count is 500: a row for each soul "
                              "(souls=300 runs as many souls as it has rows)")
    with pytest.raises(ScenarioError) as exc:  # rows and columns swapped
        tikkun.run(graph=ring()[:, :5].T.copy(), **KW)
    assert str(exc.value) == ("graph: has 5 rows and souls.count is 500: a row for each soul "
                              "(its 500 columns are as many as the souls: is it transposed?)")
    with pytest.raises(ScenarioError) as exc:  # the rows are not what is wrong: no word of them
        tikkun.run(graph=ring(300).astype(float), **KW)
    assert str(exc.value) == "graph: must hold whole numbers, the souls' indices (it holds float64)"


def test_overrides_in_tables_are_read_and_never_changed():
    """The overrides a caller passes, as dotted keys or as tables, are compared with what the graph
    makes, and the caller's dict is left as it was."""
    table = {"network": {"kind": "ring"}}
    with pytest.raises(ScenarioError, match=r"the override network.kind = 'ring' disagree"):
        tikkun.run(graph=ring(), overrides=table, **KW)
    assert table == {"network": {"kind": "ring"}}
    table = {"network": {"enabled": True, "theta_max": 0.5}, "light": {"alpha": 0.2}}
    kept = json.loads(json.dumps(table))
    r = tikkun.run(graph=ring(), overrides=table, **{**KW, "years": 5})
    assert table == kept and r.scenario.network.theta_max == 0.5 and r.scenario.network.k == 8


@pytest.mark.parametrize("case", ["outside", "missing", "npz", "text"])
def test_the_command_refuses_a_bad_graph_file_with_exit_2(tmp_path, case):
    g = ring()
    if case == "outside":
        g[9, 4] = N
        np.save(tmp_path / "g.npy", g)
        needle = "graph g.npy: soul 9 listens to 500, not a soul"
    elif case == "npz":
        np.savez(tmp_path / "g.npy", a=g)  # saved as g.npy.npz
        (tmp_path / "g.npy.npz").rename(tmp_path / "g.npy")
        needle = "graph g.npy: is an archive of 1 array (.npz)"
    elif case == "text":
        (tmp_path / "g.npy").write_text("0 1\n1 0\n")
        # NumPy's advice to load it "unsafely" is not passed on
        needle = "graph g.npy: cannot be read as a NumPy array file (.npy): a file of another kind"
    else:
        needle = "graph g.npy: no such file"
    r = subprocess.run([sys.executable, "-m", "tikkun", "run", "--preset", "quick", "--souls", str(N), "--graph",
                        "g.npy", "--out", "r", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and not (tmp_path / "r").exists() and "allow_pickle" not in r.stderr


def test_the_command_runs_a_graph_file_and_keeps_it(tmp_path):
    np.save(tmp_path / "g.npy", ring().astype(np.int32))
    r = subprocess.run([sys.executable, "-m", "tikkun", "run", "--preset", "quick", "--souls", str(N), "--years", "30",
                        "--graph", "g.npy", "--out", "r", "-q", "--no-report"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.load(tmp_path / "r" / "graph.npy"), ring())
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["graph"]["k"] == 8 and summary["graph"]["souls"] == N
    r = subprocess.run([sys.executable, "-m", "tikkun", "run", "--resume", "r", "--graph", "g.npy"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "give it without --graph" in r.stderr
    # the run folder's scenario.toml runs with the folder's graph, and says so
    r = subprocess.run([sys.executable, "-m", "tikkun", "run", "r/scenario.toml", "--out", "r2", "--no-report"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'graph r/graph.npy: the graph beside the scenario' in r.stdout, r.stdout + r.stderr
    assert pq.read_table(tmp_path / "r" / "metrics.parquet").equals(pq.read_table(tmp_path / "r2" / "metrics.parquet"))
    # the command names its own option where the graph's rows are not the souls
    np.save(tmp_path / "short.npy", ring(300))
    r = subprocess.run([sys.executable, "-m", "tikkun", "run", "--preset", "quick", "--souls", str(N), "--graph",
                        "short.npy", "--out", "r3", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "(--souls 300 runs as many souls as it has rows)" in r.stderr, r.stderr


def test_a_given_graphs_degree_is_bounded_as_network_k_is():
    from tikkun.rules.network import MAX_DEGREE
    from tikkun.scenario.schema import NetworkConfig, field_bounds

    assert field_bounds(NetworkConfig.model_fields["k"])[:2] == (1, MAX_DEGREE)


def test_a_sweep_refuses_a_given_graph(tmp_path):
    """A sweep cannot hand its runs a graph: refused before anything is written (exit 2)."""
    (tmp_path / "s.toml").write_text('base = "quick"\nseeds = [1]\n[set]\n"network.kind" = "given"\n')
    r = subprocess.run([sys.executable, "-m", "tikkun", "sweep", "s.toml", "--out", "sw", "-q"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'network.kind = "given": a sweep has no graph to give its runs' in r.stderr, r.stderr
    assert not (tmp_path / "sw").exists()


def test_validate_says_a_given_graph_is_needed(tmp_path):
    r = tikkun.run(graph=ring(), out=tmp_path / "r", **{**KW, "years": 5})
    p = subprocess.run([sys.executable, "-m", "tikkun", "validate", str(r.folder / "scenario.toml")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and 'network.kind = "given": run it with its graph (8 columns, 500 rows)' in p.stdout
    assert "graph.npy, beside it, unless --graph gives another" in p.stdout, p.stdout
    np.save(r.folder / "graph.npy", ring()[:, ::-1])  # not the run's graph: run would refuse it, and validate says so
    p = subprocess.run([sys.executable, "-m", "tikkun", "validate", str(r.folder / "scenario.toml")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "--graph FILE.npy (the graph beside it would be refused: " in p.stdout, p.stdout
    assert "not the graph the run in" in " ".join(p.stdout.split())
    (r.folder / "graph.npy").unlink()
    p = subprocess.run([sys.executable, "-m", "tikkun", "validate", str(r.folder / "scenario.toml")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "scenario.toml --graph FILE.npy" in p.stdout, p.stdout


def test_a_folder_whose_name_reads_as_markup_is_named_as_it_is(tmp_path):
    """A folder named like the console's markup ("[red]", "[/]") is printed as it is, never read
    as a tag (a "[/]" stopped the run with a MarkupError)."""
    r = tikkun.run(graph=ring(), out=tmp_path / "r", **{**KW, "years": 5})
    odd = tmp_path / "y[" / "]x[red]"  # y[/]x[red]/scenario.toml
    odd.mkdir(parents=True)
    for name in ("scenario.toml", "graph.npy", "summary.json"):
        (odd / name).write_bytes((r.folder / name).read_bytes())
    p = subprocess.run([sys.executable, "-m", "tikkun", "run", "y[/]x[red]/scenario.toml", "--out", "again",
                        "--no-report"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "graph y[/]x[red]/graph.npy: the graph beside the scenario" in p.stdout, p.stdout
    p = subprocess.run([sys.executable, "-m", "tikkun", "validate", "y[/]x[red]/scenario.toml"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "ok: y[/]x[red]/scenario.toml" in p.stdout, p.stdout
    assert "takes y[/]x[red]/graph.npy, beside it" in p.stdout, p.stdout


def test_a_checkpointed_run_folders_graph_is_checked_against_its_checkpoint(tmp_path):
    """A run cut after a checkpoint has no summary.json: its scenario.toml takes the graph beside
    it only if it is the one the checkpoint names."""
    from test_resume import Cut, _crash_after

    with pytest.raises(Cut):
        tikkun.run(graph=ring(), out=tmp_path / "cut", checkpoint_every=10, progress=_crash_after(25), **KW)
    assert not (tmp_path / "cut" / "summary.json").exists()
    np.save(tmp_path / "cut" / "graph.npy", ring()[:, ::-1])
    with pytest.raises(ScenarioError, match="its sha256 differs from the checkpoint's graph_sha256"):
        tikkun.run(tmp_path / "cut" / "scenario.toml", years=5)
