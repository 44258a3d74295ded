"""Each rule of MODEL.md phase 2 against numbers worked out by hand from its formula.

Small and fast on purpose: they are the first tests the mutation run (scripts/mutation.py)
meets, so that a mutant of a rule dies in a second."""

import math

import numpy as np
import pytest

from tikkun.rules import aim, cleansing, generations, illumination, impurity, inclusion, light, practice
from tikkun.rules import shepherds, stages, worlds


# ----------------------------------------------------------------- illumination (omega)
def test_illumination_shares_between_own_cleansing_and_the_weakest_link():
    """I = lam W ((1 - omega) c + omega G) where G < 1 and C < 1; by hand for lam = 0.9,
    W = 0.5, G = 0.4: omega = 0.3 gives 0.45 (0.7 c + 0.12)."""
    c = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    got = illumination.illumination(0.9, 0.5, 0.3, c, 0.4)
    np.testing.assert_allclose(got, [0.054, 0.2115, 0.369], rtol=1e-12)
    # omega = 0: own cleansing alone; omega = 1: the weakest link alone, every soul alike
    np.testing.assert_allclose(illumination.illumination(0.9, 0.5, 0.0, c, 0.4), [0.0, 0.225, 0.45], rtol=1e-12)
    np.testing.assert_allclose(illumination.illumination(0.9, 0.5, 1.0, c, 0.4), [0.18, 0.18, 0.18], rtol=1e-12)
    # the mean needs only C: (0 + 0.5 + 1) / 3 = 0.5 -> 0.45 (0.35 + 0.12) = 0.2115
    assert illumination.illumination_mean(0.9, 0.5, 0.3, 0.5, 0.4) == pytest.approx(0.2115, rel=1e-12)
    # a complete soul short of full by omega (1 - G) while a spark anywhere is open (002)
    assert got[2] == pytest.approx(0.9 * 0.5 * (1 - 0.3 * (1 - 0.4)), rel=1e-12)


# ----------------------------------------------------------------- labels
# cleansing, complete -> stage, journey (L = 10 degrees); thresholds 1/10 (one degree), 1/3,
# 2/3, complete. float32 2/3 is 0.66666669 > 2/3, so it is Solomon's; the float32 just below
# it is Joshua's.
TWO_THIRDS_32 = float(np.float32(2 / 3))
BELOW_TWO_THIRDS_32 = float(np.nextafter(np.float32(2 / 3), np.float32(0)))
LABELS = [
    (0.0, False, "spark", "moses"),
    (0.099, False, "spark", "moses"),
    (0.1, False, "particular", "moses"),
    (0.3333, False, "particular", "moses"),
    (0.3334, False, "particular", "joshua"),
    (0.5, False, "particular", "joshua"),
    (BELOW_TWO_THIRDS_32, False, "particular", "joshua"),
    (TWO_THIRDS_32, False, "particular", "solomon"),
    (0.9, False, "particular", "solomon"),
    (0.99999, False, "particular", "solomon"),
    (1.0, True, "common", "david"),
    (0.05, True, "common", "david"),  # complete is what counts, not the number
]


def test_stage_and_journey_of_each_soul():
    c = np.array([r[0] for r in LABELS], dtype=np.float32)
    done = np.array([r[1] for r in LABELS], dtype=np.uint8)
    assert list(stages.stages(c, done, 10)) == [r[2] for r in LABELS]
    assert list(stages.journeys(c, done)) == [r[3] for r in LABELS]
    # the compiled labels the yearly pass counts give the same names
    for x, complete, stage, journey in LABELS:
        x64 = float(np.float32(x))
        assert stages.STAGES[stages.stage_of(x64, complete, 10)] == stage
        assert stages.JOURNEYS[stages.journey_of(x64, complete)] == journey


def test_labels_at_their_thresholds_exactly():
    """At exactly 1/3 a soul is Joshua's, at exactly 2/3 Solomon's ("below 1/3", "below 2/3"),
    and at exactly one degree (L c = 1) particular: thresholds met in float64 (no float32 is
    1/3 or 2/3; 0.25 with L = 4 is one degree exactly)."""
    c = np.array([1 / 3, 2 / 3, np.nextafter(1 / 3, 0), np.nextafter(2 / 3, 0)])
    assert list(stages.journeys(c, np.zeros(4, np.uint8))) == ["joshua", "solomon", "moses", "joshua"]
    assert [stages.journey_of(x, False) for x in c] == [1, 2, 0, 1]
    assert list(stages.stages(np.array([0.25, np.nextafter(0.25, 0)]), np.zeros(2, np.uint8), 4)) == [
        "particular", "spark"]


