"""The collective rules: warm network, the good and pure, impurity, judges, eras, shepherds."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import naive
from numba import njit
from conftest import make_scenario
from tikkun.engine import build, simulate
from tikkun.native import gather
from tikkun.rules import generations, good_and_pure
from tikkun.rules.network import build_graph, edge_weights, warm_network
from tikkun.rules.population import initial_state


def _check_graph(nb, n, k):
    assert nb.shape == (n, k) and nb.dtype == np.int32
    assert (nb >= 0).all() and (nb < n).all()
    assert not (nb == np.arange(n)[:, None]).any(), "self-loop"
    s = np.sort(nb, axis=1)
    assert not (s[:, 1:] == s[:, :-1]).any(), "duplicate neighbour"


def test_graphs():
    n, k = 5000, 8
    ring = build_graph("ring", n, k, 0.1, seed=3)
    _check_graph(ring, n, k)
    want = np.stack([(np.arange(n) + d) % n for d in (1, -1, 2, -2, 3, -3, 4, -4)], axis=1)
    np.testing.assert_array_equal(ring, want)
    sw = build_graph("small-world", n, k, 0.1, seed=3)
    _check_graph(sw, n, k)
    share = (sw != ring).mean()
    assert 0.09 < share < 0.11
    rnd = build_graph("random", n, k, 0.1, seed=3)
    _check_graph(rnd, n, k)
    assert (rnd != ring).mean() > 0.99
    np.testing.assert_array_equal(sw, build_graph("small-world", n, k, 0.1, seed=3))


def test_friedkin_johnsen_steady_state():
    """With every other rule frozen, effort converges to e* = (I - Theta P)^-1 (I - Theta) e0."""
    sc = make_scenario(**{"souls.count": 3000, "network.kind": "small-world"})
    st = initial_state(sc)
    n = st.n_souls
    theta_max = sc.network.theta_max
    e, e_next = st.effort.copy(), st.effort_next.copy()
    for _ in range(150):  # contraction <= theta_max per step: 0.8^150 ~ 1e-15
        warm_network(theta_max, st.neighbours, st.edge_weight, e, e_next, st.effort0)
        e, e_next = e_next, e
    w = st.warmth.astype(np.float64)
    rows = np.repeat(np.arange(n), st.neighbours.shape[1])
    cols = st.neighbours.ravel()
    P = sp.csr_matrix((w[cols], (rows, cols)), shape=(n, n))
    P = sp.diags(1.0 / np.asarray(P.sum(axis=1)).ravel()) @ P
    theta = sp.diags(theta_max * w)
    rhs = (1 - theta_max * w) * st.effort0.astype(np.float64)
    exact = spla.spsolve((sp.identity(n) - theta @ P).tocsc(), rhs)
    np.testing.assert_allclose(e, exact, rtol=1e-5)
    assert np.abs(exact - st.effort0).max() > 0.1  # the network did move efforts


def test_rewiring_matches_naive_and_moves_toward_the_pure():
    n, k = 2000, 6
    nb = build_graph("small-world", n, k, 0.1, seed=5)
    cleansing = np.random.default_rng(1).random(n).astype(np.float32) ** 3
    before = nb.copy()
    warmth = np.random.default_rng(2).random(n).astype(np.float32)
    edge_weight = edge_weights(nb, warmth)
    np.testing.assert_allclose(edge_weight, naive.edge_weights(nb, warmth), rtol=1e-6)
    count = good_and_pure.rewire(5, 30, 0.2, nb, cleansing, edge_weight, warmth)
    # the edges' weights follow the graph
    np.testing.assert_allclose(edge_weight, naive.edge_weights(nb, warmth), rtol=1e-6)
    want = naive.rewire(5, 30, 0.2, before, cleansing)
    np.testing.assert_array_equal(nb, want)
    _check_graph(nb, n, k)
    changed = (nb != before).any(axis=1)
    assert count == changed.sum() and 300 < count < 500
    c = cleansing.astype(np.float64)
    assert c[nb].mean() > c[before].mean()
    new = nb[nb != before]
    old = before[nb != before]
    # targets are drawn in proportion to cleansing: their mean is E[c^2] / E[c]
    assert c[new].mean() == pytest.approx((c**2).sum() / c.sum(), rel=0.1)
    # and the one replaced was the least cleansed of the row
    rows = np.nonzero(changed)[0]
    np.testing.assert_array_equal(c[old], c[before[rows]].min(axis=1))


def test_no_shocks_attachment_changes_nothing_and_shock_loss_formula():
    quiet = {"impurity.rate": 0.0, "years": 40}
    a = simulate(make_scenario(**quiet))
    b = simulate(make_scenario(**quiet, **{"souls.attachment_a": 5.0, "souls.attachment_b": 1.0}))
    for key in ("cleansing_mean", "weakest_link", "holding_aim", "complete"):
        np.testing.assert_array_equal(a.metrics[key], b.metrics[key])
    # with shocks: one year, every screen loses exactly 1 - (1 - K (1 - a))^N of itself
    sc = make_scenario(**{"impurity.rate": 3.0, "impurity.shock_size": 0.1,
                          "light.alpha": 1e-9, "years": 5})
    init, step = build(sc)
    st = init()
    st.screen[:] = 0.5 * st.size
    before = st.screen.astype(np.float64).copy()
    owner = np.repeat(np.arange(st.n_souls), st.sparks_per_soul)
    att = st.attachment.astype(np.float64)[owner]
    st, row = step(st)
    N = row["shocks"]
    assert N == naive.shocks(sc.run.seed, 0, 3.0) and N > 0
    expected_lost = (before * (1 - (1 - 0.1 * (1 - att)) ** N)).sum()
    assert row["screen_lost"] == pytest.approx(expected_lost, rel=1e-6)
    assert st.screen.astype(np.float64).sum() == pytest.approx(before.sum() - expected_lost, rel=1e-5)


def test_judge_rules_on_a_hand_built_population():
    c = np.array([0.9, 0.1, 0.5, 0.7, 0.2], dtype=np.float32)
    special = np.array([0, 1, 1, 0, 0], dtype=np.uint8)
    assert generations.choose_judge("highest", c, special, False, 1, 0) == 2  # only special souls
    assert generations.choose_judge("lowest", c, special, False, 1, 0) == 1
    assert generations.choose_judge("highest", c, special, True, 1, 0) == 0   # Messiah era: any soul
    assert generations.choose_judge("lowest", c, special, True, 1, 0) == 1
    assert generations.choose_judge("highest", c, np.zeros(5, np.uint8), False, 1, 0) == -1
    picks = {generations.choose_judge("random", c, special, False, 1, t) for t in range(40)}
    assert picks == {1, 2}
    assert [generations.era_of(y, 2000, 4000) for y in (0, 1999, 2000, 3999, 4000)] == [0, 0, 1, 1, 2]


def test_judge_frozen_for_the_generation_and_sets_holiness():
    sc = make_scenario(**{"generations.length": 10, "years": 35})
    sim = simulate(sc)
    m = sim.metrics
    for g0 in (0, 10, 20, 30):
        gen = slice(g0, g0 + 10)
        assert len(set(m["judge"][gen])) == 1 and len(set(m["judge_cleansing"][gen])) == 1
    kappa0 = sc.light.kappa0
    np.testing.assert_allclose(m["holiness"], kappa0 + (1 - kappa0) * m["judge_cleansing"])
    assert m["judge_cleansing"][30] > 0


def test_shepherds_only_in_the_messiah_era():
    fast = {"light.alpha": 5.0, "souls.count": 200, "years": 60, "generations.torah_from": 10,
            "generations.messiah_from": 40}
    sim = simulate(make_scenario(**fast))
    m = sim.metrics
    assert m["complete"][:40].max() > 0, "souls completed before the Messiah era"
    assert m["shepherds"][:40].max() == 0
    assert m["shepherds"][40] == m["complete"][40]
    assert (np.diff(m["shepherds"][40:]) >= 0).all()  # a shepherd stays one


def test_labels_count_every_soul():
    sim = simulate(make_scenario(**{"years": 60}))
    m = sim.metrics
    n = 300
    np.testing.assert_array_equal(m["stage_spark"] + m["stage_particular"] + m["stage_common"], n)
    np.testing.assert_array_equal(m["journey_moses"] + m["journey_joshua"] + m["journey_solomon"] + m["journey_david"], n)
    np.testing.assert_array_equal(m["journey_david"], m["complete"])


def test_warm_network_any_k_and_the_unrolled_k8_agree():
    """Every k follows MODEL.md's Friedkin-Johnsen step as written, theta_i avg_i + (1 - theta_i)
    e0_i with warmth-weighted averages and e0_i for a soul with no warm neighbour (float64 here);
    the unrolled kernel of the default k = 8 gives the bits of the general loop."""
    from tikkun.rules import network

    rs = np.random.default_rng(3)
    n = 4000
    effort = rs.gamma(2, 0.5, n).astype(np.float32)
    effort0 = rs.gamma(2, 0.5, n).astype(np.float32)
    for k in (3, 7, 8, 9, 11, 14, 16):  # below, at and above 8, and 14: 8 + 6 (the rest after one row of eight)
        nb = build_graph("random", n, k, 0.1, seed=k)
        warmth = rs.beta(2, 5, n).astype(np.float32)
        warmth[:50] = 0.0  # cold souls: they carry nothing and are moved by nothing
        warmth[nb[50:80].ravel()] = 0.0  # souls 50-79 hear only cold souls: no warm neighbour
        assert (warmth[nb[50:80]] == 0).all() and (warmth[50:80] > 0).any()
        ew = edge_weights(nb, warmth)
        got = np.empty(n, np.float32)
        warm_network(0.8, nb, ew, effort, got, effort0)
        w, e, e0 = warmth.astype(np.float64), effort.astype(np.float64), effort0.astype(np.float64)
        den = w[nb].sum(axis=1)
        avg = np.divide((w[nb] * e[nb]).sum(axis=1), den, out=np.zeros(n), where=den > 0)
        theta = 0.8 * w
        want = np.where(den > 0, theta * avg + (1 - theta) * e0, e0)
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)
        np.testing.assert_array_equal(got[50:80], effort0[50:80])  # exactly their baseline
        if k == 8:
            loop = np.array([network.warm_effort(nb, ew, i, effort, effort0[i], 0.8) for i in range(n)], np.float32)
            np.testing.assert_array_equal(got, loop)


@pytest.mark.skipif(not gather.HARDWARE, reason="AVX2 not on this processor, or off (TIKKUN_PORTABLE=1): the scalar tree runs "
                    "(the k = 8 test checks it)")
def test_the_gathered_row_is_the_scalar_tree_bit_for_bit():
    """The vector row (one gather, pairwise sums) against the scalar tree of eight edges (run
    wherever the instruction exists, even where the network keeps to the scalar tree), on
    rows with neighbours at both ends of the array, zero weights, differences of both signs and
    of very different sizes (where the order of additions shows in the bits)."""
    from numba import njit

    from tikkun.rules import network

    @njit
    def both(rows, weights, effort, e0):
        n = e0.shape[0]
        out = np.empty((n, 2), np.float32)
        for i in range(n):
            j = np.uint64(i) * np.uint64(8)
            out[i, 0] = gather.edge_sum8(rows, weights, effort, j, e0[i])
            out[i, 1] = network._eight(rows, weights, effort, j, e0[i])
        return out

    rs = np.random.default_rng(11)
    n = 5000
    rows = rs.integers(0, n, (n, 8)).astype(np.int32)
    rows[0] = [0, n - 1, 0, n - 1, 1, n - 2, 2, n - 3]
    effort = (rs.gamma(2, 0.5, n) * 10.0 ** rs.integers(-6, 6, n)).astype(np.float32)
    weights = rs.random((n, 8)).astype(np.float32)
    weights[rs.random((n, 8)) < 0.2] = 0.0
    e0 = (rs.gamma(2, 0.5, n) * 10.0 ** rs.integers(-6, 6, n)).astype(np.float32)
    out = both(rows.ravel(), weights.ravel(), effort, e0)
    np.testing.assert_array_equal(out[:, 0].view(np.int32), out[:, 1].view(np.int32))
    # the order of additions shows: a left-to-right sum differs from the tree in many rows
    terms = weights * (effort[rows] - e0[:, None])
    chain = np.zeros(n, np.float32)
    for q in range(8):
        chain += terms[:, q]
    assert (chain != out[:, 1]).sum() > n // 20


@pytest.mark.parametrize("kind, share", [("ring", 0.0), ("small-world", 0.1), ("small-world", 0.5), ("random", 0.1)])
def test_graphs_match_naive(kind, share):
    """Every row is the twin's, built edge by edge from the same draws (tests/naive.py): the
    kernel's graph is a pure function of (seed, soul) with the documented counters."""
    n, k = 300, 6
    np.testing.assert_array_equal(build_graph(kind, n, k, share, seed=9), naive.build_graph(kind, n, k, share, 9))


