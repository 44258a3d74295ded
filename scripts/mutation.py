"""Mutation testing of tikkun's rules and engine with cosmic-ray (not part of the CI suite).

    python scripts/mutation.py run rules-core      # mutate, test, record (resumable)
    python scripts/mutation.py report rules-core   # score, survivors with their diffs
    python scripts/mutation.py recheck rules-core  # survivors again, against the wider selection

cosmic-ray rewrites a source file on disk, runs a test command, and puts the file back, so a
mutant inside an ``@njit`` function is run like any other: with ``NUMBA_DISABLE_JIT=1`` the
decorator hands back the plain Python function, which reads the mutated source (mutmut 3, by
contrast, leaves every decorated function unmutated). No mutant needs compiling, and the test
selections use small populations. ``report`` counts the mutants inside ``@njit`` functions and
how many of them the tests killed: that they are killed at all shows that the kernels' code,
not a cached compilation, ran.

Each group works in a copy of the sources and tests under ``.mutation/<group>/`` (the working
tree is never touched) with ``PYTHONPATH`` pointing at the copy and no bytecode written (a
stale ``.pyc`` of a mutant could outlive it). One worker: the machine's cores are shared.

Operators: every cosmic-ray core operator but these, each for its stated reason:

* binary operators replaced by ``//``, ``%``, ``**``, shifts or bitwise operators: a float
  formula so mutated fails as soon as any ``+ - * /`` swap of the same site does, and they
  would triple the run; replacements *of* those operators (the generator's hash) are kept;
* comparisons replaced by ``is`` / ``is not``: on numbers these are never a plausible slip;
* removing a decorator: with the JIT disabled ``@njit`` is the identity, so the mutant is the
  same program (equivalent by construction).

Mutants inside code that only asks the memory system for data ahead of need (prefetches and
their distances; see ``PERFORMANCE_ONLY``) are skipped: they change when data arrive, never a
result, so every one of them is equivalent.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"

PYTEST = "python -m pytest -x -q -p no:cacheprovider -W ignore"

# The fastest tests that still reach every rule (pure Python runs far slower than compiled),
# in stages: the rules against hand-worked numbers (one file: they kill most mutants in a few
# seconds), the other unit tests, and only for a mutant that survives them, the engine against
# its NumPy twin.
TWIN = "tests/test_year_kernel.py::test_engine_matches_naive_year_by_year"
CLOSED_FORMS = ["tests/test_rules_closed_forms.py"]
UNIT_RULES = [
    "tests/genesis/test_genesis_worlds.py",
    "tests/test_engine_events.py",
    "tests/test_events.py::test_schedule_set_and_scale_in_order",
    "tests/test_events.py::test_group_selectors",
    "tests/test_events.py::test_shepherds_reset_policy_act_on_the_group_only",
    "tests/test_collective.py::test_rewiring_matches_naive_and_moves_toward_the_pure",
    "tests/test_collective.py::test_judge_rules_on_a_hand_built_population",
    "tests/test_collective.py::test_judge_frozen_for_the_generation_and_sets_holiness",
    "tests/test_collective.py::test_shepherds_only_in_the_messiah_era",
    "tests/test_collective.py::test_cumulative_cleansing_is_numpys_cumsum",
    "tests/test_collective.py::test_warm_network_refuses_strided_arrays",
    "tests/test_year_kernel.py::test_flat_and_per_soul_spark_loops_agree_bit_for_bit",
    "tests/test_year_kernel.py::test_unity_zero_never_corrects",
]
TINY_TWIN = [f"{TWIN}[dim-light-150-souls]"]
TWIN_RULES = [
    f"{TWIN}[dim-light]",
    f"{TWIN}[dim-light-no-worlds]",
    f"{TWIN}[dim-light-shepherds-by-events]",
    f"{TWIN}[defaults]",
    f"{TWIN}[random-graph]",
    f"{TWIN}[no-network]",
    "tests/test_year_kernel.py::test_end_of_correction_when_every_spark_is_complete",
]
# What a survivor of the fast selection meets again in ``recheck``: every test of these files
# that runs in pure Python in reasonable time.
FAST_RULES = CLOSED_FORMS + UNIT_RULES + TINY_TWIN
WIDE_RULES = FAST_RULES + TWIN_RULES + [
    f"{TWIN}[fast-light]",
    "tests/test_events.py",
    "tests/test_revision2.py",
    "tests/test_worlds_in_engine.py::test_conductance_follows_the_worlds_under_dim_light",
    "tests/test_collective.py::test_labels_count_every_soul",
    "tests/test_collective.py::test_no_shocks_attachment_changes_nothing_and_shock_loss_formula",
    "tests/test_collective.py::test_warm_network_any_k_and_the_unrolled_k8_agree",
    "tests/test_collective.py::test_warm_effort_never_negative",
    "tests/test_collective.py::test_warm_network_block_sums_are_the_plain_sums_in_soul_order",
]

NETWORK_FAST = [f"tests/test_collective.py::{t}" for t in (
    "test_rewiring_matches_naive_and_moves_toward_the_pure", "test_warm_network_refuses_strided_arrays",
    "test_cumulative_cleansing_is_numpys_cumsum", "test_warm_effort_never_negative",
    "test_warm_network_block_sums_are_the_plain_sums_in_soul_order", "test_warm_network_any_k_and_the_unrolled_k8_agree",
    "test_graphs", "test_graphs_match_naive", "test_warm_network_refuses_block_sums_of_another_shape",
    "test_guide_table_keeps_its_contract_and_draws_below_a_bucket_bound", "test_rewiring_matches_naive_at_its_edges",
    "test_no_rewiring_without_cleansing_or_without_neighbours", "test_warm_network_on_small_graphs",
    "test_a_graph_needs_more_souls_than_neighbours")]
# the rewiring's own tests beyond the network's: the cumulative as runs of ones
REWIRING_FAST = NETWORK_FAST + [f"tests/test_collective.py::{t}" for t in (
    "test_sparse_cumulative_gives_the_sums_and_draws_of_the_dense_one",
    "test_sparse_cumulative_rounds_where_the_dense_one_does", "test_sparse_cumulative_only_for_few_other_souls",
    "test_rewiring_with_cleansing_nearly_all_one_matches_naive")]
# slow in pure Python: met by a survivor of the rest on ``recheck``
NETWORK_SLOW = [f"tests/test_collective.py::{t}" for t in (
    "test_guide_table_inverts_the_cumulative_like_searchsorted", "test_friedkin_johnsen_steady_state")]


def _rules_part(*files: str, first: list[str] = (), slow: list[str] = ()) -> dict:
    """A group over some of rules-core's files (under ``src/tikkun/``), in that order: the tests
    ``first`` (the files' own), then rules-core's stages; ``slow`` only on ``recheck``."""
    first = list(first)
    return {"modules": [f"src/tikkun/{f}" for f in files], "fast": first + FAST_RULES,
            "stages": ([first] if first else []) + [CLOSED_FORMS, UNIT_RULES, TINY_TWIN],
            "order": list(files), "wide": WIDE_RULES + list(slow)}


# the scenario's own tests, docs/model.md's check (generated from the schema and committed, it
# pins every key's default and range) and the schedule's: a fraction of a second each
SCENARIO_FAST = ["tests/test_properties.py", "tests/test_scenario.py", "--deselect",
                 "tests/test_scenario.py::test_every_preset_runs", "tests/test_events.py::test_schedule_set_and_scale_in_order",
                 "tests/test_explain.py", "--deselect", "tests/test_explain.py::test_command_line"]


def _scenario_part(*modules: str) -> dict:
    """A group over the scenario's files: its fast tests, then, for what they leave, the presets'
    runs and the command line of ``tikkun explain``."""
    return {"modules": list(modules), "fast": SCENARIO_FAST,
            "stages": [SCENARIO_FAST, ["tests/test_scenario.py::test_every_preset_runs",
                                       "tests/test_explain.py::test_command_line"]],
            "wide": ["tests/test_scenario.py", "tests/test_properties.py", "tests/test_events.py",
                     "tests/test_revision2.py", "tests/test_explain.py"]}


GROUPS = {
    "rules-core": {
        "modules": ["src/tikkun/rules", "src/tikkun/engine/core.py"],
        "fast": FAST_RULES,
        "stages": [CLOSED_FORMS, UNIT_RULES, TINY_TWIN],
        # the small rules first, then the engine, the events, and the network's and rewiring's long kernels
        "order": ["rules/light.py", "rules/practice.py", "rules/inclusion.py", "rules/aim.py",
                  "rules/illumination.py", "rules/stages.py", "rules/shepherds.py", "rules/impurity.py",
                  "rules/worlds.py", "rules/cleansing.py", "engine/core.py", "rules/generations.py",
                  "rules/events.py", "rules/good_and_pure.py", "rules/network.py"],
        "wide": WIDE_RULES,
    },
    # the files rules-core's recorded run did not reach, in groups that each cover what one
    # recorded run covers (docs/testing.md): the engine and the generations; the sparks'
    # cleansing (rules-core stopped inside it) and the events; the rewiring; the network
    "rules-rest": _rules_part("engine/core.py", "rules/generations.py"),
    "sparks-events": _rules_part("rules/cleansing.py", "rules/events.py"),
    # the network's own tests first (a second or a few each in pure Python)
    "rewiring": _rules_part("rules/good_and_pure.py", first=REWIRING_FAST, slow=NETWORK_SLOW),
    "network": _rules_part("rules/network.py", first=NETWORK_FAST, slow=NETWORK_SLOW),
    "scenario": _scenario_part("src/tikkun/scenario"),
    # loading.py again, whole, after a change (its rows replace scenario's for that file)
    "scenario-loading": _scenario_part("src/tikkun/scenario/loading.py"),
    "outputs": {
        "modules": ["src/tikkun/outputs"],
        "compiled": True,  # the outputs hold no kernel, and the kernels' cache does not depend on them
        "fast": ["tests/test_run_folder.py", "tests/test_labels_and_outputs.py", "tests/test_resume.py"],
        "wide": ["tests/test_run_folder.py", "tests/test_labels_and_outputs.py", "tests/test_resume.py",
                 "tests/test_revision2.py"],
    },
}

EXCLUDED_OPERATORS = [
    r"core/ReplaceBinaryOperator_.*_(FloorDiv|Mod|Pow|RShift|LShift|BitOr|BitAnd|BitXor)$",
    r"core/ReplaceComparisonOperator_.*_(Is|IsNot)$",
    r"core/RemoveDecorator",
]

# (file, function or module-level name): code that only asks for memory ahead of need.
PERFORMANCE_ONLY = {
    ("src/tikkun/rules/network.py", "_ask_ahead"),
    ("src/tikkun/rules/network.py", "PREFETCH_ROWS"),
    ("src/tikkun/rules/network.py", "PREFETCH_GATHERS"),
    ("src/tikkun/rules/good_and_pure.py", "PREFETCH_AHEAD"),
}
# lines of _rewire that only prefetch: recognised by their text
PREFETCH_LINE = re.compile(r"^\s*(prefetch\(|later = souls\[|m_later = |x = rng\.uniform_at\(key_pick, later)")


def _env(copy: Path) -> dict:
    env = dict(os.environ)
    env.update(NUMBA_DISABLE_JIT="1", NUMBA_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(copy / "src"), PYTHONHASHSEED="0")
    if GROUPS.get(copy.name, {}).get("compiled"):
        # a group that mutates no kernel's source runs its tests compiled: the kernels are built
        # once in the copy and loaded from its cache by every mutant after
        del env["NUMBA_DISABLE_JIT"]
    return env


def _copy_tree(copy: Path) -> None:
    """The sources, tests and docs as they are now, into ``copy`` (each replaced): some tests
    compare the docs with what the code generates (docs/model.md)."""
    copy.mkdir(parents=True, exist_ok=True)
    for name in ("src", "tests", "docs"):
        if (copy / name).exists():
            shutil.rmtree(copy / name)
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")


def _config(group: str, copy: Path, tests: list[str]) -> Path:
    g = GROUPS[group]
    modules = ", ".join(json.dumps(m) for m in g["modules"])
    excluded = ", ".join(json.dumps(e) for e in EXCLUDED_OPERATORS)
    text = f"""[cosmic-ray]
module-path = [{modules}]
timeout = 300.0
excluded-modules = []
test-command = {json.dumps(PYTEST + " " + " ".join(tests))}

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = [{excluded}]
"""
    path = copy / "cosmic-ray.toml"
    path.write_text(text)
    return path


def _enclosing(path: Path) -> list[tuple[int, int, str, bool]]:
    """(first line, last line, name, compiled) of every function and module-level assignment."""
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            jit = any("njit" in ast.unparse(d) or "jit(" in ast.unparse(d) for d in node.decorator_list)
            out.append((node.lineno, node.end_lineno, node.name, jit))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    out.append((node.lineno, node.end_lineno, t.id, False))
    return out


def _where(copy: Path, module: str, row: int, cache: dict) -> tuple[str, bool]:
    if module not in cache:
        cache[module] = _enclosing(copy / module)
    inside = [e for e in cache[module] if e[0] <= row <= e[1]]
    if not inside:
        return "<module>", False
    first, last, name, jit = min(inside, key=lambda e: e[1] - e[0])
    # a function nested in a compiled one, or inlined into one, is compiled with it
    return name, jit or any(e[3] for e in inside)


def _annotations(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of every annotation of a module that postpones them (``from
    __future__ import annotations``): never evaluated, so a mutant in one is equivalent."""
    tree = ast.parse(path.read_text())
    postponed = any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
                    any(a.name == "annotations" for a in n.names) for n in tree.body)
    if not postponed:
        return []
    spans = []
    for node in ast.walk(tree):
        found = []
        if isinstance(node, ast.arg) and node.annotation is not None:
            found.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        for a in found:
            spans.append(((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)))
    return spans


