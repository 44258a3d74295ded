"""tikkun: a simulation of the common soul, its breaking into souls and sparks, and its correction.

The domain model is MODEL.md; every rule cites its source text. The core never imports the
dashboard or plotting.
"""

__version__ = "0.2.0"

import os as _os

if "NUMBA_THREADING_LAYER" not in _os.environ:
    # Measured at 600,000 souls on 2 cores: with one other busy process the OpenMP layer's
    # year is 5-8% slower than the workqueue layer's (15.7-16.1 against 14.8-15.0 ms), on a quiet
    # machine 6-10% faster (6.3-6.8 against 7.1 ms); the workqueue degrades less, so it is the
    # default. NUMBA_THREADING_LAYER chooses another. Results do not depend on it.
    import numba as _numba

    _numba.config.THREADING_LAYER = "workqueue"

from .api import RunResult, resume, run  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402

__all__ = ["RunResult", "Scenario", "ScenarioError", "load_scenario", "resume", "run", "__version__"]
