"""The population of year 0: distributions of MODEL.md, contiguity, purity of the draws."""

import mmap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from conftest import make_scenario
from tikkun.rules.population import initial_state
from tikkun.state import spark_entities


def test_distributions_follow_model():
    st = initial_state(make_scenario(**{"souls.count": 40_000}))
    assert stats.kstest(st.effort0, stats.gamma(2.0, scale=0.5).cdf).pvalue > 1e-3
    assert stats.kstest(st.warmth, stats.beta(2, 5).cdf).pvalue > 1e-3
    assert stats.kstest(st.attachment, stats.beta(1, 4).cdf).pvalue > 1e-3
    assert stats.kstest(np.log(st.hbd), stats.norm(0, 0.3).cdf).pvalue > 1e-3
    assert stats.kstest(np.log(st.size), stats.norm(0, 1).cdf).pvalue > 1e-3
    assert stats.kstest(st.unity, stats.beta(8, 2).cdf).pvalue > 1e-3
    counts = st.sparks_per_soul - 1
    # 1 + Poisson(3) sparks a soul
    assert abs(counts.mean() - 3.0) < 0.05 and abs(counts.var() - 3.0) < 0.1
    # each count as often as Poisson(3) has it (40,000 souls: a share within 0.01), none below 0
    share = np.bincount(counts, minlength=9)[:9] / counts.size
    np.testing.assert_allclose(share, stats.poisson(3.0).pmf(np.arange(9)), atol=0.01)
    assert counts.min() == 0  # a soul of one spark is drawn (P = e^-3 a soul)
    for name in ("effort", "warmth", "hbd", "size", "screen", "cleansing"):
        assert getattr(st, name).dtype == np.float32


def test_sparks_contiguous_and_totals():
    """Each soul's sparks are one stretch, and its size_total is exactly ``sum_j D_j`` of that
    stretch, for every soul: added here one by one in Python floats (float64 sums of a few
    float32 sizes are exact, so the order of adding cannot excuse a difference)."""
    st = initial_state(make_scenario(**{"souls.count": 5000}))
    assert st.spark_start[0] == 0 and st.spark_start[-1] == st.n_sparks
    assert (np.diff(st.spark_start) >= 1).all()
    want = []
    for i in range(st.n_souls):
        total = 0.0
        for j in range(st.spark_start[i], st.spark_start[i + 1]):
            total += float(st.size[j])
        want.append(total)
    assert st.size_total.dtype == np.float64
    np.testing.assert_array_equal(st.size_total, want)
    assert np.diff(st.spark_start).max() >= 9  # souls of many sparks among them
    ent = spark_entities(st)
    assert (ent >> 16)[st.spark_start[5]] == 5


def test_draws_do_not_depend_on_population_size():
    small = initial_state(make_scenario(**{"souls.count": 100}))
    large = initial_state(make_scenario(**{"souls.count": 1000}))
    for name in ("effort0", "warmth", "attachment", "hbd"):
        np.testing.assert_array_equal(getattr(small, name), getattr(large, name)[:100])
    m = small.n_sparks
    np.testing.assert_array_equal(small.size, large.size[:m])
    np.testing.assert_array_equal(small.unity, large.unity[:m])


def test_special_are_top_hbd():
    st = initial_state(make_scenario(**{"souls.count": 5000}))
    assert st.special.sum() == 50
    assert st.hbd[st.special == 1].min() >= st.hbd[st.special == 0].max()


def test_poisson_quantile_matches_scipy():
    from tikkun.rules.population import poisson_quantile

    u = np.concatenate([np.linspace(1e-12, 1 - 1e-12, 20001), [0.049787068367863944, 0.5]])
    for mean in (0.5, 3.0, 17.0):
        np.testing.assert_array_equal(poisson_quantile(u, mean), stats.poisson.ppf(u, mean).astype(np.int64))


