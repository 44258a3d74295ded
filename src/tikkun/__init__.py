"""tikkun: a simulation of the common soul, its breaking into souls and sparks, and its correction.

The domain model is MODEL.md; every rule cites its source text. The core never imports the
dashboard or plotting.
"""

__version__ = "0.2.0"

import os as _os

if "NUMBA_THREADING_LAYER" not in _os.environ:
    # The OpenMP layer's barrier stalls for a whole scheduler slice (~8 ms a year) whenever
    # another process holds a core; the workqueue layer does not. Results do not depend on it.
    import numba as _numba

    _numba.config.THREADING_LAYER = "workqueue"

from .api import RunResult, resume, run  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402

__all__ = ["RunResult", "Scenario", "ScenarioError", "load_scenario", "resume", "run", "__version__"]