def test_stage_follows_the_degrees():
    """One degree is 1 / L of cleansing: with L = 4 a soul at 0.2 is still a spark, at 0.25 not."""
    c = np.array([0.2, 0.25], dtype=np.float32)
    assert list(stages.stages(c, np.zeros(2, np.uint8), 4)) == ["spark", "particular"]
    assert stages.stage_of(0.2, False, 4) == 0 and stages.stage_of(0.25, False, 4) == 1


# ----------------------------------------------------------------- light
def test_gain_holiness_and_a_souls_light_by_hand():
    # J = kappa0 + (1 - kappa0) c_judge = 0.5 + 0.5 * 0.6 = 0.8
    assert light.holiness(0.5, 0.6) == pytest.approx(0.8, rel=1e-15)
    assert light.holiness(0.2, 0.0) == 0.2 and light.holiness(0.2, 1.0) == pytest.approx(1.0)
    # alpha lam W J (1 + beta C) = 0.2 * 0.8 * 0.5 * 0.8 * (1 + 2 * 0.25) = 0.096
    assert light.light_gain(0.2, 0.8, 0.5, 0.8, 2.0, 0.25) == pytest.approx(0.096, rel=1e-14)
    # ell = gain h (hold P e (eps + c) + phi_s shepherd) = 0.1 * 1.5 * (0.5 * 2 * (0.01 + 0.3) + 0.25)
    assert light.corrective_light(0.1, 1.5, 1, 0.5, 2.0, 0.3, 0.01, 0.25) == pytest.approx(0.084, rel=1e-14)
    # without aim only the shepherds' light: 0.1 * 1.5 * 0.25
    assert light.corrective_light(0.1, 1.5, 0, 0.5, 2.0, 0.3, 0.01, 0.25) == pytest.approx(0.0375, rel=1e-14)
    assert practice.own_light(0.5, 2.0, 0.3, 0.01) == pytest.approx(0.31, rel=1e-14)
    # one shepherd is enough (002, "Moses is equal to 600,000")
    assert shepherds.shepherd_light(0.25, 0) == 0.0 and shepherds.shepherd_light(0.25, 1) == 0.25
    assert shepherds.shepherd_light(0.25, 3) == 0.25


# ----------------------------------------------------------------- sparks
def test_a_spark_grows_by_its_included_unity_up_to_its_size():
    f = np.float32
    # u = iota + (1 - iota) C = 0.25 + 0.75 * 0.4 = 0.55; s = 1 + 0.55 * 2 = 2.1 (D = 3)
    assert inclusion.included_unity(f(0.25), f(0.4)) == pytest.approx(0.55, rel=1e-6)
    assert cleansing.grow(f(1.0), f(3.0), f(0.25), f(0.4), f(2.0)) == pytest.approx(2.1, rel=1e-6)
    assert cleansing.grow(f(1.0), f(3.0), f(0.25), f(0.4), f(20.0)) == f(3.0)  # capped at D
    assert inclusion.inclusion_level(True, 0.4) == f(0.4) and inclusion.inclusion_level(False, 0.4) == 0.0
    # degree floor(L s / D): 10 * 2.1 / 3 = 7
    assert cleansing.degree(f(2.1), f(3.0), 10) == 7.0 and cleansing.degree(f(0.0), f(3.0), 10) == 0.0
    # c = sum s / sum D, exactly 1 when complete, never above 1
    assert cleansing.soul_cleansing(1.5, 6.0, False) == 0.25
    assert cleansing.soul_cleansing(5.9, 6.0, True) == 1.0
    assert cleansing.soul_cleansing(6.2, 6.0, False) == 1.0


