"""The fused yearly pass against the naive NumPy twin, year by year."""

import numpy as np
import pytest
from numba import njit

import naive
from conftest import make_scenario
from tikkun.engine import build
from tikkun.engine import year_kernel as yk
from tikkun import random as rng
from tikkun.native import gather
from tikkun.rules.cleansing import GREATER, OPEN

FIELDS = ("effort", "holding", "shepherd", "complete", "completed_year", "cleansing", "screen")


def _as_dict(state):
    d = {k: v.copy() for k, v in state.arrays().items()}
    d.update(state.scalars())
    return d


# Events of the first five cases: one of each kind on souls, and globals set and scaled.
EVENTS = [
    {"kind": "set", "year": 25, "key": "impurity.rate", "value": 0.7},
    {"kind": "set", "year": 0, "until": 15, "key": "light.practice", "value": 0.3},
    {"kind": "shepherds", "year": 20, "group": {"highest": "hbd", "count": 1}},
    {"kind": "reset", "year": 30, "group": {"first": 0, "count": 10}, "hbd": 0.5},
    {"kind": "policy", "year": 35, "group": {"share": 0.3}, "regain": 1.0, "effort": 2.0},
    {"kind": "scale", "year": 40, "until": 45, "key": "light.light", "factor": 1.5},
]
# Under a dim light: the worlds sink (W well below 1) while shocks come, every global key is
# set or scaled by an event (light.conductance acts only with the worlds off), the graph is
# rewired, a shepherd serves one generation before the Messiah era, and warmth, effort and
# attachment policies change the network's weights and the shocks' bite. Two souls are made
# complete in year 0, and so keep completed_year 0 to the end (year 0 is a year like any other:
# it is not "no year yet").
DIM_EVENTS = [
    {"kind": "complete", "year": 0, "group": {"souls": [21, 20]}},
    {"kind": "set", "year": 3, "until": 50, "key": "light.light", "value": 0.8},
    {"kind": "scale", "year": 50, "until": 55, "key": "light.light", "factor": 1.5},
    {"kind": "scale", "year": 0, "until": 30, "key": "light.alpha", "factor": 1.6},
    {"kind": "set", "year": 0, "until": 12, "key": "light.practice", "value": 0.5},
    {"kind": "set", "year": 6, "until": 60, "key": "impurity.rate", "value": 0.9},
    {"kind": "set", "year": 18, "until": 40, "key": "impurity.shock_size", "value": 0.35},
    {"kind": "set", "year": 12, "until": 36, "key": "network.theta_max", "value": 0.3},
    {"kind": "set", "year": 0, "key": "network.p_rewire", "value": 0.5},
    {"kind": "scale", "year": 30, "until": 60, "key": "network.p_rewire", "factor": 0.4},
    {"kind": "set", "year": 25, "key": "light.kappa0", "value": 0.2},
    {"kind": "set", "year": 15, "until": 55, "key": "light.beta", "value": 3.0},
    {"kind": "set", "year": 8, "until": 28, "key": "light.eps", "value": 0.05},
    {"kind": "set", "year": 21, "key": "light.phi_s", "value": 0.2},
    {"kind": "set", "year": 33, "key": "light.omega", "value": 0.8},
    {"kind": "set", "year": 0, "until": 44, "key": "light.conductance", "value": 0.6},
    {"kind": "shepherds", "year": 17, "group": {"lowest": "cleansing", "count": 2}},
    {"kind": "policy", "year": 22, "group": {"share": 0.3}, "warmth": 0.95, "attachment": 0.9},
    {"kind": "reset", "year": 31, "group": {"souls": [5, 3, 5, 140]}},
    {"kind": "policy", "year": 37, "group": {"highest": "warmth", "count": 40}, "effort": 1.5, "steadiness": 0.2},
    {"kind": "shepherds", "year": 45, "group": {"first": 100, "count": 3}},
    {"kind": "complete", "year": 26, "group": {"first": 60, "count": 6}, "spare": "smallest"},
    {"kind": "complete", "year": 52, "group": {"highest": "hbd", "count": 4}},
]


def _twin_cases():
    plain = {"impurity": {"rate": 0.0, "shock_size": 0.2}, "events": EVENTS, "rewire_every": 7}
    dim = {"impurity": {"rate": 0.0, "shock_size": 0.1}, "events": DIM_EVENTS, "rewire_every": 5, "years": 60,
           "light.alpha": 0.8, "souls.count": 600}
    return [
        pytest.param({}, plain, id="defaults"),
        pytest.param({"sparks.unity": {"kind": "uniform", "low": 0.0, "high": 1.0}, "souls.regain": 0.05,
                      "souls.steadiness": 0.3, "network.kind": "random", "network.k": 3,
                      "generations.judge": "lowest", "souls.special_share": 0.1}, plain, id="random-graph"),
        pytest.param({"network.enabled": False, "generations.judge": "random"}, plain, id="no-network"),
        # several blocks of 2,048 souls and a small last one; then souls nearly all complete early
        # (runs with fewer than one open soul in 16), so the kernel's per-soul spark loop runs in
        # years without shocks too (in years 19-26 and 42-59 of this case, checked)
        pytest.param({"souls.count": 4500}, plain, id="4500-souls"),
        pytest.param({"souls.count": 2100, "light.alpha": 3.0}, plain, id="fast-light"),
        pytest.param({}, dim, id="dim-light"),
        pytest.param({"worlds.enabled": False, "generations.judge": "random", "network.k": 5}, dim,
                     id="dim-light-no-worlds"),
        pytest.param({"generations.shepherds": "events", "sparks.inclusion": False}, dim,
                     id="dim-light-shepherds-by-events"),
        # the same at 150 souls: the quickest case with every rule acting (scripts/mutation.py runs it first)
        pytest.param({}, {**dim, "souls.count": 150}, id="dim-light-150-souls"),
    ]