def _decorators(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of every decorator expression: ``@njit(cache=True,
    inline="always")``'s arguments say how to compile, never what to compute, and with the JIT
    disabled the decorator is the identity."""
    spans = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                spans.append(((d.lineno, d.col_offset), (d.end_lineno, d.end_col_offset)))
    return spans


def _skip_performance_only(copy: Path, session: Path) -> int:
    """Mark as skipped the mutants of :data:`PERFORMANCE_ONLY` code and of postponed
    annotations (run in the copy's env)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    lines_cache: dict[str, list[str]] = {}
    cache: dict = {}
    annotations: dict[str, list] = {}
    decorators: dict[str, list] = {}
    skipped = 0
    with use_db(session, WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            m = item.mutations[0]
            module, row = str(m.module_path), m.start_pos[0]
            name, _ = _where(copy, module, row, cache)
            if module not in lines_cache:
                lines_cache[module] = (copy / module).read_text().splitlines()
            line = lines_cache[module][row - 1]
            prefetch_line = module.endswith("good_and_pure.py") and name == "_rewire" and PREFETCH_LINE.match(line)
            if (module, name) in PERFORMANCE_ONLY or prefetch_line:
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED,
                                                      output="performance only (scripts/mutation.py)"))
                skipped += 1
                continue
            if module not in annotations:
                annotations[module] = _annotations(copy / module)
                decorators[module] = _decorators(copy / module)
            at = (m.start_pos[0], m.start_pos[1])
            if any(a <= at < b for a, b in annotations[module]):
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED,
                                                      output="in an annotation, never evaluated (scripts/mutation.py)"))
                skipped += 1
            elif any(a <= at < b for a, b in decorators[module]):
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED,
                                                      output="in a decorator's arguments: how to compile (scripts/mutation.py)"))
                skipped += 1
    return skipped


