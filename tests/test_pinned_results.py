"""Regression pins: real results of this version, to the last digit.

These tests pin results; they do not check that the results are right (the twin and the closed
forms do that). Their point is that a change of bits never passes unnoticed: the docs promise
that every change of a result is said. When a change of the model or of its numerics moves a
pinned number on purpose, record it in CHANGELOG.md (the old and the new value, and why), then
update the pin here. Bits are those of the compiled kernels on any thread count; the kernels
run in pure Python (NUMBA_DISABLE_JIT=1) round float32 differently and do not meet the pins.
"""

import pytest

import tikkun

ADVICE = ("this test pins a result of tikkun; if the change that moved it is meant, record it in CHANGELOG.md "
          "(old value, new value, why) and update the pin in tests/test_pinned_results.py")


@pytest.fixture(scope="module")
def quick_2000():
    return tikkun.run(preset="quick", souls=2000)


def test_quick_preset_at_2000_souls(quick_2000):
    """The quick preset (seed 20, 400 years, a shepherd at year 200) at 2,000 souls."""
    m = quick_2000.metrics
    got = (repr(float(m["cleansing_mean"][100])), repr(float(m["weakest_link"][100])),
           repr(float(m["cleansing_mean"][-1])), int(m["complete"][-1]))
    want = ("0.3918724909109296", "0.0008956132805906236", "0.9954354897662997", 1974)
    assert got == want, ADVICE


def test_quick_preset_end_year_with_faster_light():
    """The same at alpha = 0.2: the end of correction comes in year 378."""
    res = tikkun.run(preset="quick", souls=2000, overrides={"light.alpha": 0.2})
    got = (res.summary["end_year"], repr(float(res.metrics["cleansing_mean"][100])))
    assert got == (378, "0.8581018281513825"), ADVICE
