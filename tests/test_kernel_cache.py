"""The kernels' cache is renewed when any of tikkun's sources changes (tikkun.engine.native.kernel_cache).

Numba would otherwise load a cached kernel while its own file is unchanged, even after a rule
it inlines from another module has changed."""

import os
import subprocess
import sys
import textwrap

import pytest

from tikkun.engine.native import kernel_cache

# settings under which Numba places or skips caches its own way (then tikkun's stamp is not used)
_NUMBA_OWN_WAY = ("NUMBA_CACHE_DIR", "NUMBA_CACHE_LOCATOR_CLASSES", "NUMBA_DISABLE_JIT")


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


@pytest.mark.skipif(any(os.environ.get(k) for k in _NUMBA_OWN_WAY[1:]),
                    reason="Numba is told to place (or not to make) its caches its own way")
def test_tikkun_kernels_carry_the_stamp_of_all_its_sources():
    from pathlib import Path

    import tikkun
    from tikkun.engine import year_kernel as yk

    locator = yk.year_pass._cache._impl.locator
    assert type(locator).__name__.startswith("FolderStamped")
    assert locator.get_source_stamp()[1] == kernel_cache.sources_hash(Path(tikkun.__file__).parent)


_RUN = """
import sys
sys.path.insert(0, {parent!r})
from tikkun.engine.native import kernel_cache
assert kernel_cache.register({root!r})
from pkg.outer import twice_inner
print(twice_inner(5))
"""


def test_an_edited_inlined_function_reaches_the_cached_kernel_that_inlines_it(tmp_path):
    """A cached kernel inlines a function of another module; that module is edited; a new
    process must run the edited function (Numba alone would load the cached kernel, whose own
    file did not change)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
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
    script = _RUN.format(parent=str(tmp_path), root=str(pkg))

    # Numba's own cache placement, and no .pyc beside the sources (an edit within the second of
    # a .pyc's writing, keeping the file's size, would otherwise bring back the old module)
    env = {k: v for k, v in os.environ.items() if k not in _NUMBA_OWN_WAY}
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    def run():
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
        return int(out.stdout.strip().splitlines()[-1])

    assert run() == 12
    assert list((pkg / "__pycache__").glob("outer.twice_inner*.nbi"))  # the kernel was cached
    assert run() == 12  # and loaded again
    (pkg / "inner.py").write_text((pkg / "inner.py").read_text().replace("x + 1", "x + 2"))
    assert run() == 14