def _run(cmd: list[str], copy: Path, timeout: float | None = None, **kw) -> subprocess.CompletedProcess:
    """``cmd`` in the copy, with :func:`_env`; on ``timeout`` the whole process group is killed
    (cosmic-ray's test command runs in a child of its own, which would outlive it)."""
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=copy, env=_env(copy), start_new_session=timeout is not None,
                            stdout=kw.get("stdout", subprocess.PIPE if kw.get("capture_output") else None),
                            stderr=kw.get("stderr", subprocess.PIPE if kw.get("capture_output") else None),
                            text=kw.get("text", False))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        raise
    if kw.get("check") and proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd, out, err)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _sanity(copy: Path) -> None:
    """The copy is what runs, in pure Python: a rule's kernel is a plain function from its file."""
    code = ("import types, tikkun.rules.cleansing as c, tikkun.engine.year_kernel as yk; "
            "assert isinstance(c.grow, types.FunctionType), type(c.grow); "
            "assert isinstance(yk.year_pass, types.FunctionType), type(yk.year_pass); "
            f"assert c.__file__.startswith({str(copy)!r}), c.__file__; print('pure Python, from', c.__file__)")
    _run([sys.executable, "-c", code], copy, check=True)


def cmd_run(group: str, fresh: bool) -> None:
    copy = WORK / group
    session = copy / "session.sqlite"
    if fresh and copy.exists():
        shutil.rmtree(copy)
    if not session.exists():
        _copy_tree(copy)
        cfg = _config(group, copy, GROUPS[group]["fast"])
        if not GROUPS[group].get("compiled"):
            _sanity(copy)
        _run(["cosmic-ray", "init", str(cfg), str(session)], copy, check=True)
        _run(["cr-filter-operators", str(session), str(cfg)], copy, check=True)
        os.chdir(copy)
        print(f"skipped as performance only or in annotations: {_skip_performance_only(copy, session)}")
        _run(["cosmic-ray", "baseline", str(cfg)], copy, check=True)
    else:
        os.chdir(copy)
        (copy / "STOP").unlink(missing_ok=True)
        print(f"skipped as performance only, in annotations or decorators: {_skip_performance_only(copy, session)}")
    # cosmic-ray's own ``exec`` starts Python, NumPy, SciPy, Numba and pytest afresh for every
    # mutant (seconds each). The worker below imports them
    # once and forks for each mutant, so that only tikkun and the tests are imported anew, from
    # the mutated file; it records in cosmic-ray's session as ``exec`` would.
    _run([sys.executable, str(Path(__file__).resolve()), "_worker", group], copy, check=True)
    cmd_report(group)


