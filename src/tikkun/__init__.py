"""tikkun: a simulation of the common soul, its breaking into souls and sparks, and its correction.

The domain model is MODEL.md; every rule cites its source text. The core never imports the
dashboard or plotting.
"""

__version__ = "0.2.0"

import os as _os

if "NUMBA_THREADING_LAYER" not in _os.environ and "NUMBA_THREADING_LAYER_PRIORITY" not in _os.environ:
    # Measured at 600,000 souls on 2 cores (history preset, genesis and the first 2,000 years;
    # README, Performance): Numba's OpenMP layer with idle threads that sleep rather than spin
    # took 14.4 s on a quiet machine and 25.8 s beside one busy process; the workqueue layer
    # 17.1 and 27.9 s; OpenMP's default, spinning, 13.3 and 37.8 s. The whole history: 28.7-30.0
    # against 36.6-37.0 s with the workqueue. So OpenMP first where this machine has it, with
    # OMP_WAIT_POLICY=passive unless already set (it is read when OpenMP starts, at the first
    # parallel loop); NUMBA_THREADING_LAYER or NUMBA_THREADING_LAYER_PRIORITY choose otherwise.
    # Results do not depend on the layer.
    _os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import numba as _numba

    _numba.config.THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]

from .api import RunResult, resume, run  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402

__all__ = ["RunResult", "Scenario", "ScenarioError", "load_scenario", "resume", "run", "__version__"]
