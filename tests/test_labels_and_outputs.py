"""What souls.parquet says of each soul, against MODEL.md's definitions worked out here."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import naive
import tikkun


@pytest.fixture(scope="module")
def dim_run(tmp_path_factory):
    """1,500 souls for 150 years under a light of 0.95 (the worlds sink), omega set to 0.7 by an
    event from year 120: souls of every stage and journey at the end, G and C below 1."""
    out = tmp_path_factory.mktemp("labels") / "r"
    res = tikkun.run(preset="quick", souls=1500, years=150, out=out,
                     overrides={"light.alpha": 0.35, "light.light": 0.95},
                     events=[{"kind": "set", "year": 120, "key": "light.omega", "value": 0.7}])
    return res, out


def test_stage_and_journey_columns_name_each_soul(dim_run):
    """stage: spark below one degree (10 c < 1), particular until complete, common once
    complete; journey: Moses below 1/3, Joshua below 2/3, Solomon below 1, David complete (002).
    Both columns are strings, and their counts are the year's counts in metrics.parquet."""
    res, out = dim_run
    table = pq.read_table(out / "souls.parquet")
    assert table.schema.field("stage").type == pa.string() and table.schema.field("journey").type == pa.string()
    souls = table.to_pydict()
    c = np.asarray(souls["cleansing"], dtype=np.float32).astype(np.float64)
    done = np.asarray(souls["complete"], dtype=bool)
    want_stage = ["common" if d else "spark" if 10 * x < 1 else "particular" for x, d in zip(c, done)]
    want_journey = ["david" if d else "moses" if x < 1 / 3 else "joshua" if x < 2 / 3 else "solomon"
                    for x, d in zip(c, done)]
    assert souls["stage"] == want_stage
    assert souls["journey"] == want_journey
    assert set(want_stage) == {"spark", "particular", "common"}
    assert set(want_journey) == {"moses", "joshua", "solomon", "david"}
    m = pq.read_table(out / "metrics.parquet").to_pydict()
    for name in ("spark", "particular", "common"):
        assert m[f"stage_{name}"][-1] == want_stage.count(name), name
    for name in ("moses", "joshua", "solomon", "david"):
        assert m[f"journey_{name}"][-1] == want_journey.count(name), name


def test_illumination_with_omega_from_its_event(dim_run):
    """I_i = lam W ((1 - omega) c_i + omega G) with the last year's omega (0.7, set by an event),
    lam = 0.95 and W from MODEL.md's recursion of the four worlds run here; a complete soul
    shines short of full, by lam W omega (1 - G)."""
    res, out = dim_run
    u = np.ones(4)
    for _ in range(150):
        u = naive.worlds_year(u, 0.95)
    W = float(np.prod(u))
    m = pq.read_table(out / "metrics.parquet").to_pydict()
    souls = pq.read_table(out / "souls.parquet").to_pydict()
    G, C = m["weakest_link"][-1], m["cleansing_mean"][-1]
    assert 0 < G < 1 and 0 < C < 1 and W < 0.9
    c = np.asarray(souls["cleansing"], dtype=np.float64)
    want = 0.95 * W * (0.3 * c + 0.7 * G)
    np.testing.assert_allclose(souls["illumination"], want, rtol=1e-9)
    done = np.asarray(souls["complete"], dtype=bool)
    assert done.any()
    np.testing.assert_allclose(np.asarray(souls["illumination"])[done], 0.95 * W * (1 - 0.7 * (1 - G)), rtol=1e-9)
    assert m["illumination_mean"][-1] == pytest.approx(0.95 * W * (0.3 * C + 0.7 * G), rel=1e-9)
    # before the event omega is the scenario's 0.5
    t = 100
    assert m["illumination_mean"][t] == pytest.approx(
        0.95 * m["conductance"][t] * (0.5 * m["cleansing_mean"][t] + 0.5 * m["weakest_link"][t]), rel=1e-12)


def test_a_result_shows_itself_in_one_line(dim_run):
    """A notebook's cell showing a result printed every array and the whole scenario (~30 KB);
    it shows what summary.json says of the run, in one line."""
    res, out = dim_run
    text = repr(res)
    s = res.summary
    assert "\n" not in text and len(text) < 300
    assert text == (f"RunResult(scenario='quick', souls=1,500, years_run={s['years_run']:,}, end_year=None, "
                    f"G={s['weakest_link']:.4g}, C={s['cleansing_mean']:.4g}, folder={str(out)!r})")


def test_a_result_arrays_have_the_kinds_its_docstring_gives(dim_run):
    """RunResult's docstring gives each table's shapes and kinds: a user reading it must find
    them so (the metrics' integers, the souls' float32 state, -1 for a year not reached)."""
    res, _ = dim_run
    years, n = res.summary["years_run"], res.summary["souls"]
    counts = {"judge", "complete", "shepherds", "holding_aim", "greater_desire", "lost_aim", "shocks", "rewired",
              "stage_spark", "stage_particular", "stage_common", "journey_moses", "journey_joshua",
              "journey_solomon", "journey_david"}
    for name, a in res.metrics.items():
        assert a.shape == (years,), name
        want = {"year": "i4", "era": "U"}.get(name, "i8" if name in counts else "f8")
        assert a.dtype.str[1:].startswith(want), (name, a.dtype)
    f64 = {"illumination", "unity_mean", "neighbours_mean_cleansing"}
    for name, a in res.souls.items():
        assert a.shape == (n,), name
        want = ("i4" if name in ("soul", "sparks", "completed_year") else "b1" if name in ("complete", "special")
                else "U" if name in ("stage", "journey") else "f8" if name in f64 else "f4")
        assert a.dtype.str[1:].startswith(want), (name, a.dtype)
    assert res.souls["completed_year"][~res.souls["complete"]].tolist() == [-1] * int((~res.souls["complete"]).sum())
    assert (res.souls["completed_year"][res.souls["complete"]] >= 0).all()