def _pytest_in_child(tests: list[str], log: Path, timeout: float) -> tuple[str, str]:
    """Run pytest on ``tests`` in a forked child; ``(outcome, output tail)`` with outcome
    passed, failed, error (collection or usage: the mutant breaks an import) or timeout."""
    import signal
    import time

    pid = os.fork()
    if pid == 0:  # the child: tikkun is imported here, from the mutated sources
        code = 3
        try:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            import pytest

            code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-W", "ignore", *tests]))
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", ""
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-1500:]
    code = os.waitstatus_to_exitcode(status)
    return {0: "passed", 1: "failed"}.get(code, "error"), tail


def cmd_worker(group: str) -> None:
    """Every pending mutant of the group's session, stage by stage (run in the copy, with
    :func:`_env`; started by ``run``)."""
    # what every test imports, once, before any fork (tikkun itself is left to the children)
    import numba  # noqa: F401
    import numpy  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import pydantic  # noqa: F401
    import pytest  # noqa: F401
    import scipy.sparse  # noqa: F401
    import scipy.special  # noqa: F401
    import scipy.stats  # noqa: F401
    from cosmic_ray import plugins
    from cosmic_ray.mutating import _make_diff, use_mutation
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    g = GROUPS[group]
    stages = g.get("stages", [g["fast"]])
    order = g.get("order", [])
    copy = Path.cwd()
    log = copy / "child.log"

    def rank(item):
        path = str(item.mutations[0].module_path)
        return next((i for i, o in enumerate(order) if path.endswith(o)), len(order))

    with use_db(copy / "session.sqlite", WorkDB.Mode.open) as db:
        pending = sorted(db.pending_work_items, key=rank)
        print(f"{len(pending)} mutants to test", flush=True)
        done = {r[0] for r in db.results}
        for n, item in enumerate(pending):
            if (copy / "STOP").exists():  # a clean stop between two mutants: `touch .mutation/<group>/STOP`
                print("stopped", flush=True)
                break
            if item.job_id in done:
                continue
            m = item.mutations[0]
            operator = plugins.get_operator(m.operator_name)()
            with use_mutation(m.module_path, operator, m.occurrence) as (before, after):
                if after is None:
                    db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.NO_TEST))
                    continue
                outcome, tail = "passed", ""
                for tests in stages:
                    outcome, tail = _pytest_in_child(tests, log, timeout=300.0)
                    if outcome != "passed":
                        break
            test = {"passed": TestOutcome.SURVIVED, "failed": TestOutcome.KILLED, "timeout": TestOutcome.KILLED,
                    "error": TestOutcome.INCOMPETENT}[outcome]
            diff = "\n".join(_make_diff(before, after, m.module_path))
            db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=test,
                                                  output=f"{outcome}\n{tail}", diff=diff))
            print(f"[{n + 1}/{len(pending)}] {m.module_path}:{m.start_pos[0]} {m.operator_name}: {test.value}",
                  flush=True)


