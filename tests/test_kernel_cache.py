"""The kernels' cache is renewed when a source they can be built from changes, and only then, and
is kept apart for the portable switch (tikkun.native.kernel_cache).

Numba would otherwise load a cached kernel while its own file is unchanged, even after a rule
it inlines from another module has changed."""

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tikkun
from tikkun.native import kernel_cache

# settings under which Numba places or skips caches its own way (then tikkun's stamp is not used)
_NUMBA_OWN_WAY = ("NUMBA_CACHE_DIR", "NUMBA_CACHE_LOCATOR_CLASSES", "NUMBA_DISABLE_JIT")
_ROOT = Path(tikkun.__file__).parent


def test_the_sources_hash_follows_every_edit(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    first = kernel_cache.sources_hash(tmp_path)
    (tmp_path / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")  # not a source
    (tmp_path / "notes.txt").write_text("not a source")
    assert kernel_cache.sources_hash(tmp_path) == first
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    assert kernel_cache.sources_hash(tmp_path) != first
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    assert kernel_cache.sources_hash(tmp_path) == first
    (tmp_path / "sub" / "b.py").rename(tmp_path / "sub" / "c.py")
    assert kernel_cache.sources_hash(tmp_path) != first


def test_the_stamp_follows_the_kernel_sources_only(tmp_path):
    """On a copy of tikkun's own sources: editing the command line, the API, the outputs or a
    new package beside them leaves the stamp as it is; editing, adding or removing a rule, a
    file of the engine, the state, the generator or the scenario changes it."""
    root = tmp_path / "tikkun"
    shutil.copytree(_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    first = kernel_cache.stamp(root, kernel_cache.KERNEL_SOURCES)
    outside = ["cli.py", "api.py", "__init__.py", "__main__.py", "outputs/atomic.py", "records/__init__.py"]
    for rel in outside:
        (root / rel).write_text((root / rel).read_text() + "\n# edited\n")
    (root / "report").mkdir(exist_ok=True)
    (root / "report" / "figures.py").write_text("x = 1\n")
    (root / "explain.py").write_text("y = 2\n")
    assert kernel_cache.stamp(root, kernel_cache.KERNEL_SOURCES) == first
    inside = ["rules/light.py", "engine/year_kernel.py", "native/gather.py", "state.py", "random.py",
              "scenario/schema.py", "genesis/solver.py"]
    for rel in inside:
        before = (root / rel).read_text()
        (root / rel).write_text(before + "\n# edited\n")
        assert kernel_cache.stamp(root, kernel_cache.KERNEL_SOURCES) != first, rel
        (root / rel).write_text(before)
    assert kernel_cache.stamp(root, kernel_cache.KERNEL_SOURCES) == first
    (root / "rules" / "new_rule.py").write_text("z = 3\n")
    assert kernel_cache.stamp(root, kernel_cache.KERNEL_SOURCES) != first
    (root / "rules" / "new_rule.py").unlink()
    (root / "rules" / "light.py").unlink()
    assert kernel_cache.stamp(root, kernel_cache.KERNEL_SOURCES) != first


def test_the_stamp_tells_the_portable_switch():
    native = kernel_cache.stamp(_ROOT, kernel_cache.KERNEL_SOURCES, portable=False)
    portable = kernel_cache.stamp(_ROOT, kernel_cache.KERNEL_SOURCES, portable=True)
    assert native != portable


def _module_of(path: Path) -> str:
    rel = path.relative_to(_ROOT.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path, modules: dict) -> set:
    """The tikkun modules whose names ``path`` imports explicitly: for ``from B import n``, the
    module ``B.n`` if it is one, else ``B`` (a name defined in B)."""
    me = _module_of(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for a in node.names:
                if f"{base}.{a.name}" in modules:
                    out.add(f"{base}.{a.name}")
                elif base in modules:
                    out.add(base)
    return out


def test_every_module_a_kernel_can_be_built_from_is_stamped():
    """The narrowed stamp is safe only if no kernel inlines a function, or freezes a constant,
    from a module outside it. Numba resolves a kernel's names in its own module, so: every
    module that uses Numba or llvmlite, and every tikkun module such a module imports by name,
    again and again, must lie among :data:`KERNEL_SOURCES`."""
    files = [p for p in _ROOT.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {_module_of(p): p for p in files}
    compiled = set()
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            roots = ([a.name.split(".")[0] for a in node.names] if isinstance(node, ast.Import) else
                     [(node.module or "").split(".")[0]] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if {"numba", "llvmlite"} & set(roots):
                compiled.add(name)
    assert {"tikkun.engine.year_kernel", "tikkun.rules.network", "tikkun.native.gather"} <= compiled
    compiled.discard("tikkun")  # the package's __init__ only chooses Numba's threading layer
    reach, todo = set(), list(compiled)
    while todo:
        name = todo.pop()
        if name in reach:
            continue
        reach.add(name)
        todo.extend(_imports(modules[name], modules) - reach)
    stamped = {_module_of(p) for p in kernel_cache._sources(_ROOT, kernel_cache.KERNEL_SOURCES)}
    assert reach - {"tikkun"} <= stamped, sorted(reach - stamped)
    assert not {"tikkun.cli", "tikkun.api", "tikkun.outputs.run_folder", "tikkun.records"} & stamped


@pytest.mark.skipif(any(os.environ.get(k) for k in _NUMBA_OWN_WAY[1:]),
                    reason="Numba is told to place (or not to make) its caches its own way")
def test_tikkun_kernels_carry_the_stamp_of_its_kernel_sources():
    from tikkun.engine import year_kernel as yk

    locator = yk.year_pass._cache._impl.locator
    assert type(locator).__name__.startswith("FolderStamped")
    assert locator.get_source_stamp()[1] == kernel_cache.stamp(_ROOT, kernel_cache.KERNEL_SOURCES)


_RUN = """
import sys
sys.path.insert(0, {parent!r})
from tikkun.native import kernel_cache
assert kernel_cache.register({root!r}, {include!r})
from pkg.outer import twice_inner
print(twice_inner(5), twice_inner.stats.cache_hits[twice_inner.signatures[0]])
"""


def _package(tmp_path):
    """A package whose cached kernel (outer) inlines a function of another module (inner)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "notes.py").write_text("NOTE = 'no kernel is built from this file'\n")
    (pkg / "inner.py").write_text(textwrap.dedent("""
        from numba import njit

        @njit(cache=True, inline="always")
        def inner(x):
            return x + 1
        """))
    (pkg / "outer.py").write_text(textwrap.dedent("""
        from numba import njit

        from .inner import inner

        @njit(cache=True)
        def twice_inner(x):
            return 2 * inner(x)
        """))
    return pkg


def _env(**extra):
    # Numba's own cache placement, and no .pyc beside the sources (an edit within the second of
    # a .pyc's writing, keeping the file's size, would otherwise bring back the old module)
    env = {k: v for k, v in os.environ.items() if k not in _NUMBA_OWN_WAY and k != "TIKKUN_PORTABLE"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def _run(script, env):
    """(value, whether the kernel came from the cache) of a fresh process."""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    value, hits = out.stdout.strip().splitlines()[-1].split()
    return int(value), int(hits) > 0


@pytest.mark.slow
def test_an_edited_inlined_function_reaches_the_cached_kernel_that_inlines_it(tmp_path):
    """A cached kernel inlines a function of another module; that module is edited; a new
    process must run the edited function (Numba alone would load the cached kernel, whose own
    file did not change)."""
    pkg = _package(tmp_path)
    script = _RUN.format(parent=str(tmp_path), root=str(pkg), include=None)
    env = _env()
    assert _run(script, env) == (12, False)
    assert list((pkg / "__pycache__").glob("outer.twice_inner*.nbi"))  # the kernel was cached
    assert _run(script, env) == (12, True)  # and loaded again
    (pkg / "inner.py").write_text((pkg / "inner.py").read_text().replace("x + 1", "x + 2"))
    assert _run(script, env) == (14, False)


@pytest.mark.slow
def test_an_edit_outside_the_kernel_sources_keeps_the_cached_kernel(tmp_path):
    """Registered with the two modules kernels are built from: an edit of a third file leaves
    the cached kernel in use; an edit of the inlined module still reaches it."""
    pkg = _package(tmp_path)
    script = _RUN.format(parent=str(tmp_path), root=str(pkg), include=("inner.py", "outer.py"))
    env = _env()
    assert _run(script, env) == (12, False)
    (pkg / "notes.py").write_text("NOTE = 'edited'\n")
    assert _run(script, env) == (12, True)
    (pkg / "inner.py").write_text((pkg / "inner.py").read_text().replace("x + 1", "x + 3"))
    assert _run(script, env) == (16, False)


_FLAGS = """
import sys
sys.path.insert(0, {parent!r})
from tikkun.native import PORTABLE, gather, kernel_cache
assert kernel_cache.register({root!r})
from pkg.flags import hardware
print(hardware(), int(gather.HARDWARE), int(PORTABLE), hardware.stats.cache_hits[hardware.signatures[0]])
"""


@pytest.mark.slow
def test_a_kernel_compiled_with_the_native_paths_is_not_served_to_a_portable_process(tmp_path):
    """A cached kernel freezes ``gather.HARDWARE`` when it compiles. A process with
    ``TIKKUN_PORTABLE=1`` must compile its own (its flag is off, whatever the processor), and
    must not replace the other's: both are then loaded from their caches."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "flags.py").write_text(textwrap.dedent("""
        from numba import njit

        from tikkun.native import gather

        @njit(cache=True)
        def hardware():
            return 1 if gather.HARDWARE else 0
        """))
    script = _FLAGS.format(parent=str(tmp_path), root=str(pkg))

    def run(**extra):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                             env=_env(**extra))
        return tuple(int(v) for v in out.stdout.split())

    value, flag, portable, hits = run()
    assert (value, portable, hits) == (flag, 0, 0)
    assert run(TIKKUN_PORTABLE="1") == (0, 0, 1, 0)  # compiled anew: the flag is off
    assert list((pkg / "__pycache__" / "portable").glob("flags.hardware*.nbi"))
    assert run() == (flag, flag, 0, 1)  # the native kernel is still cached
    assert run(TIKKUN_PORTABLE="1") == (0, 0, 1, 1)  # and so is the portable one
    assert run(TIKKUN_PORTABLE="0")[2:] == (0, 1)