def test_warm_network_refuses_block_sums_of_another_shape():
    """block_sums must hold one float64 per block of souls: longer, shorter or float32 is refused."""
    n, k, block = 100, 8, 16
    nb = build_graph("ring", n, k, 0.0, seed=1)
    ew = edge_weights(nb, np.ones(n, np.float32))
    args = (0.8, nb, ew, np.ones(n, np.float32), np.empty(n, np.float32), np.ones(n, np.float32))
    warm_network(*args, np.empty(7, np.float64), block)  # ceil(100 / 16) = 7
    warm_network(*args, np.empty(n, np.float64), 1)  # a block of one soul is a block
    for bad in (np.empty(8, np.float64), np.empty(6, np.float64), np.empty(7, np.float32),
                np.empty(7, np.complex128)):
        with pytest.raises(ValueError, match="block_sums must be float64"):
            warm_network(*args, bad, block)
    for bad_block in (None, 0, -1):
        with pytest.raises(ValueError, match="block must be a positive number"):
            warm_network(*args, np.empty(7, np.float64), bad_block)


@pytest.mark.parametrize("n, k", [(101, 9), (8, 3)])
def test_warm_network_on_small_graphs(n, k):
    """MODEL.md's Friedkin-Johnsen step (as in the test of any k) on graphs the default pass must
    not take: 101 souls of 9 neighbours (909 edges, which no 64-bit view of the graph can hold),
    and 8 souls of 3 (the pass for eight neighbours is chosen by the degree, never by the number
    of souls)."""
    nb = build_graph("random", n, k, 0.1, seed=k)
    warmth = np.random.default_rng(5).beta(2, 5, n).astype(np.float32)
    effort = np.random.default_rng(6).gamma(2, 0.5, n).astype(np.float32)
    effort0 = np.random.default_rng(7).gamma(2, 0.5, n).astype(np.float32)
    got = np.empty(n, np.float32)
    warm_network(0.8, nb, edge_weights(nb, warmth), effort, got, effort0)
    w, e, e0 = warmth.astype(np.float64), effort.astype(np.float64), effort0.astype(np.float64)
    avg = (w[nb] * e[nb]).sum(axis=1) / w[nb].sum(axis=1)
    np.testing.assert_allclose(got, 0.8 * w * avg + (1 - 0.8 * w) * e0, rtol=2e-6)


