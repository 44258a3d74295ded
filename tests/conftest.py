import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def make_scenario(**overrides):
    """A small scenario: 300 souls, 60 years, fast light, so every core rule acts early."""
    from tikkun.scenario import load_scenario

    base = {"souls.count": 300, "light.alpha": 0.5, "run.stop_at_end": False}
    base.update(overrides)
    return load_scenario(preset="quick", overrides=base, years=base.pop("years", 60))


#: Fixtures that make a test slow: a headless browser and the dashboard's server, a Dask
#: cluster of worker processes, a sweep or the experiments run through one.
SLOW_FIXTURES = {"browser", "server", "client", "real_sweep", "fast_runs"}


@pytest.hookimpl(tryfirst=True)  # before pytest's own selection by marker reads the marks
def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` every test that needs one of :data:`SLOW_FIXTURES` (others carry the mark
    themselves): ``python -m pytest -q`` leaves them out, ``-m slow`` runs them, and CI runs both
    (pyproject.toml; docs/testing.md)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def small_scenario():
    return make_scenario()


@pytest.fixture(scope="module")
def client():
    """A local Dask cluster of 2 worker processes, one per test module that asks for it."""
    import os

    import tikkun
    from distributed import Client

    from tikkun.sweep import local_cluster

    # compile the kernels here once (or load them): the workers then read Numba's cache
    tikkun.run(preset="quick", souls=300, years=250)
    # The cluster, not the environment, sets the workers' threads; the nanny sets them through
    # this process's environment as it starts the workers. Put it back as it was at once: a
    # Numba that sees another NUMBA_NUM_THREADS here after launching its threads refuses to run.
    saved = os.environ.pop("NUMBA_NUM_THREADS", None)
    try:
        cluster = local_cluster(2, dashboard_address=":0")  # any free port; the workers start here
    finally:
        if saved is None:
            os.environ.pop("NUMBA_NUM_THREADS", None)
        else:
            os.environ["NUMBA_NUM_THREADS"] = saved
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()
        # a nanny that restarts a killed worker sets the environment again
        if saved is None:
            os.environ.pop("NUMBA_NUM_THREADS", None)
        else:
            os.environ["NUMBA_NUM_THREADS"] = saved