@pytest.mark.parametrize("extra, case", _twin_cases())
def test_engine_matches_naive_year_by_year(extra, case):
    """Every rule on: warm network and rewiring, shocks, judges, eras, shepherds, events, the
    worlds. The twin (tests/naive.py) takes nothing from the engine but the state at the start
    of each year (which it checked at the end of the last): the schedule of every global, the
    four worlds' conductance, the shocks' count, the judge, the graph it rewires itself, the
    events on souls, all from the scenario."""
    from tikkun.scenario import build_scenario
    from tikkun.scenario.schema import GLOBAL_KEYS

    extra = {**extra, **{k: v for k, v in case.items() if "." in k or k == "years"}}
    raw = make_scenario(**extra).model_dump(mode="json", exclude_none=True)
    raw["impurity"] = case["impurity"]
    raw["generations"] = {**raw["generations"], "length": 10, "torah_from": 20, "messiah_from": 40}
    raw["network"] = {**raw["network"], "rewire_every": case["rewire_every"]}
    raw["events"] = case["events"]
    sc = build_scenario(raw)
    if case["events"] is DIM_EVENTS:  # an event on every global key
        assert {e["key"] for e in DIM_EVENTS if "key" in e} == set(GLOBAL_KEYS)
    init, step = build(sc)
    st = init()
    sched = naive.schedule(sc)
    gens, net, seed = sc.generations, sc.network, sc.run.seed
    u = np.full(4, sc.worlds.initial_unity)
    graph = st.neighbours.copy()
    judge_c = 0.0
    assert not st.cleansing.any()
    c_prev = 0.0  # C(-1): no screen before the first year; then the twin's own C of each year
    totals = dict.fromkeys(("greater_desire", "lost_aim", "shocks", "rewired"), 0)
    low_w = 1.0
    for t in range(sc.run.years):
        ref = _as_dict(st)  # the engine's state at the start of the year: the twin's of last year's end
        if t % gens.length == 0:  # shepherds made before the Messiah era step down with their generation
            ref["shepherd"][ref["shepherd"] == 2] = 0
        today = [(i, e) for i, e in enumerate(sc.events)
                 if e.kind in ("shepherds", "complete", "reset", "policy") and e.year == t]
        naive.soul_events(ref, today, seed, t, forever=t >= gens.messiah_from)
        ref["shepherds"] = int((ref["shepherd"] > 0).sum())
        messiah_era = t >= gens.messiah_from
        if t % gens.length == 0:
            judge_c = naive.judge_cleansing(gens.judge, ref["cleansing"], ref["special"], messiah_era, seed, t)
        rewired = 0
        if net.enabled and net.good_and_pure and t > 0 and t % net.rewire_every == 0:
            new = naive.rewire(seed, t, sched["network.p_rewire"][t], graph, ref["cleansing"])
            rewired = int((new != graph).any(axis=1).sum())
            graph = new
        lam = sched["light.light"][t]
        if sc.worlds.enabled:
            u = naive.worlds_year(u, lam, 1.0, sc.worlds.rho)
            W = float(np.prod(u))
        else:
            W = sched["light.conductance"][t]
        low_w = min(low_w, W)
        kappa0 = sched["light.kappa0"][t]
        n_shocks = naive.shocks(seed, t, sched["impurity.rate"][t])

        st, row = step(st)

        want = naive.year(
            ref, seed=seed, t=t, alpha=sched["light.alpha"][t], lam=lam, conductance=W, kappa0=kappa0,
            beta=sched["light.beta"][t], eps=sched["light.eps"][t], phi_s=sched["light.phi_s"][t],
            degrees=sc.sparks.degrees, c_prev=c_prev, practice=sched["light.practice"][t], inclusion=sc.sparks.inclusion,
            n_shocks=n_shocks, shock_size=sched["impurity.shock_size"][t],
            messiah=messiah_era and gens.shepherds == "auto",
            neighbours=graph if net.enabled else None, theta_max=sched["network.theta_max"][t],
            judge_cleansing=judge_c)
        for name in FIELDS + ("warmth", "attachment", "hbd", "regain", "steadiness", "effort0"):
            np.testing.assert_allclose(getattr(st, name), ref[name], rtol=2e-6, atol=1e-7, err_msg=f"{name} year {t}")
        if net.enabled:
            np.testing.assert_array_equal(st.neighbours, graph, err_msg=f"graph year {t}")
            np.testing.assert_allclose(st.edge_weight, naive.edge_weights(graph, ref["warmth"]), rtol=1e-6,
                                       atol=1e-7, err_msg=f"edge weights year {t}")
        for key in ("complete", "holding_aim", "greater_desire", "lost_aim", "shepherds", "stage_spark",
                    "stage_particular", "stage_common", "journey_moses", "journey_joshua", "journey_solomon",
                    "journey_david"):
            assert row[key] == want[key], (key, t)
        assert row["shocks"] == want["shocks"] and row["rewired"] == rewired, t
        assert row["judge_cleansing"] == judge_c
        assert row["era"] == ("messiah" if messiah_era else "torah" if t >= gens.torah_from else "chaos")
        assert row["cleansing_mean"] == pytest.approx(want["cleansing_mean"], rel=1e-6)  # float32 state
        assert row["weakest_link"] == pytest.approx(want["weakest_link"], rel=1e-6, abs=1e-9)
        assert row["effort_mean"] == pytest.approx(want["effort_mean"], rel=1e-6)
        assert row["screen_lost"] == pytest.approx(want["screen_lost"], rel=1e-6, abs=1e-12)
        # the year's globals as reported
        assert row["light"] == lam and row["practice"] == sched["light.practice"][t]
        assert row["shock_rate"] == sched["impurity.rate"][t]
        assert row["conductance"] == pytest.approx(W, rel=1e-12)
        if sc.worlds.enabled:
            got_u = [row["u_atzilut"], row["u_beria"], row["u_yetzira"], row["u_assiya"]]
            np.testing.assert_allclose(got_u, u, rtol=1e-12)
        assert row["holiness"] == pytest.approx(kappa0 + (1 - kappa0) * judge_c, rel=1e-12)
        omega = sched["light.omega"][t]
        illumination = lam * W * ((1 - omega) * want["cleansing_mean"] + omega * want["weakest_link"])
        assert row["illumination_mean"] == pytest.approx(illumination, rel=1e-6, abs=1e-12)
        for key in totals:
            totals[key] += row[key]
        c_prev = want["cleansing_mean"]
    # the comparison is meaningful only if every rule acted
    assert totals["greater_desire"] > 50 and totals["lost_aim"] > 10 and totals["shocks"] > 3
    assert row["complete"] > 1
    if gens.shepherds == "auto" or case["events"] is EVENTS:
        assert row["shepherds"] >= 1
    if net.enabled:
        assert totals["rewired"] > 0
    if case["events"] is DIM_EVENTS:
        assert low_w <= 0.6  # the light's gain really carried a W well below 1
        # the souls completed in year 0 kept their year through the later years' events
        np.testing.assert_array_equal(st.completed_year[[20, 21]], 0)


