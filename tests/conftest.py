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


@pytest.fixture
def small_scenario():
    return make_scenario()