def test_a_graph_needs_more_souls_than_neighbours():
    """A soul hears k others, never itself and never one twice: k = n or more is refused."""
    for k in (5, 6):
        with pytest.raises(ValueError, match="needs more than 5 souls"):
            build_graph("ring", 5, k, 0.0, seed=1)
    assert build_graph("ring", 5, 4, 0.0, seed=1).shape == (5, 4)


def test_warm_network_refuses_strided_arrays():
    """The kernels read rows as vectors from the arrays' memory: a strided view is refused by name."""
    n, k = 100, 8
    nb = build_graph("ring", n, k, 0.0, seed=1)
    ew = edge_weights(nb, np.ones(n, np.float32))
    effort = np.ones(2 * n, np.float32)
    with pytest.raises(ValueError, match="effort must be C-contiguous"):
        warm_network(0.8, nb, ew, effort[::2], np.empty(n, np.float32), np.ones(n, np.float32))


def test_warm_effort_never_negative():
    """theta_max w_i = 1 and silent neighbours: the exact value is 0; float32 rounding of the
    weights must not make it negative (a negative effort would be a negative light)."""
    rs = np.random.default_rng(5)
    n, k = 10_000, 8
    nb = build_graph("random", n, k, 0.1, seed=5)
    warmth = np.ones(n, np.float32)
    warmth[rs.random(n) < 0.5] = np.float32(0.37)
    effort = np.zeros(n, np.float32)
    effort0 = rs.gamma(2, 0.5, n).astype(np.float32)
    out = np.empty(n, np.float32)
    warm_network(1.0, nb, edge_weights(nb, warmth), effort, out, effort0)
    assert (out >= 0).all()
    w = warmth.astype(np.float64)
    np.testing.assert_allclose(out, (1 - w) * effort0, atol=1e-6)