def test_block_reduction_is_sequential_and_exact():
    rows = np.random.default_rng(0).random((7, yk.N_PARTIALS))
    got = yk.reduce_partials(rows)
    want = rows[0].copy()
    for r in rows[1:]:
        want = want + r
    want[yk.P_WEAKEST] = rows[:, yk.P_WEAKEST].min()
    np.testing.assert_array_equal(got, want)


def test_unity_zero_never_corrects():
    sc = make_scenario(**{"sparks.unity": {"kind": "constant", "value": 0.0}, "years": 30})
    init, step = build(sc)
    st = init()
    for _ in range(30):
        st, row = step(st)
    assert st.screen.max() == 0.0 and row["weakest_link"] == 0.0


def test_end_of_correction_when_every_spark_is_complete():
    sc = make_scenario(**{"light.alpha": 50.0, "souls.count": 50, "run.stop_at_end": True})
    from tikkun.engine import simulate, StopReason

    sim = simulate(sc)
    assert sim.stop_reason is StopReason.END_OF_CORRECTION
    assert sim.end_year == sim.metrics["year"][-1]
    assert (sim.state.screen == sim.state.size).all() and sim.state.complete.all()
    assert sim.metrics["weakest_link"][-1] == 1.0
    assert (sim.metrics["weakest_link"][:-1] < 1.0).all()
    # illumination is full only at the end
    assert sim.metrics["illumination_mean"][-1] == pytest.approx(1.0)


def _random_sparks(seed, n, full_share=0.0):
    """``1 + Poisson(3)`` sparks for each of ``n`` souls with random sizes, unities and screens
    (a share of them complete) and a light per soul: ``(counts, start, size, unity, screen,
    ell)``, float32 where the state is."""
    rs = np.random.default_rng(seed)
    counts = 1 + rs.poisson(3, n)
    start = np.concatenate(([0], np.cumsum(counts)))
    m = int(start[-1])
    size = rs.lognormal(0, 1, m).astype(np.float32)
    unity = rs.random(m).astype(np.float32)
    screen = (size * rs.random(m) ** 3).astype(np.float32)
    if full_share > 0:
        full = rs.random(m) < full_share
        screen[full] = size[full]
    ell = (rs.random(n) * 0.3).astype(np.float32)
    return counts, start, size, unity, screen, ell


