"""tikkun: a simulation of the common soul, its breaking into souls and sparks, and its correction.

The domain model is MODEL.md; every rule cites its source text. The core never imports the
dashboard or plotting.
"""

__version__ = "0.3.0"

import os as _os


def _load_tbb() -> None:
    """Make pip's TBB visible to Numba. The ``tbb`` wheel puts ``libtbb.so.12`` in the
    environment's ``lib`` folder, where the dynamic loader does not look (conda's layout it
    finds), so Numba's TBB layer would fail to load; loaded here first, by its path, it is
    found by name. Nothing happens without the wheel or off Linux."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        from importlib.metadata import PackageNotFoundError, files

        for f in files("tbb") or ():
            if f.name == "libtbb.so.12":
                path = f.locate()
                if _os.path.exists(path):
                    ctypes.CDLL(str(path), mode=_os.RTLD_GLOBAL)
                return
    except (PackageNotFoundError, OSError):
        return


_load_tbb()

# before Numba reads its variables: a value it or tikkun cannot use is set aside here, and every
# run refuses to start with a message naming it (native/environment.py)
from .native import environment as _environment  # noqa: E402

if "NUMBA_THREADING_LAYER" not in _os.environ and "NUMBA_THREADING_LAYER_PRIORITY" not in _os.environ:
    # TBB first (a dependency on Linux x86-64): about as fast as OpenMP with sleeping threads,
    # quiet or beside a busy process, faster than the workqueue, and safe in a process forked
    # after a run (GNU OpenMP is not: Numba stops such a child). Then OpenMP with idle threads
    # sleeping (OMP_WAIT_POLICY=passive unless already set; read when OpenMP starts, at the
    # first parallel loop): spinning threads win alone and lose most beside another process.
    # Then the workqueue. NUMBA_THREADING_LAYER or NUMBA_THREADING_LAYER_PRIORITY choose
    # otherwise. Results do not depend on the layer; the measurements: docs/performance.md.
    _os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import numba as _numba

    _numba.config.THREADING_LAYER_PRIORITY = ["tbb", "omp", "workqueue"]

from .native import kernel_cache as _kernel_cache  # noqa: E402

# before any kernel is decorated: a change to a source kernels are built from renews their cache
_kernel_cache.register(_os.path.dirname(_os.path.abspath(__file__)), _kernel_cache.KERNEL_SOURCES)

from .api import OutputError, RunResult, resume, run  # noqa: E402
from .native.environment import SettingError  # noqa: E402
from .outputs.run_folder import CheckpointError  # noqa: E402
from .records import SaveAt  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402


def __getattr__(name: str):
    # tikkun.sweep (callable: tikkun.sweep(...) runs a sweep) is imported when first asked for,
    # so that importing the engine or the rules never imports the sweeps' modules
    if name == "sweep":
        import importlib

        return importlib.import_module(".sweep", __name__)
    if name == "SweepError":  # what tikkun.sweep(...) raises for bad input, from the same lazy import
        from .sweep.spec import SweepError

        return SweepError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["CheckpointError", "OutputError", "RunResult", "SaveAt", "Scenario", "ScenarioError", "SettingError",
           "SweepError", "load_scenario", "resume", "run", "sweep", "__version__"]