def test_cleanse_sparks_by_hand():
    """Two sparks of one soul, D = (2, 4), iota = (0.5, 1), C = 0, ell = 1, after shocks that
    keep 0.5 of each screen: s = (1, 2) -> (0.5, 1) -> (1.0, 2.0); degrees (L = 10) 5 -> 2 -> 5
    and 5 -> 2 -> 5: a greater desire; lost 0.5 + 1 = 1.5."""
    f = np.float32
    screen = np.array([1.0, 2.0], dtype=np.float32)
    size = np.array([2.0, 4.0], dtype=np.float32)
    unity = np.array([0.5, 1.0], dtype=np.float32)
    total, min_frac, greater, complete, lost = cleansing.cleanse_sparks(screen, size, unity, f(0.0), 0, 2, f(1.0),
                                                                        0.5, 10)
    np.testing.assert_array_equal(screen, [1.0, 2.0])
    assert total == 3.0 and min_frac == 0.5 and greater and not complete and lost == 1.5
    # enough light completes both: no greater desire at completion
    total, min_frac, greater, complete, lost = cleansing.cleanse_sparks(screen, size, unity, f(0.0), 0, 2, f(10.0),
                                                                        1.0, 10)
    assert total == 6.0 and min_frac == 1.0 and not greater and complete and lost == 0.0


def test_flat_cleansing_by_hand():
    f = np.float32
    screen = np.array([0.0, 1.0, 3.0], dtype=np.float32)
    size = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    unity = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    ell = np.array([1.0, 0.5, 1.0], dtype=np.float32)
    flag = np.empty(3, np.uint8)
    frac = np.empty(3, np.float32)
    # C = 0.5: u = (0.5, 0.75, 1); s = (0.5, 1.375, 3)
    bits = cleansing.cleanse_flat(screen, size, unity, f(0.5), ell, flag, frac, 4)
    np.testing.assert_allclose(screen, [0.5, 1.375, 3.0], rtol=1e-7)
    # degrees (L = 4): 0 -> 2 (greater), 2 -> 2, complete; flags OPEN | GREATER, OPEN, 0
    assert flag.tolist() == [3, 1, 0]
    assert np.array([bits], np.int32).view(np.float32)[0] == f(0.5)
    total, flags = np.zeros(2), np.zeros(2, np.uint8)
    cleansing.soul_sums(screen, flag, np.array([0, 1, 1], np.uint16), total, flags)
    assert total.tolist() == [0.5, 4.375] and flags.tolist() == [3, 1]


# ----------------------------------------------------------------- aim, shocks
def test_aim_truth_tables():
    assert aim.regain_aim(1, 0.0, 0.99) == 1  # holding stays holding
    assert aim.regain_aim(0, 0.3, 0.29) == 1 and aim.regain_aim(0, 0.3, 0.3) == 0
    assert aim.keep_aim(1, 0.3, 0.29) == 0 and aim.keep_aim(1, 0.3, 0.3) == 1
    assert aim.keep_aim(0, 1.0, 0.0) == 0  # a soul without aim cannot lose it


def test_shock_keep_closed_form():
    # (1 - K (1 - a))^N = (1 - 0.2 * 0.75)^3 = 0.85^3
    assert impurity.shock_keep(0.2, 0.25, False, 3) == pytest.approx(0.85 ** 3, rel=1e-15)
    assert impurity.shock_keep(0.2, 0.25, True, 3) == 1.0  # complete: beyond the shocks
    assert impurity.shock_keep(0.2, 1.0, False, 5) == 1.0  # full attachment protects
    assert impurity.shock_keep(1.0, 0.0, False, 1) == 0.0
    assert impurity.shock_keep(0.2, 0.25, False, 0) == 1.0


@pytest.mark.parametrize("rate", [0.05, 0.7, 3.0])
def test_shock_count_is_the_poisson_quantile_of_the_years_uniform(rate):
    """Poisson(rate) by inverting the CDF at the generator's uniform (purpose 9): against the
    CDF summed here term by term, and zero for rate 0."""
    import naive

    for t in range(40):
        u = naive.uniform(20, t, 0, 9, 0)
        k, cdf, term = 0, math.exp(-rate), math.exp(-rate)
        while u >= cdf:
            k += 1
            term *= rate / k
            cdf += term
        assert impurity.shocks_this_year(20, t, rate) == k
    assert impurity.shocks_this_year(20, 3, 0.0) == 0


@pytest.mark.parametrize("rate", [700.0, 745.0, 800.0, 1000.0])
def test_shock_count_at_rates_whose_first_term_leaves_the_doubles(rate):
    """exp(-rate) is 0 in doubles from about 745 (the schema allows rates to 1000): the count is
    still scipy's Poisson quantile of the year's uniform, never the loop's cap."""
    import naive

    for t in range(60):
        assert impurity.shocks_this_year(20, t, rate) == naive.shocks(20, t, rate)