def test_flat_and_per_soul_spark_loops_agree_bit_for_bit():
    """The kernel's two spark loops (flat over a block, or soul by soul with shocks and skips)
    must give the same bits, so that which one ran never shows in a result."""
    from tikkun.rules.cleansing import GREATER, OPEN, cleanse_flat, cleanse_sparks, soul_sums

    n = 300
    counts, start, size, unity, screen, ell = _random_sparks(7, n, full_share=0.2)
    m = int(start[-1])
    owner = np.repeat(np.arange(n), counts).astype(np.uint16)

    flat_screen = screen.copy()
    flag = np.empty(m, np.uint8)
    frac = np.empty(m, np.float32)
    level = np.float32(0.37)  # the year's inclusion level C(t-1)
    bits = cleanse_flat(flat_screen, size, unity, level, ell[owner], flag, frac, 10)
    total = np.zeros(n)
    flags = np.zeros(n, np.uint8)
    soul_sums(flat_screen, flag, owner, total, flags)

    soul_screen = screen.copy()
    weakest = 1.0
    for i in range(n):
        tot, mf, greater, done, lost = cleanse_sparks(soul_screen, size, unity, level, start[i], start[i + 1], ell[i],
                                                      1.0, 10)
        assert tot == total[i] and lost == 0.0
        assert done == (flags[i] & OPEN == 0) and greater == bool(flags[i] & GREATER)
        weakest = min(weakest, mf)
    np.testing.assert_array_equal(flat_screen, soul_screen)
    assert np.array([bits], np.int32).view(np.float32)[0] == weakest
    # the case is not trivial: some souls complete, some cross a degree, some neither
    assert 0 < (flags & OPEN == 0).sum() < n and 0 < (flags & GREATER != 0).sum() < n


_NO_AVX512 = "AVX-512 not on this processor, or off (TIKKUN_PORTABLE=1): the souls' sums take every spark"
_NO_BW = "AVX-512 BW not on this processor, or off (TIKKUN_PORTABLE=1): the souls' sums go spark by spark"
_NO_AVX2 = "AVX2 not on this processor, or off (TIKKUN_PORTABLE=1): the souls' sums go spark by spark"


@pytest.mark.parametrize("mode", [
    "every spark",
    pytest.param("open only", marks=pytest.mark.skipif(not gather.AVX512, reason=_NO_AVX512)),
    "by eight",  # every soul by the one-by-one twin where the processor lacks the vector form
])
@pytest.mark.parametrize("first, last", [(0, 2100), (37, 1500), (1999, 2100)])
def test_flat_sparks_chunk_by_chunk_give_the_whole_run(first, last, mode):
    """The kernel's flat spark loop goes chunk by chunk of ``SPARK_CHUNK`` sparks, cutting souls
    at chunk ends: screens, each soul's sum and flags, and the smallest fraction must be bit for
    bit those of :func:`cleanse_flat` and :func:`soul_sums` over the whole run at once, and no
    spark outside the run may change. With ``open only`` the complete souls (every screen at its
    size, their light marked by its sign, 0.0 among them) are left out of the sums: their
    screens, flags and the smallest fraction must still be the same, and their sums zero.
    ``by eight``: the sums are made after the run (:func:`sums_by_eight`), complete souls given
    0.0 and no flag, the same way."""
    open_only = mode == "open only"
    from tikkun.rules.cleansing import cleanse_flat, soul_sums

    n = 2100
    counts, start, size, unity, screen, ell = _random_sparks(11, n)
    complete = np.zeros(n, bool)
    if mode != "every spark":
        complete = np.random.default_rng(12).random(n) < 0.7
        for i in np.nonzero(complete)[0]:
            screen[start[i]:start[i + 1]] = size[start[i]:start[i + 1]]
        ell[np.nonzero(complete)[0][::5]] = 0.0  # -0.0 once marked: still a complete soul's
        ell[np.nonzero(~complete)[0][::7]] = 0.0  # +0.0: an open soul's (one that lost its aim)
    jlo, jhi = int(start[first]), int(start[last])
    assert (jhi - jlo) % yk.SPARK_CHUNK != 0 and jhi - jlo > 2 * yk.SPARK_CHUNK
    # souls counted from the run's first soul, as within a block
    owner = (np.repeat(np.arange(n), counts)[jlo:jhi] - first).astype(np.uint16)
    ell_run = ell[first:last].copy()

    whole = screen.copy()
    flag = np.empty(jhi - jlo, np.uint8)
    frac = np.empty(jhi - jlo, np.float32)
    level = np.float32(0.21)
    want_bits = cleanse_flat(whole[jlo:jhi], size[jlo:jhi], unity[jlo:jhi], level, ell_run[owner], flag, frac, 10)
    want_total, want_flags = np.zeros(last - first), np.zeros(last - first, np.uint8)
    soul_sums(whole[jlo:jhi], flag, owner, want_total, want_flags)

    chunked = screen.copy()
    total, flags = np.zeros(last - first), np.zeros(last - first, np.uint8)
    scratch = (np.empty(yk.SPARK_CHUNK, np.float32), np.empty(yk.SPARK_CHUNK, np.uint8),
               np.empty(yk.SPARK_CHUNK, np.float32))
    marked = np.where(complete[first:last], -ell_run, ell_run).astype(np.float32)
    by_eight = mode == "by eight"
    run_flag = np.full(jhi - jlo, 0xFF, np.uint8)
    bits = yk.flat_sparks(chunked, size, unity, level, owner, marked if open_only else ell_run, total, flags, *scratch,
                          jlo, jhi, 10, np.empty(yk.SPARK_CHUNK + 8, np.int32), open_only, run_flag, by_eight)
    if by_eight:
        assert (total == 0.0).all() and (flags == 0).all()  # nothing summed yet
        total[:], flags[:] = np.nan, 0xFF  # the sums by eight write every soul's: no zeros needed
        _sums_by_eight(chunked, run_flag, jlo, jhi, start.astype(np.int64), complete.astype(np.uint8), total, flags,
                       first, 0, last - first)

    assert chunked.tobytes() == whole.tobytes()
    assert (chunked[:jlo] == screen[:jlo]).all() and (chunked[jhi:] == screen[jhi:]).all()
    done = complete[first:last]
    assert total[~done].tobytes() == want_total[~done].tobytes() and (total[done] == 0.0).all()
    assert (flags == want_flags).all()
    assert bits == want_bits
    # souls cut by a chunk's end exist, and some sparks grew
    assert set(range(jlo + yk.SPARK_CHUNK, jhi, yk.SPARK_CHUNK)) - set(start.tolist())
    assert (chunked[jlo:jhi] > screen[jlo:jhi]).any()
    if open_only:  # complete and open souls both present, and complete souls with sums to skip
        assert 0 < done.sum() < done.size and (want_total[done] > 0).all()