def test_guide_table_inverts_the_cumulative_like_searchsorted():
    """The rewiring's draw by guide table is exactly NumPy's searchsorted(side='right')."""
    rs = np.random.default_rng(11)
    c = rs.random(5000).astype(np.float32) ** 4
    c[rs.random(5000) < 0.3] = 0.0  # runs of equal cumulative values
    cum = np.cumsum(c, dtype=np.float64)
    total = float(cum[-1])
    x = np.concatenate((rs.random(20000) * total, cum[:200], [0.0, np.nextafter(total, 0)]))
    for buckets in (1, 7, 5000, 20000):
        guide = good_and_pure.guide_table(cum, total, buckets)
        got = np.array([good_and_pure.draw_index(v, cum, total, guide) for v in x])
        np.testing.assert_array_equal(got, np.searchsorted(cum, x, side="right"))


def test_guide_table_keeps_its_contract_and_draws_below_a_bucket_bound():
    """guide[g] is the first m with cumulative[m] > g total / buckets (its docstring), for every
    bucket count; and a draw just below a bucket's bound, where x buckets / total may round up
    to the next bucket, or exactly on a cumulative value, is still searchsorted(side='right').
    Cumulative values 1..n on bounds g n / buckets make those cases exact."""
    n = 3000
    cum = np.arange(1, n + 1, dtype=np.float64)
    total = float(cum[-1])
    for buckets in (1, 16, n // 16, 1000, n):
        guide = good_and_pure.guide_table(cum, total, buckets)
        bounds = np.arange(buckets) * total / buckets
        np.testing.assert_array_equal(guide, np.searchsorted(cum, bounds, side="right"))
        x = np.concatenate((np.nextafter(bounds[1:], 0.0), cum[:-1], [0.0]))
        got = np.array([good_and_pure.draw_index(v, cum, total, guide) for v in x])
        np.testing.assert_array_equal(got, np.searchsorted(cum, x, side="right"))
    # where the rounding happens (cases found by a search over totals and bucket counts): x just
    # below bucket g's bound, x buckets / total rounds to g; a cumulative value on that bound is
    # the answer, and bucket g's guide starts past it. The first bucket above 0, and a total
    # above the bucket count, included.
    for total, buckets, g in ((6.369616873214543, 13490, 65), (78.70969415548011, 87334, 1),
                              (25160.78757803694, 1771, 9)):
        bound = g * total / buckets
        x = float(np.nextafter(bound, 0.0))
        assert int(x * buckets / total) == g
        cum = np.array([bound, total])
        guide = good_and_pure.guide_table(cum, total, buckets)
        assert guide[g] == 1 and good_and_pure.draw_index(x, cum, total, guide) == 0


def _ties(n):
    return (np.random.default_rng(3).integers(0, 3, n) / 2).astype(np.float32)  # 0, 0.5, 1: many ties


def _one_pure(n):
    c = np.zeros(n, np.float32)
    c[7] = 0.5  # the whole population's cleansing below 1
    return c


@pytest.mark.parametrize("n, k, p, cleansing, weights", [
    (2049, 6, 1.0, lambda n: np.random.default_rng(1).random(n).astype(np.float32), True),  # a last stretch of one soul
    (400, 6, 0.5, _ties, True),       # ties: the first least cleansed neighbour goes
    (400, 6, 1.0, _one_pure, True),   # sum of cleansing 0.5: still drawn toward the one
    (300, 1, 0.5, lambda n: np.random.default_rng(2).random(n).astype(np.float32), True),  # one neighbour
    (300, 4, 0.5, lambda n: np.random.default_rng(2).random(n).astype(np.float32), False),  # no weights kept
    (12, 4, 1.0, lambda n: np.random.default_rng(4).random(n).astype(np.float32), True),  # fewer than 16 souls
])
def test_rewiring_matches_naive_at_its_edges(n, k, p, cleansing, weights):
    """The rewiring against its plain-Python twin where its chunks, guide and ties are tested hardest."""
    nb = build_graph("small-world", n, k, 0.1, seed=5)
    c = cleansing(n)
    before = nb.copy()
    warmth = np.random.default_rng(2).random(n).astype(np.float32)
    if weights:
        ew = edge_weights(nb, warmth)
        count = good_and_pure.rewire(5, 30, p, nb, c, ew, warmth)
        np.testing.assert_allclose(ew, naive.edge_weights(nb, warmth), rtol=1e-6)
    else:
        count = good_and_pure.rewire(5, 30, p, nb, c)
    want = naive.rewire(5, 30, p, before, c)
    np.testing.assert_array_equal(nb, want)
    assert count == int((want != before).any(axis=1).sum()) > 0


def test_no_rewiring_without_cleansing_or_without_neighbours():
    """Nothing to draw toward (no cleansing anywhere) or no edge to replace: 0 souls rewired,
    the graph as the twin leaves it (unchanged), though every soul is chosen to rewire (p = 1)."""
    nb = build_graph("small-world", 200, 4, 0.1, seed=5)
    before = nb.copy()
    nothing = np.zeros(200, np.float32)
    assert good_and_pure.rewire(5, 30, 1.0, nb, nothing) == 0
    np.testing.assert_array_equal(nb, naive.rewire(5, 30, 1.0, before, nothing))
    np.testing.assert_array_equal(nb, before)
    empty = np.empty((200, 0), np.int32)
    assert good_and_pure.rewire(5, 30, 1.0, empty, np.ones(200, np.float32)) == 0
    assert naive.rewire(5, 30, 1.0, empty, np.ones(200, np.float32)).shape == (200, 0)


def test_rewiring_refuses_a_graph_or_weights_it_could_not_write_in_place():
    """The kernel writes the graph and its weights raveled: a Fortran-ordered or strided array
    would be copied and the rewiring lost, so it is refused, and nothing is changed."""
    nb = build_graph("small-world", 200, 4, 0.1, seed=5)
    warmth = np.ones(200, np.float32)
    weights = edge_weights(nb, warmth)
    cleansing = np.ones(200, np.float32)
    fortran = np.asfortranarray(nb)
    with pytest.raises(ValueError, match="neighbours must be C-contiguous"):
        good_and_pure.rewire(5, 30, 1.0, fortran, cleansing, weights, warmth)
    np.testing.assert_array_equal(fortran, nb)
    wide = np.zeros((200, 8), np.float32)
    with pytest.raises(ValueError, match="edge_weight must be C-contiguous"):
        good_and_pure.rewire(5, 30, 1.0, nb.copy(), cleansing, wide[:, ::2], warmth)


def test_cumulative_cleansing_is_numpys_cumsum():
    c = np.random.default_rng(2).random(100_000).astype(np.float32) ** 3
    np.testing.assert_array_equal(good_and_pure._cumulative(c), np.cumsum(c, dtype=np.float64))


@njit
def _sparse_draw(x, seg, total, n):
    return good_and_pure.sparse_draw(x, seg, total, n)


def _segment_sums(seg, n):
    """The running sum at every soul, read back from the segments as their docstring says."""
    out = np.empty(n)
    for s in range(seg.last.shape[0]):
        f = seg.first[s]
        end = seg.first[s + 1] if s + 1 < seg.last.shape[0] else n
        out[f:end] = seg.last[s] if seg.single[s] else seg.before[s] + np.arange(1, end - f + 1)
        assert out[end - 1] == seg.last[s]
    return out


def _mostly_ones(n, others=10, seed=4):
    rs = np.random.default_rng(seed)
    c = np.ones(n, np.float32)
    at = rs.choice(n, others, replace=False)
    c[at] = (rs.random(others) ** rs.choice([1, 8, 40], others)).astype(np.float32)
    return c


@pytest.mark.parametrize("c", [
    np.ones(1, np.float32), np.ones(200, np.float32), np.ones(2049, np.float32),  # a last word of one soul
    _mostly_ones(5000), _mostly_ones(3000, others=1), _mostly_ones(63, others=2),
    np.concatenate(([2.0 ** -45], np.ones(299))).astype(np.float32),  # the run's sum rounds where it passes 256
    np.concatenate(([0.0, 1e-30, 0.75], np.ones(1000), [0.0])).astype(np.float32),
    _mostly_ones(2_100_000, others=300, seed=5),  # past 2**21, where fine fractions round
])
def test_sparse_cumulative_gives_the_sums_and_draws_of_the_dense_one(c):
    """The cumulative as runs of ones gives, bit for bit, the running sum of ``_cumulative``
    (NumPy's float64 cumsum) at every soul, including where a run's addition crosses a power of
    two and rounds; the bits mark exactly the souls whose cleansing is not 1; and a draw is
    ``searchsorted(side='right')`` on the dense array, for random values, values on the sums
    and just below them."""
    n = c.shape[0]
    want = np.cumsum(c, dtype=np.float64)
    seg, not_one = good_and_pure.sparse_cumulative(c, n)
    np.testing.assert_array_equal(_segment_sums(seg, n).view(np.int64), want.view(np.int64))
    marked = np.unpackbits(not_one.view(np.uint8), bitorder="little")[:n].astype(bool)
    np.testing.assert_array_equal(marked, c != 1)
    rs = np.random.default_rng(9)
    total = float(want[-1])
    on = want[rs.integers(0, n, 300)]
    x = np.concatenate((rs.random(2000) * total, on, np.nextafter(on, 0.0), [0.0, np.nextafter(total, 0.0)]))
    got = np.array([_sparse_draw(v, seg, total, n) for v in x])
    np.testing.assert_array_equal(got, np.searchsorted(want, x, side="right"))


def test_sparse_cumulative_rounds_where_the_dense_one_does():
    """The case the segments exist for: a sum with a fine fraction (2**-45) plus ones is exact
    below 256; the addition that passes 256, where the unit in the last place grows past the
    fraction, rounds it away. Each addition that passes a power of two is a segment of its own,
    made as the loop makes it; past 256 the sum is whole and the run goes on to the end."""
    c = np.concatenate(([2.0 ** -45], np.ones(299))).astype(np.float32)
    want = np.cumsum(c, dtype=np.float64)
    assert want[255] == 255 + 2.0 ** -45 and want[256] == 256.0  # the fraction is kept, then rounded away
    seg, _ = good_and_pure.sparse_cumulative(c, 1)
    np.testing.assert_array_equal(_segment_sums(seg, 300), want)
    crossing = [s for s in range(seg.last.shape[0]) if seg.single[s] and c[seg.first[s]] == 1]
    assert [seg.first[s] for s in crossing] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert not seg.single[-1] and seg.first[-1] == 257


def test_sparse_cumulative_only_for_few_other_souls():
    """More souls with cleansing other than 1 than the limit: no segments (the dense path)."""
    c = _mostly_ones(3000, others=20)
    assert good_and_pure.sparse_cumulative(c, 19) == (None, None)
    seg, _ = good_and_pure.sparse_cumulative(c, 20)  # at the limit: the runs, summing as the dense path does
    np.testing.assert_array_equal(_segment_sums(seg, 3000), np.cumsum(c, dtype=np.float64))
    assert good_and_pure.sparse_cumulative(np.empty(0, np.float32), 5) == (None, None)


@pytest.mark.parametrize("n, k, others", [(3000, 8, 10), (3000, 8, 0), (2049, 6, 30), (640, 4, 1)])
def test_rewiring_with_cleansing_nearly_all_one_matches_naive(n, k, others):
    """Where nearly every soul's cleansing is 1 the rewiring draws from the cumulative as runs
    and reads a neighbour's cleansing only where it is marked: the same graph and weights as
    the plain-Python twin (ties among the ones included: the first neighbour goes)."""
    c = _mostly_ones(n, others=others) if others else np.ones(n, np.float32)
    assert good_and_pure.sparse_cumulative(c, n // good_and_pure.SPARSE_SHARE)[0] is not None  # the runs' path
    nb = build_graph("small-world", n, k, 0.1, seed=5)
    before = nb.copy()
    warmth = np.random.default_rng(2).random(n).astype(np.float32)
    ew = edge_weights(nb, warmth)
    count = good_and_pure.rewire(5, 30, 0.6, nb, c, ew, warmth)
    want = naive.rewire(5, 30, 0.6, before, c)
    np.testing.assert_array_equal(nb, want)
    np.testing.assert_allclose(ew, naive.edge_weights(nb, warmth), rtol=1e-6)
    assert count == int((want != before).any(axis=1).sum()) > 0


@pytest.mark.parametrize("n", [40, 129, 1000])
def test_warm_network_near_the_graph_end_is_each_soul_alone(n):
    """The pass runs the souls whose asks ahead stay inside the graph in a loop of their own and
    the last ``PREFETCH_ROWS`` in another: every soul's effort is the one soul's step
    (``warm_effort``, bit for bit) and each block's sum is that of its souls in order, where a
    block of 7 souls straddles the switch, where the graph is shorter than the asks' distance
    (40), and one soul past it (129)."""
    from tikkun.rules import network

    rs = np.random.default_rng(n)
    effort = rs.lognormal(0.0, 2.0, n).astype(np.float32)
    effort0 = rs.lognormal(0.0, 2.0, n).astype(np.float32)
    block = 7
    assert (n - network.PREFETCH_ROWS) % block != 0 or n < network.PREFETCH_ROWS
    for k in (8, 5):
        nb = build_graph("random", n, k, 1.0, seed=k)
        ew = edge_weights(nb, rs.beta(2, 5, n).astype(np.float32))
        out = np.full(n, np.nan, np.float32)
        sums = np.full(-(-n // block), np.nan)
        warm_network(0.8, nb, ew, effort, out, effort0, sums, block)
        want = np.array([network.warm_effort(nb, ew, i, effort, effort0[i], 0.8) for i in range(n)], np.float32)
        np.testing.assert_array_equal(out.view(np.int32), want.view(np.int32))
        plain = [sum((float(x) for x in want[b:b + block]), 0.0) for b in range(0, n, block)]
        np.testing.assert_array_equal(sums.view(np.int64), np.array(plain).view(np.int64))


def test_warm_network_block_sums_are_the_plain_sums_in_soul_order():
    """The pass adds each block's new efforts as it writes them (the year's mean effort is made
    of these sums): bit for bit the float64 sum in soul order from 0.0, the last block smaller,
    for the unrolled k = 8 and the general loop; without a network, ``block_sums`` gives the
    same."""
    from tikkun.engine import year_kernel as yk

    rs = np.random.default_rng(11)
    n = 3 * yk.BLOCK + 123
    effort = rs.lognormal(0.0, 4.0, n).astype(np.float32)  # many scales: another order would differ
    effort0 = rs.lognormal(0.0, 4.0, n).astype(np.float32)
    for k in (8, 5):
        nb = build_graph("small-world", n, k, 0.3, seed=k)
        ew = edge_weights(nb, rs.beta(2, 5, n).astype(np.float32))
        out = np.empty(n, np.float32)
        sums = np.full(yk.n_blocks(n), np.nan)
        warm_network(0.8, nb, ew, effort, out, effort0, sums, yk.BLOCK)
        want = []
        for b in range(yk.n_blocks(n)):
            s = 0.0
            for x in out[b * yk.BLOCK:(b + 1) * yk.BLOCK]:
                s += float(x)
            want.append(s)
        np.testing.assert_array_equal(sums.view(np.int64), np.array(want).view(np.int64))
        np.testing.assert_array_equal(yk.block_sums(out).view(np.int64), np.array(want).view(np.int64))