def test_checkpoint_leaves_out_the_edge_weights_and_rebuilds_them_bit_for_bit():
    """edge_weight is derived (the graph and warmth); after rewirings and a warmth policy, the
    weights rebuilt from a checkpoint's arrays are the run's own, bit for bit."""
    from tikkun.engine import build
    from tikkun.rules.network import edge_weights
    from tikkun.scenario import build_scenario
    from tikkun.state import State

    raw = make_scenario(**{"souls.count": 3000}).model_dump(mode="json", exclude_none=True)
    raw["network"] = {**raw["network"], "rewire_every": 3}
    raw["events"] = [{"kind": "policy", "year": 4, "group": {"share": 0.2}, "warmth": 0.9}]
    init, step = build(build_scenario(raw))
    st = init()
    for _ in range(12):
        st, row = step(st)
    assert (st.neighbours != init().neighbours).any()  # the graph was rewired
    assert "edge_weight" not in st.saved_arrays()
    # through a file, as a checkpoint goes: the arrays read back are new arrays, compared
    # with the state's own
    import io

    buf = io.BytesIO()
    np.savez(buf, **st.saved_arrays())
    buf.seek(0)
    with np.load(buf) as data:
        read = {k: data[k] for k in data.files}
    # as the checkpoint's loader rebuilds them (tikkun.outputs.run_folder.load_checkpoint)
    back = State.from_saved(read, st.scalars(), edge_weights(read["neighbours"], read["warmth"]))
    # each array in the dtype State documents, which a checkpoint's loader checks (ARRAY_DTYPES)
    from tikkun.state import ARRAY_DTYPES

    assert {k: v.dtype for k, v in st.arrays().items()} == ARRAY_DTYPES
    np.testing.assert_array_equal(back.edge_weight, st.edge_weight)
    assert back.edge_weight.tobytes() == st.edge_weight.tobytes()
    for k, v in st.saved_arrays().items():
        got = getattr(back, k)
        assert got is not v and not np.shares_memory(got, v), k
        assert got.dtype == v.dtype and got.tobytes() == v.tobytes(), k
    assert back.scalars() == st.scalars()


def test_replace_is_what_dataclasses_replace_gives():
    """``State.replace`` skips ``__init__`` for speed: it must give what ``dataclasses.replace``
    gives (every field, the arrays shared, not copied), leave the original as it was, and refuse
    a name that is not a field."""
    import dataclasses

    import pytest

    st = initial_state(make_scenario(**{"souls.count": 50}))
    before = dict(st.__dict__)
    got = st.replace(year=7, effort=st.effort_next, effort_next=st.effort)
    want = dataclasses.replace(st, year=7, effort=st.effort_next, effort_next=st.effort)
    assert type(got) is type(want)
    fields = [f.name for f in dataclasses.fields(st)]
    assert all(getattr(got, k) is getattr(want, k) for k in fields)
    assert got.year == 7 and got.effort is st.effort_next and got.screen is st.screen
    assert st.__dict__ == before and st.year == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.year = 8
    with pytest.raises(TypeError, match="efort"):
        st.replace(efort=st.effort)


def _pages_not_own(a: np.ndarray) -> int:
    """How many of the pages under ``a`` are not the process's own: absent, or present but
    not exclusively mapped (the system's shared page of zeros is mapped by every reader), from
    Linux's /proc/self/pagemap (bit 63: present; bit 56: exclusively mapped)."""
    page = mmap.PAGESIZE
    first, last = a.ctypes.data // page, (a.ctypes.data + a.nbytes - 1) // page
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(first * 8)
        entries = np.frombuffer(f.read((last - first + 1) * 8), dtype=np.uint64)
    own = ((entries >> np.uint64(63)) & np.uint64(1)) & ((entries >> np.uint64(56)) & np.uint64(1))
    return int((own == 0).sum())


@pytest.mark.skipif(not Path("/proc/self/pagemap").exists(), reason="the page map is Linux's")
def test_initial_arrays_own_every_page():
    """Every array of year 0 is written where it is made, so none reads the system's shared
    page of zeros: an array the passes only read (``shepherd``, all zeros until the Messiah
    era) on that page made the soul pass twice as slow on AMD Zen 4 (docs/performance.md).
    Large enough (1 MB of ``shepherd``) that ``np.zeros`` takes fresh pages from the system."""
    st = initial_state(make_scenario(**{"souls.count": 1_000_000, "network.enabled": False}))
    for name, a in st.arrays().items():
        if a.nbytes >= mmap.PAGESIZE:
            int(a.view(np.uint8)[::mmap.PAGESIZE].sum())  # reading maps an untouched page to the shared one
            assert _pages_not_own(a) == 0, name