@njit
def _sums_by_eight(screen, run_flag, jlo, jhi, spark_start, complete, total, flags, lo, r0, r1):
    yk.sums_by_eight(screen, run_flag, jlo, jhi, spark_start, complete, total, flags, lo, r0, r1)


@njit
def _sums_of_eight(screen, run_flag, jlo, spark_start, complete, total, flags, i, t):
    gather.sums_of_eight(screen, run_flag, jlo, spark_start, complete, total, flags, i, t)


@njit
def _sums_of_eight_gathered(screen, run_flag, jlo, spark_start, complete, total, flags, i, t):
    gather.sums_of_eight_gathered(screen, run_flag, jlo, spark_start, complete, total, flags, i, t)


@njit
def _souls_sums(screen, run_flag, jlo, spark_start, complete, total, flags, i, t, count):
    yk.souls_sums(screen, run_flag, jlo, spark_start, complete, total, flags, i, t, count)


def _sums_in_numpy(screen, run_flag, jlo, spark_start, complete, i, count):
    """Each soul's screens added in spark order from 0.0 in float64 (Python floats), its flags
    OR-ed; 0.0 and 0 for a complete soul."""
    total, flags = np.zeros(count), np.zeros(count, np.uint8)
    for k in range(count):
        if not complete[i + k]:
            for j in range(spark_start[i + k], spark_start[i + k + 1]):
                total[k] += float(screen[j])
                flags[k] |= run_flag[j - jlo]
    return total, flags


def test_souls_sums_one_by_one_are_the_sums_in_spark_order():
    """The scalar twin of the sums eight at a time, against NumPy, with complete souls, souls of
    one spark and of many, and screens of very different sizes (so that the order of the
    additions shows in the bits)."""
    rs = np.random.default_rng(31)
    counts = rs.integers(1, 14, 200)
    start = np.r_[0, np.cumsum(counts)].astype(np.int64)
    m = int(start[-1])
    screen = (rs.random(m) * 10.0 ** rs.integers(-9, 2, m)).astype(np.float32)
    jlo = 5
    run_flag = rs.integers(0, 4, m).astype(np.uint8)
    complete = (rs.random(200) < 0.3).astype(np.uint8)
    total, flags = np.full(200, np.nan), np.full(200, 9, np.uint8)
    _souls_sums(screen, run_flag, jlo, start, complete, total, flags, 3, 0, 190)
    want_total, want_flags = _sums_in_numpy(screen, run_flag, jlo, start, complete, 3, 190)
    assert total[:190].tobytes() == want_total.tobytes() and (flags[:190] == want_flags).all()
    assert np.isnan(total[190:]).all()  # nothing past the souls asked for


@pytest.mark.parametrize("form", [
    pytest.param(_sums_of_eight, marks=pytest.mark.skipif(not gather.AVX512_BW, reason=_NO_BW), id="permuted"),
    pytest.param(_sums_of_eight_gathered, marks=pytest.mark.skipif(not gather.HARDWARE, reason=_NO_AVX2),
                 id="gathered"),
])
def test_the_sums_of_eight_souls_are_their_sums_in_spark_order(form):
    """The vector forms (a lane a soul, rank by rank, the ranks picked by permutations from 64
    sparks with AVX-512 BW, or gathered with AVX2) against NumPy's sums in spark order, bit for
    bit: groups of 8 to 64 sparks, souls of one spark, of up to 57 and of 9 to 12 beside seven
    small ones, complete souls (0.0 and no flag, however many sparks), all eight complete, a
    group not at the arrays' start; and nothing written outside the eight souls."""
    rs = np.random.default_rng(32)
    shapes = [np.ones(8, int), np.full(8, 8), np.r_[57, np.ones(7, int)], np.r_[np.ones(7, int), 57]]
    shapes += [rs.integers(1, 9, 8) for _ in range(300)]
    # groups whose largest soul has 9 to 12 sparks, more ranks than most groups have
    shapes += [np.r_[9, np.ones(7, int)]]
    shapes += [rs.permutation(np.r_[rs.integers(9, 13), rs.integers(1, 8, 7)]) for _ in range(100)]
    for case, counts in enumerate(shapes):
        lead = int(rs.integers(0, 5))  # souls before the group
        counts = np.r_[rs.integers(1, 5, lead), counts, rs.integers(1, 5, 3)]
        start = np.r_[0, np.cumsum(counts)].astype(np.int64)
        m = int(start[-1]) + 64  # 64 values readable from the group's first spark
        screen = (rs.random(m) * 10.0 ** rs.integers(-9, 2, m)).astype(np.float32)
        jlo = int(rs.integers(0, start[lead] + 1))
        run_flag = rs.integers(0, 4, m - jlo).astype(np.uint8)
        complete = (rs.random(counts.size) < (1.0 if case == 1 else 0.3)).astype(np.uint8)
        total, flags = np.full(20, np.nan), np.full(20, 9, np.uint8)
        form(screen, run_flag, jlo, start, complete, total, flags, lead, 4)
        want_total, want_flags = _sums_in_numpy(screen, run_flag, jlo, start, complete, lead, 8)
        assert total[4:12].tobytes() == want_total.tobytes(), case
        assert (flags[4:12] == want_flags).all(), case
        assert np.isnan(total[:4]).all() and np.isnan(total[12:]).all() and (flags[:4] == 9).all()