def _results(copy: Path) -> list[dict]:
    con = sqlite3.connect(copy / "session.sqlite")
    rows = con.execute(
        "select s.job_id, s.module_path, s.operator_name, s.occurrence, s.start_pos_row, s.start_pos_col, "
        "r.worker_outcome, r.test_outcome, r.diff, r.output from mutation_specs s "
        "left join work_results r on r.job_id = s.job_id").fetchall()
    con.close()
    keys = ("job", "module", "operator", "occurrence", "row", "col", "worker", "test", "diff", "output")
    return [dict(zip(keys, r)) for r in rows]


def cmd_report(group: str) -> dict:
    copy = WORK / group
    results = _results(copy)
    cache: dict = {}
    spans: dict[str, list] = {}
    reasons: dict[str, int] = {}
    per_file: dict[str, dict[str, int]] = {}
    jit = {"killed": 0, "all": 0}
    survivors = []
    for r in results:
        name, compiled = _where(copy, r["module"], r["row"], cache)
        r["function"] = name
        r["worker"] = r["worker"].lower() if r["worker"] else None
        r["test"] = r["test"].lower() if r["test"] else None
        if r["module"] not in spans:
            spans[r["module"]] = _annotations(copy / r["module"]) + _decorators(copy / r["module"])
        in_span = any(a <= (r["row"], r["col"]) < b for a, b in spans[r["module"]])
        if r["worker"] is None:
            state = "pending"
        elif in_span:
            state = "skipped"  # tested before the filter knew such spans: equivalent all the same
        elif r["worker"] == "skipped":
            state = "skipped"
        elif r["worker"] != "normal":
            state = r["worker"]  # exception, abnormal: the worker itself failed
        else:
            state = {"killed": "killed", "survived": "survived", "incompetent": "incompetent"}.get(r["test"], r["test"])
        if state == "skipped":
            text = (r["output"] or "") if not in_span else "in an annotation or a decorator"
            reason = ("operator not used" if text.startswith("Filtered operator") else
                      "performance only" if text.startswith("performance only") else
                      "in an annotation or a decorator")
            reasons[reason] = reasons.get(reason, 0) + 1
        counts = per_file.setdefault(r["module"], {})
        counts[state] = counts.get(state, 0) + 1
        if compiled and state in ("killed", "survived", "incompetent"):
            jit["all"] += 1
            jit["killed"] += state in ("killed", "incompetent")
        if state == "survived":
            survivors.append(r)
    total = {k: sum(c.get(k, 0) for c in per_file.values()) for k in
             ("killed", "incompetent", "survived", "skipped", "pending")}
    done = total["killed"] + total["incompetent"] + total["survived"]
    print(f"\n{group}: {len(results)} mutants; tested {done}, pending {total['pending']}, skipped {total['skipped']}")
    if done:
        score = (total["killed"] + total["incompetent"]) / done
        print(f"score (killed or incompetent / tested): {score:.1%}; survived {total['survived']}")
    print("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    print(f"inside @njit functions: {jit['killed']} of {jit['all']} tested mutants killed")
    for module, counts in sorted(per_file.items()):
        print(f"  {module}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    out = copy / "survivors.txt"
    with out.open("w") as fh:
        for r in survivors:
            fh.write(f"== {r['module']}:{r['row']} in {r['function']} {r['operator']} #{r['occurrence']} "
                     f"(job {r['job']})\n{r['diff']}\n")
    print(f"survivors with their diffs: {out}")
    summary = {"group": group, "total": len(results), **total, "skipped_because": reasons, "jit": jit,
               "per_file": per_file}
    (copy / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def cmd_recheck(group: str, jobs: list[str] | None = None, wide: bool = True, tests: list[str] | None = None) -> None:
    """Every survivor (or those of ``jobs``) again, against the wider selection (or the fast
    one, or ``tests``: the new tests a survivor called for) and the tests as they are now."""
    copy = WORK / group
    _copy_tree(copy)  # the tests as they are now (and the sources, unmutated)
    command = PYTEST + " " + " ".join(tests or GROUPS[group]["wide" if wide else "fast"])
    rechecked = {}
    for r in _results(copy):
        if (r["worker"] or "").lower() != "normal" or (r["test"] or "").lower() != "survived":
            continue
        if jobs and r["job"] not in jobs:
            continue
        try:
            proc = _run(["cosmic-ray", "mutate-and-test", r["module"], r["operator"], str(r["occurrence"]), command],
                        copy, capture_output=True, text=True, timeout=300)
            outcome = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
            test = str(outcome.get("test_outcome") or outcome.get("worker_outcome") or "unknown").lower()
        except subprocess.TimeoutExpired:  # a mutant that never ends (a loop that never stops) is killed, as in run
            test = "killed"
            _copy_tree(copy)  # the killed process left its mutant on disk
        rechecked[r["job"]] = {"module": r["module"], "row": r["row"], "operator": r["operator"],
                               "occurrence": r["occurrence"], "outcome": test}
        print(f"  {r['module']}:{r['row']} {r['operator']} #{r['occurrence']}: {test}", flush=True)
        if test == "killed":  # record it in the session, so that report counts it
            con = sqlite3.connect(copy / "session.sqlite")
            con.execute("update work_results set test_outcome = 'KILLED', output = 'killed on recheck' "
                        "where job_id = ?", (r["job"],))
            con.commit()
            con.close()
    (copy / "recheck.json").write_text(json.dumps(rechecked, indent=2) + "\n")
    cmd_report(group)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("run", "report", "recheck", "_worker"))
    parser.add_argument("group", choices=sorted(GROUPS))
    parser.add_argument("--fresh", action="store_true", help="start the group's session again from scratch")
    parser.add_argument("--jobs", default="", help="recheck: only these job ids (comma-separated)")
    parser.add_argument("--fast", action="store_true", help="recheck: against the fast selection")
    parser.add_argument("--tests", default="", help="recheck: against these tests only (space-separated node ids)")
    args = parser.parse_args()
    if args.command == "run":
        cmd_run(args.group, args.fresh)
    elif args.command == "_worker":
        cmd_worker(args.group)
    elif args.command == "report":
        cmd_report(args.group)
    else:
        cmd_recheck(args.group, [j for j in args.jobs.split(",") if j], wide=not args.fast, tests=args.tests.split())


if __name__ == "__main__":
    main()