# ----------------------------------------------------------------- generations, shepherds
def test_eras_and_generations():
    assert [generations.era_of(t, 20, 40) for t in (0, 19, 20, 39, 40, 99)] == [0, 0, 1, 1, 2, 2]
    assert [generations.is_generation_start(t, 40) for t in (0, 1, 39, 40, 80, 81)] == [1, 0, 0, 1, 1, 0]


def test_shepherds_of_a_generation_step_down_and_the_messiah_makes_them_for_good():
    flags = np.array([0, 1, 2, 2, 1], dtype=np.uint8)
    assert shepherds.end_generation(flags) == 2 and flags.tolist() == [0, 1, 0, 0, 1]
    assert shepherds.becomes_shepherd(np.uint8(0), True, True) == shepherds.FOREVER
    assert shepherds.becomes_shepherd(np.uint8(2), True, False) == 2
    assert shepherds.becomes_shepherd(np.uint8(0), False, True) == 0


# ----------------------------------------------------------------- worlds
def test_worlds_by_hand():
    """lam = 0.5 on worlds at (1, 0.8, 0.5, 1), rho = 0.1, A = 1: the light reaching them is
    (0.5, 0.5, 0.4, 0.2); each moves a tenth of the way to it."""
    u = np.array([1.0, 0.8, 0.5, 1.0])
    np.testing.assert_allclose(worlds.light_reaching(u, 0.5), [0.5, 0.5, 0.4, 0.2], rtol=1e-15)
    np.testing.assert_allclose(worlds.step_worlds(u, 0.5, 1.0, 0.1), [0.95, 0.77, 0.49, 0.92], rtol=1e-14)
    assert worlds.conductance(u) == pytest.approx(0.4, rel=1e-15)
    assert worlds.iota_eq(0.5, 2.0) == 0.25 and worlds.iota_eq(3.0, 2.0) == 1.0
    assert worlds.iota_eq(0.5) == 0.5  # the default threshold A = 1 (MODEL.md, phase 1)
    assert type(worlds.iota_eq(0.5)) is float and worlds.iota_eq(np.array([0.5, 2.0])).tolist() == [0.5, 1.0]


def test_worlds_refuse_rates_and_thresholds_out_of_range():
    """rho is a share of the way, in [0, 1] (0 and 1 allowed); the threshold A is positive."""
    u = np.array([1.0, 0.8, 0.5, 1.0])
    for rho in (-0.1, -1e-12, 1.0 + 1e-12, 1.5):
        with pytest.raises(ValueError, match="rho"):
            worlds.step_worlds(u, 0.5, 1.0, rho)
    np.testing.assert_array_equal(worlds.step_worlds(u, 0.5, 1.0, 0.0), u)
    np.testing.assert_allclose(worlds.step_worlds(u, 0.5, 1.0, 1.0), [0.5, 0.5, 0.4, 0.2], rtol=1e-15)
    for shape in (3, 5):  # four worlds, no more, no fewer
        with pytest.raises(ValueError, match="shape"):
            worlds.step_worlds(np.ones(shape), 0.5, 1.0, 0.1)
    for A in (0.0, -1.0):
        with pytest.raises(ValueError, match="A"):
            worlds.iota_eq(0.5, A)


def test_flat_cleansing_of_no_sparks_gives_the_bits_of_infinity():
    """The smallest fraction over no sparks is +inf (its int32 bits), as documented: the
    minimum's neutral element, so that a run without sparks never lowers G."""
    f = np.float32
    empty = np.zeros(0, np.float32)
    bits = cleansing.cleanse_flat(empty, empty.copy(), empty.copy(), f(0.0), empty.copy(), np.zeros(0, np.uint8),
                                  empty.copy(), 10)
    assert np.array([bits], np.int32).view(np.float32)[0] == np.inf


def test_soul_sums_at_chosen_sparks():
    """The souls' sums over the sparks at the listed positions only: sparks 0, 2, 3 of souls
    (0, 0, 1, 1) give soul 0 the screen 1.0 and flag 1, soul 1 the screens 3.0 + 4.0 and flags
    2 | 1; spark 1 is left out."""
    screen = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    flag = np.array([1, 2, 2, 1], dtype=np.uint8)
    total, flags = np.zeros(2), np.zeros(2, np.uint8)
    cleansing.soul_sums_at(screen, flag, np.array([0, 0, 1, 1], np.uint16), np.array([0, 2, 3], np.int32), total,
                           flags)
    assert total.tolist() == [1.0, 7.0] and flags.tolist() == [1, 3]