@pytest.mark.parametrize("messiah", [False, True])
def test_settled_segments_give_what_the_loops_give(messiah):
    """Late in a history most segments of souls are settled (complete, holding aim) and the
    kernel passes them by (``_settled_souls``) instead of running their draws, light and sparks:
    the state and every block sum must be bit for bit what the three loops give them."""
    from tikkun.scenario import build_scenario

    raw = make_scenario(**{"souls.count": 4500, "light.alpha": 0.8, "years": 400}).model_dump(mode="json",
                                                                                           exclude_none=True)
    raw["impurity"] = {"rate": 0.0, "shock_size": 0.2}
    init, step = build(build_scenario(raw))
    st = init()
    while st.complete.mean() < 0.97 and st.year < 399:
        st, _ = step(st)
    
    # a few souls lose their aim or are not complete, so segments of both kinds sit in one block
    st.holding[::997] = 0
    # efforts of very different sizes, so that adding them in another order would change the sums
    st.effort[:] = np.random.default_rng(5).lognormal(0.0, 6.0, st.n_souls).astype(np.float32)
    seg = yk.SEGMENT
    kinds = [yk._settled(st.complete[s:s + seg], st.holding[s:s + seg], st.cleansing[s:s + seg])
             for s in range(0, st.n_souls, seg)]
    assert 0 < sum(kinds) < len(kinds)
    owner = yk.spark_owners(st.spark_start)
    nb = yk.n_blocks(st.n_souls)
    out = []
    found = np.zeros(nb, np.uint64)
    # every soul through the loops; segments looked for; segments known from that look (with
    # the look itself off, so the known ones split the block into runs)
    for look, known in ((np.zeros(nb, np.uint8), None), (np.ones(nb, np.uint8), None), (np.zeros(nb, np.uint8), found)):
        s = {k: v.copy() for k, v in st.arrays().items()}
        partials = np.empty((nb, yk.N_PARTIALS))
        now = np.empty(nb, np.uint64)
        yk.year_pass(3, st.year, 0.05, 1.0, np.float32(st.cleansing_mean), 0.1, 0.01, 10, 0, 0.0, messiah, s["effort"], s["attachment"], s["hbd"],
                     s["steadiness"], s["regain"], s["holding"], s["shepherd"], s["complete"], s["cleansing"],
                     s["size_total"], s["spark_start"], owner, s["size"], s["unity"], s["screen"], look,
                     yk.block_sums(s["effort"]), np.zeros(nb, np.uint64) if known is None else known, now, partials)
        if known is None and look.any():
            found[:] = now
        out.append((s, partials))
    assert found.any() and not found.all()
    (loops, p_loops), *others = out
    for passed, p_passed in others:
        np.testing.assert_array_equal(p_loops.view(np.int64), p_passed.view(np.int64))
        for k in loops:
            np.testing.assert_array_equal(loops[k].view(np.uint8), passed[k].view(np.uint8), err_msg=k)
    if messiah:  # complete souls became shepherds on either way
        assert loops["shepherd"][loops["complete"] == 1].all()


def test_where_settled_souls_are_looked_for():
    """Blocks are looked at when at most one soul a segment was unsettled last year (counted
    against the block's own size: the last block is smaller), and everywhere without last
    year's sums (the first year, a resume)."""
    n = 3 * yk.BLOCK - 100
    assert yk.may_hold_settled(None, n).tolist() == [1, 1, 1]
    partials = np.zeros((3, yk.N_PARTIALS))
    few = yk.BLOCK // yk.SEGMENT
    partials[0, [yk.P_COMPLETE, yk.P_HOLDING]] = [yk.BLOCK - few, yk.BLOCK]      # few unsettled
    partials[1, [yk.P_COMPLETE, yk.P_HOLDING]] = [yk.BLOCK - few, yk.BLOCK - 1]  # one too many
    partials[2, [yk.P_COMPLETE, yk.P_HOLDING]] = [yk.BLOCK - 100, yk.BLOCK - 100]  # all settled
    assert yk.may_hold_settled(partials, n).tolist() == [1, 0, 1]


def test_segments_remembered_settled_change_nothing():
    """The step remembers the segments it found settled and does not look at them again the
    next year. With shocks (which unsettle souls) and a reset of souls late in the run, every
    metric and the final state are bit for bit those of a run that looks everywhere every
    year (each year handed a copy of the state: new arrays, nothing remembered)."""
    from tikkun.scenario import build_scenario

    raw = make_scenario(**{"souls.count": 4500, "light.alpha": 0.8, "years": 320}).model_dump(mode="json",
                                                                                           exclude_none=True)
    raw["impurity"] = {"rate": 0.0, "shock_size": 0.2}
    raw["events"] = [{"kind": "set", "year": 150, "key": "impurity.rate", "value": 0.02},
                     {"kind": "reset", "year": 260, "group": {"souls": list(range(0, 4500, 7))}, "hbd": 0.3}]
    init, step = build(build_scenario(raw))
    runs = []
    for copy_each_year in (False, True):
        st, rows, remembered = init(), [], {}
        for _ in range(320):
            if copy_each_year:
                st = st.replace(**{k: v.copy() for k, v in st.arrays().items()})
            last = step.kept.get("settled")
            remembered[st.year] = 0 if copy_each_year or last is None else int(np.count_nonzero(last[0]))
            st, row = step(st)
            rows.append(row)
        runs.append((st, rows, remembered))
    (a, rows_a, remembered), (b, rows_b, _) = runs
    shock_years = [r["year"] for r in rows_a if r["shocks"] > 0]
    assert shock_years
    # segments were remembered just before the reset and before a year with shocks: the cases
    # in which the memory must not be trusted were met
    assert remembered[260] > 0 and any(remembered[t] > 0 for t in shock_years)
    assert repr(rows_a) == repr(rows_b)  # repr: exact digits, and -0.0 is not 0.0
    for k, v in a.arrays().items():
        np.testing.assert_array_equal(v.view(np.uint8), b.arrays()[k].view(np.uint8), err_msg=k)


def test_each_spark_gets_its_souls_light():
    """The sparks' light, spread eight at a time where it can be, one by one elsewhere, must be
    exactly ``ell[owner]``: with every soul holding sparks (eight at a time throughout), with
    souls holding none (eight sparks whose souls span more than eight must go one by one), near
    the end of the souls' light, and for lengths that are not multiples of eight."""
    rs = np.random.default_rng(5)
    n = 300
    ell = rs.random(n).astype(np.float32)
    for counts in (1 + rs.poisson(3, n), rs.poisson(1, n), np.r_[np.zeros(n - 3, int), 40, 1, 60]):
        owner = np.repeat(np.arange(n), counts).astype(np.uint16)
        for w in (owner.size, owner.size - 5, min(owner.size, 13), min(owner.size, 7)):
            out = np.full(w, np.nan, np.float32)
            yk.spread_light(ell, owner, w, out)
            assert out.tobytes() == ell[owner[:w]].tobytes()


@pytest.mark.skipif(not gather.AVX512, reason="AVX-512 not on this processor, or off (TIKKUN_PORTABLE=1): the souls' sums take every spark")
def test_the_sparks_of_open_souls_are_listed_in_order():
    """Eight at a time and in a chunk's tail: the positions of the sparks whose light has its
    sign clear (an open soul's, 0.0 included), in order, and every light's sign cleared (a
    complete soul's, -0.0 included)."""
    rs = np.random.default_rng(8)
    for w in (21, 16, 5, 0):  # lanes 0-15 go eight at a time, 16-20 one by one
        light = (rs.random(w) + 0.1).astype(np.float32)
        light[rs.random(w) < 0.5] *= -1  # complete souls' sparks
        for q, zero in ((1, 0.0), (2, -0.0), (17, 0.0), (18, -0.0)):  # both zeros on both paths
            if q < w:
                light[q] = zero
        want = np.nonzero(~np.signbit(light))[0]
        idx = np.full(yk.SPARK_CHUNK + 8, -1, np.int32)
        out = light.copy()
        k = yk._sparks_of_open_souls(out, w, idx)
        assert k == want.size and (idx[:k] == want).all()
        assert out.tobytes() == np.abs(light).tobytes()


@pytest.mark.skipif(not gather.HARDWARE, reason="AVX2 not on this processor, or off (TIKKUN_PORTABLE=1): the sparks' light goes one by one")
def test_the_light_of_eight_sparks_is_their_souls_light():
    """The vector form (one load of eight souls' light, one permutation) against indexing, for
    every arrangement of eight sparks over at most eight consecutive souls that a block has."""
    @njit
    def light_of_eight(ell, owner, out):
        gather.light_of_eight(ell, owner, np.uint64(0), out)

    rs = np.random.default_rng(6)
    ell = rs.random(64).astype(np.float32)
    for _ in range(500):
        steps = rs.integers(0, 2, 7)  # each next spark: the same soul or the next one
        owner = (rs.integers(0, 50) + np.r_[0, np.cumsum(steps)]).astype(np.uint16)
        out = np.full(8, np.nan, np.float32)
        light_of_eight(ell, owner, out)
        assert out.tobytes() == ell[owner].tobytes()


@njit
def _souls_before(key_aim, lo, gain, effort, attachment, hbd, regain, holding, complete, cleansing, ell, keep, hold,
                  soul_key):
    return yk._souls_before(key_aim, np.uint64(0), gain, 1.0, 0.01, 0.0, 0, 0.0, lo, effort, attachment, hbd,
                            regain, holding, complete, cleansing, ell, keep, hold, soul_key)


@njit
def _souls_after(keys_made, key_aim, lo, soul_key, total, flags, hold, size_total, steadiness, holding, complete,
                 cleansing, shepherd, c_stored):
    return yk._souls_after_either(keys_made, key_aim, lo, soul_key, False, 10, total, flags, hold, size_total,
                                  steadiness, holding, complete, cleansing, shepherd, c_stored)


@njit
def _entity_keys(key, lo, n):
    out = np.empty(n, np.uint64)
    for t in range(n):
        out[t] = rng.entity_key(key, lo + t)
    return out


@pytest.mark.parametrize("missing", [0, 1, 2, 150])
def test_the_aim_is_drawn_for_at_the_years_start_exactly_by_the_souls_without_it(missing):
    """Pass 1 makes the regain draw (000) only for souls without the aim where they are few (at
    most one in ``SPARSE_DRAWS``: 0, 1 or 2 of 300), and for every soul where they are many
    (150): either way each soul's aim and light are those of its own draw,
    ``uniform(seed, year, soul, PURPOSE_AIM, 0) < r_i``, made here by the twin's ``uniforms``
    (tests/naive.py), and the count of open souls is the same."""
    n, lo, seed, year = 300, 4096, 20, 77
    g = np.random.default_rng(missing)
    holding = np.ones(n, np.uint8)
    holding[g.choice(n, missing, replace=False)] = 0
    effort, hbd, cleansing = (g.random(n).astype(np.float32) for _ in range(3))
    regain = np.full(n, 0.5, np.float32)
    complete = (g.random(n) < 0.2).astype(np.uint8)
    ell, keep, hold = np.empty(n + 8, np.float32), np.empty(n), np.empty(n, np.uint8)
    soul_key = np.zeros(n, np.uint64)
    key = np.uint64(rng.year_key(seed, year, rng.PURPOSE_AIM))  # uint64, as the kernel has it
    n_open, n_lost, every = _souls_before(key, lo, 0.7, effort, effort, hbd, regain, holding, complete, cleansing,
                                          ell[:n], keep, hold, soul_key)
    u = naive.uniforms(seed, year, np.arange(lo, lo + n), 8, 0)  # purpose 8: the aim's draws
    want = np.where(holding == 1, 1, (u < regain).astype(np.uint8))
    np.testing.assert_array_equal(hold, want)
    # the light as the twin makes it (gain 0.7, P = 1, eps = 0.01, no shepherd), in float64
    own = 1.0 * (effort.astype(np.float64) * (0.01 + cleansing.astype(np.float64)))
    light = 0.7 * hbd.astype(np.float64) * (np.where(want == 1, own, 0.0) + 0.0)
    np.testing.assert_array_equal(ell[:n], light.astype(np.float32))
    assert (n_open, n_lost) == (n - complete.sum(), 0)
    assert every == (missing * yk.SPARSE_DRAWS > n)
    if every:  # the hashes a greater desire's draw shares
        np.testing.assert_array_equal(soul_key, _entity_keys(key, lo, n))
    if missing > 100:
        assert 0 < (want[holding == 0]).sum() < missing  # some caught the aim, some did not


@pytest.mark.parametrize("greater", [0, 1, 3, 120])
@pytest.mark.parametrize("keys_made", [False, True])
def test_a_greater_desire_draws_for_the_aim_exactly_where_it_comes(greater, keys_made):
    """Pass 3's draw of keeping the aim on a greater desire (000): with the draws in its loop
    (pass 1 made every soul's hash) or after it, one by one (few greater desires: 0, 1 or 3 of
    300) or for every soul (120), a holding soul with a greater desire keeps the aim exactly when
    ``uniform(seed, year, soul, PURPOSE_AIM, 1) >= 1 - p_i``; the others keep what they had,
    and the counts of holding souls and of losses agree."""
    n, lo, seed, year = 300, 2048, 21, 140
    g = np.random.default_rng(greater)
    flags = np.full(n, OPEN, np.uint8)
    got_one = np.zeros(n, bool)
    got_one[g.choice(n, greater, replace=False)] = True
    flags[got_one] |= GREATER
    hold = (g.random(n) < 0.9).astype(np.uint8)
    steadiness = np.full(n, 0.3, np.float32)
    size_total = 1.0 + g.random(n)
    total = 0.5 * size_total
    key = np.uint64(rng.year_key(seed, year, rng.PURPOSE_AIM))  # uint64, as the kernel has it
    soul_key = _entity_keys(key, lo, n) if keys_made else np.zeros(n, np.uint64)
    holding, complete = np.empty(n, np.uint8), np.empty(n, np.uint8)
    cleansing, shepherd, c_stored = np.empty(n, np.float32), np.zeros(n, np.uint8), np.empty(n)
    counts = _souls_after(keys_made, key, lo, soul_key, total, flags, hold, size_total, steadiness, holding, complete,
                          cleansing, shepherd, c_stored)
    u = naive.uniforms(seed, year, np.arange(lo, lo + n), 8, 1)
    lose = got_one & (hold == 1) & (u < 1.0 - steadiness.astype(np.float64))
    want = np.where(lose, 0, hold).astype(np.uint8)
    np.testing.assert_array_equal(holding, want)
    n_holding, n_greater, n_lost = counts[1], counts[2], counts[3]
    assert (n_holding, n_greater, n_lost) == (want.sum(), greater, lose.sum())
    if greater >= 3:
        assert 0 < lose.sum() < got_one.sum()  # some kept the aim, some lost it
