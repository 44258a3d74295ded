"""The dashboard (``tikkun serve``, extra ``tikkun[dash]``).

Without a browser: the live run against ``tikkun.run`` year by year, its run folder, the
markers of eras and events against the preset's own file, the sweep panel's reading of a
sweep folder, the server's host and port checks. With one: Debian's Chromium, headless, driven
by Playwright, on a server started with ``python -m tikkun serve`` on a free loopback port.
"""

from __future__ import annotations

import importlib.util
from html import escape as html_escape, unescape as html_unescape
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from importlib import resources
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("panel", reason="the dashboard's packages: pip install \"tikkun[dash]\"")

from tikkun import api  # noqa: E402
from tikkun.dash import live as live_mod  # noqa: E402
from tikkun.dash import genesis_view, plots, sweep_view  # noqa: E402
from tikkun.dash.app import MEANS  # noqa: E402
from tikkun.dash.genesis_view import stage_spans  # noqa: E402
from tikkun.dash.server import ServeError, check_port, host_warning, is_loopback  # noqa: E402
from tikkun.records import METRIC_COLUMNS  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 # two tabs of one test run at once: the one behind is a reader's other window, not
                 # one Chromium may slow down (its timers, its renderer's priority)
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]
SOULS = 2_000
FIRST_YEAR_TIMEOUT = 300  # s: the server compiles the engine's kernels if no test has yet


def _wait(pred, timeout: float, what: str, every: float = 0.1):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = pred()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# ====================================================================== without a browser
def test_core_never_imports_the_dashboard():
    code = ("import sys, tikkun, tikkun.api, tikkun.cli, tikkun.engine, tikkun.records, tikkun.outputs\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('panel', 'bokeh', 'tornado')"
            " or m.startswith('tikkun.dash')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _finish(run: live_mod.LiveRun, timeout: float = FIRST_YEAR_TIMEOUT) -> list[dict]:
    rows: list[dict] = []

    def done():
        rows.extend(run.take_rows())
        return run.phase in (live_mod.Phase.FINISHED, live_mod.Phase.FAILED)

    _wait(done, timeout, "the live run to finish")
    rows.extend(run.take_rows())
    assert run.phase is live_mod.Phase.FINISHED, run.message
    return rows


def test_live_run_is_tikkun_run_year_by_year(tmp_path):
    """Stepped, paused and run on in its thread, a live run gives the rows of tikkun.run."""
    sc = api.resolve_scenario(preset="quick", souls=SOULS, overrides={"light.alpha": 0.09, "run.seed": 7})
    run = live_mod.LiveRun(sc)
    run.step()
    _wait(lambda: run.phase is live_mod.Phase.PAUSED and run.year == 1, FIRST_YEAR_TIMEOUT, "one year")
    rows = run.take_rows()
    assert [r["year"] for r in rows] == [0]
    run.step()
    run.step()
    _wait(lambda: run.phase is live_mod.Phase.PAUSED and run.year == 3, 30, "two more years")
    time.sleep(0.3)
    assert run.year == 3  # a step is one year, then the run waits
    run.years_per_second = 200.0
    run.run()
    _wait(lambda: run.year >= 20, 30, "the run to go on")
    run.pause()
    _wait(lambda: run.phase is live_mod.Phase.PAUSED, 10, "the pause")
    paused_at = run.year
    time.sleep(0.5)
    assert run.year == paused_at < sc.run.years
    run.pause_after = paused_at + 7  # the page's "pause after year": years 0 .. paused_at + 7 computed
    run.run()
    _wait(lambda: run.phase is live_mod.Phase.PAUSED and run.year == paused_at + 8, 30, "the pause after a year")
    time.sleep(0.3)
    assert run.year == paused_at + 8
    run.pause_after = None
    run.years_per_second = None
    run.run()
    rows += _finish(run)
    ref = api.run(sc)
    assert len(rows) == sc.run.years == len(ref.metrics["year"])
    for col, (dtype, _) in METRIC_COLUMNS.items():
        got = np.array([r[col] for r in rows], dtype=dtype)
        np.testing.assert_array_equal(got, ref.metrics[col], err_msg=col)
    assert run.stop_reason.value == ref.summary["stop_reason"]

    # the run folder of the dashboard's download: the files of tikkun run, equal to its own
    written = {p.name for p in run.write_folder(tmp_path / "live")}
    assert {"scenario.toml", "metrics.parquet", "souls.parquet", "summary.json"} <= written
    again = api.load_scenario(tmp_path / "live" / "scenario.toml")
    assert again == sc
    metrics = pq.read_table(tmp_path / "live" / "metrics.parquet").to_pydict()
    np.testing.assert_array_equal(metrics["cleansing_mean"], ref.metrics["cleansing_mean"])
    souls = pq.read_table(tmp_path / "live" / "souls.parquet").to_pydict()
    np.testing.assert_array_equal(souls["cleansing"], ref.souls["cleansing"])
    with pytest.raises(Exception, match="not empty"):
        run.write_folder(tmp_path / "live")  # never over a folder that holds anything


def test_run_after_pause_after_goes_on_to_the_end():
    """Paused by "pause after year", Run goes on (not one year at a time), to the end or to a
    "pause after" set since."""
    sc = api.resolve_scenario(preset="quick", souls=SOULS, years=60)
    run = live_mod.LiveRun(sc, pause_after=5, years_per_second=50.0)
    run.run()
    _wait(lambda: run.phase is live_mod.Phase.PAUSED, FIRST_YEAR_TIMEOUT, "the pause after year 5")
    assert run.year == 6 and run.pending_pause is None
    run.run()
    _wait(lambda: run.year >= 20, 10, "the run to go on past year 20")
    run.pause()
    _wait(lambda: run.phase is live_mod.Phase.PAUSED, 10, "the pause")
    at = run.year
    assert at < sc.run.years
    run.pause_after = at + 2  # set since: a later pause
    run.run()
    _wait(lambda: run.phase is live_mod.Phase.PAUSED and run.year == at + 3, 10, "the later pause")
    run.years_per_second = None
    run.run()
    _finish(run, timeout=30)
    assert run.year == sc.run.years


def test_years_a_second_are_of_running_not_of_a_pause():
    """The status line's years a second: measured while the run goes on, not over a pause (a
    step, then a wait, then Run counted the wait as running: a third of the true rate)."""
    sc = api.resolve_scenario(preset="quick", souls=SOULS)
    run = live_mod.LiveRun(sc, years_per_second=20.0)
    try:
        run.step()
        _wait(lambda: run.phase is live_mod.Phase.PAUSED and run.year == 1, FIRST_YEAR_TIMEOUT, "one year")
        time.sleep(2.0)
        run.run()
        _wait(lambda: run.year >= 3, 10, "the run to go on")
        y0, t0 = run.year, time.perf_counter()
        _wait(lambda: run.year >= y0 + 30, 20, "thirty years more", every=0.01)
        y1, t1 = run.year, time.perf_counter()
        rate = run.rate
        measured = (y1 - y0) / (t1 - t0)  # by the clock of this test
        assert rate is not None and abs(rate - measured) < 0.25 * measured, (rate, measured)
    finally:
        run.close(wait=5)


def test_a_live_runs_summary_gives_the_seconds_of_a_vessel_it_made_and_only_of_one():
    from tikkun.scenario import build_scenario
    from tikkun.scenario.loading import _parse_toml, preset_text

    raw = _parse_toml(preset_text("history"), "history")
    raw["genesis"]["n"] = 32
    raw["souls"]["count"], raw["events"] = 300, []
    sc = build_scenario({**raw, "run": {**raw["run"], "years": 3}})
    made = live_mod.LiveRun(sc)
    t0 = time.perf_counter()
    made.run()
    _finish(made)
    seconds = made.summary()["genesis"]["seconds"]
    assert 0 < seconds < time.perf_counter() - t0
    handed = live_mod.LiveRun(sc, vessel=made.vessel)  # the page's vessel, kept for the session
    handed.run()
    _finish(handed)
    assert set(handed.summary()["genesis"]) == {"final_unity", "final_mixing"}


def test_a_live_runs_wall_seconds_count_the_population_as_tikkun_run_does(monkeypatch):
    """summary.json's wall_seconds is the population and the years (README): the page counted
    only the years."""
    real_build = live_mod.build

    def slow_build(*args, **kwargs):  # a population that takes half a second to make
        init_fn, step_fn = real_build(*args, **kwargs)
        return (lambda: (time.sleep(0.5), init_fn())[1]), step_fn

    monkeypatch.setattr(live_mod, "build", slow_build)
    run = live_mod.LiveRun(api.resolve_scenario(preset="quick", souls=SOULS), pause_after=0)
    run.run()
    _wait(lambda: run.phase is live_mod.Phase.PAUSED, FIRST_YEAR_TIMEOUT, "the pause after year 0")
    seconds = run.summary()["wall_seconds"]
    run.close(wait=5)
    assert seconds >= 0.5


def test_a_paused_runs_summary_names_the_year_the_page_shows(tmp_path):
    """A paused run's summary.json names the last year computed, as the page and the zip's name
    do (not the years run, one more), and the --years it gives reproduces its metrics."""
    import json

    sc = api.resolve_scenario(preset="quick", souls=SOULS)
    run = live_mod.LiveRun(sc, pause_after=14)
    run.run()
    _wait(lambda: run.phase is live_mod.Phase.PAUSED, FIRST_YEAR_TIMEOUT, "the pause after year 14")
    run.write_folder(tmp_path / "paused")
    run.close(wait=5)
    last = pq.read_table(tmp_path / "paused" / "metrics.parquet").column("year").to_pylist()[-1]
    summary = json.loads((tmp_path / "paused" / "summary.json").read_text("utf-8"))
    assert summary["stop_reason"] == "paused" and summary["years_run"] == last + 1
    msg = summary["stop_message"]
    assert f"after year {last:,} " in msg and f"at year {last + 1}" not in msg, msg
    years = int(re.search(r"--years (\d+)", msg).group(1))
    again = api.run(api.resolve_scenario(preset="quick", souls=SOULS, years=years))
    np.testing.assert_array_equal(again.metrics["cleansing_mean"],
                                  pq.read_table(tmp_path / "paused" / "metrics.parquet").column("cleansing_mean"))


def test_snapshot_is_the_souls_state():
    sc = api.resolve_scenario(preset="quick", souls=SOULS, years=30)
    run = live_mod.LiveRun(sc, sample=300)
    run.run()
    _finish(run)
    snap = run.snapshot()
    st = run.state
    assert snap.year == st.year == 30
    c = st.cleansing.astype(np.float64)
    # the histogram against a count by hand over the same 40 bins of [0, 1]
    b = np.minimum((c * 40).astype(int), 39)
    np.testing.assert_array_equal(snap.counts, np.bincount(b, minlength=40))
    idx = live_mod.sample_indices(sc.souls.count, 300)
    assert len(idx) == 300 and idx[0] == 0 and idx[-1] == sc.souls.count - 1
    np.testing.assert_array_equal(snap.cleansing, c[idx])
    L = sc.sparks.degrees
    want = np.where(st.complete[idx], "common", np.where(L * c[idx] < 1.0, "spark", "particular"))
    np.testing.assert_array_equal(snap.stage, want)


def test_markers_are_the_presets_events():
    sc = api.load_scenario(preset="history")
    raw = tomllib.loads((resources.files("tikkun.scenario") / "presets" / "history.toml").read_text("utf-8"))
    spans = {(e["label"], e["year"], e.get("until", raw["run"]["years"])) for e in raw["events"]}
    got = {(m.label, m.year, m.until) for m in plots.markers(sc)}
    assert got == spans  # one marker per span, though the exiles set two keys each
    assert plots.eras(sc) == [("Torah era", sc.generations.torah_from), ("Messiah era", sc.generations.messiah_from)]
    groups = plots.label_groups(sc)
    joined = [t for _, t in groups if " / " in t]
    assert joined == ["exodus / conquest"]  # 40 years apart at 6,000: one label
    short = api.load_scenario(preset="quick")
    assert plots.eras(short) == []  # the eras begin after its horizon


def test_four_worlds_axis_keeps_a_readable_span_when_unity_stays_1():
    figs = plots.LiveFigures()
    figs.start(api.load_scenario(preset="quick"))
    figs.add_rows([{c: (y if c == "year" else 1) for c in plots.COLUMNS} for y in range(3)])
    yr = figs.series_figures[plots.WORLDS].y_range
    assert yr.start < 1.0 < yr.end and yr.end - yr.start >= 0.01  # not 0.999999 to 1.000001
    figs.add_rows([{c: (3 if c == "year" else 0.8 if c == "u_assiya" else 1) for c in plots.COLUMNS}])
    assert yr.start < 0.8 and 1.0 < yr.end < 1.05  # follows a lower unity


def test_four_worlds_axis_starts_at_0_when_their_values_span_most_of_it():
    figs = plots.LiveFigures()
    figs.start(api.load_scenario(preset="quick"))
    figs.add_rows([{c: (0 if c == "year" else 0.05 if c == "conductance" else 1) for c in plots.COLUMNS}])
    yr = figs.series_figures[plots.WORLDS].y_range
    assert yr.start == 0.0 and 1.0 < yr.end < 1.05


def test_the_correction_names_eras_and_events_above_every_curve():
    """The names of the eras and events lie in a band above 1 (every curve of the figure is a
    share, at most 1), so none covers C, G or the illumination, and the band stays there."""
    from bokeh.models import LabelSet

    figs = plots.LiveFigures()
    sc = api.load_scenario(preset="history")
    figs.start(sc)
    fig = figs.series_figures[plots.CORRECTION]
    sets = [m for m in fig.center if isinstance(m, LabelSet)]
    assert {id(ls.source) for ls in sets} == {id(figs.marks["eras"]), id(figs.marks["labels"])}
    for ls in sets:
        assert ls.y == 1.0 and ls.y_offset > 0  # anchored above y = 1, in data units
    assert fig.y_range.end >= 1.4  # the band's room
    assert max(fig.yaxis[0].ticker.ticks) == 1.0  # the axis names shares only
    # zoom and pan move the years only: the band stays above the curves
    assert all(t.dimensions == "width" for t in fig.tools if hasattr(t, "dimensions"))
    assert list(figs.marks["eras"].data["text"]) == ["Torah era", "Messiah era"]


def test_the_marks_are_the_reports_eras_shaded_and_events_dotted(tmp_path):
    """The dashboard marks what the report marks, alike: the eras' spans in the report's colours
    (its timeline read from a run folder), every event's first year a line, and the years an
    event lasts as bars in the band; a shepherds event before the Messiah era lasts the years the
    engine keeps its shepherd (metrics' shepherds > 0), not one year."""
    from tikkun.report import read_run_folder
    from tikkun.report.figures import ERA_COLOURS, timeline

    folder = tmp_path / "q"
    api.run(preset="quick", souls=600, years=300, out=folder)
    run = read_run_folder(folder)
    sc = api.load_scenario(folder / "scenario.toml")
    data = plots.marker_data(sc)
    tl = timeline(run)
    assert list(zip(data["shades"]["left"], data["shades"]["right"], data["shades"]["colour"])) == [
        (a, b, ERA_COLOURS[n]) for n, a, b in tl.eras]
    assert sorted(data["lines"]["x"]) == sorted({m.year for m in tl.marks})
    spans = sorted((m.year, m.until) for m in tl.marks if m.until is not None and m.until > m.year + 1)
    drawn = sorted(zip(data["spans"]["left"], data["spans"]["right"]))
    assert [a for a, _ in drawn] == [a for a, _ in spans]
    for (a, b), (_, until) in zip(drawn, spans):  # a bar another begins at stops short of it, else at its end
        meets = any(a2 == until for a2, _ in spans)
        assert (a + (until - a) / 2 <= b < until) if meets else b == until
    shepherd_years = np.asarray(run.metrics["year"])[np.asarray(run.metrics["shepherds"]) > 0]
    (shepherds,) = [m for m in plots.markers(sc) if m.label == "shepherds" or "shepherd" in m.label]
    assert (shepherds.year, shepherds.until) == (shepherd_years.min(), shepherd_years.max() + 1)
    figs = plots.LiveFigures()
    figs.start(sc)
    assert dict(figs.marks["spans"].data) == data["spans"]


def test_g_has_a_logarithmic_figure_over_its_decades():
    """G, a few ten-thousandths for millennia, is flat at 0 on the correction's linear axis: its
    own figure is logarithmic and spans the decades of the values seen (none at 0 or below)."""
    from bokeh.models import LogScale

    figs = plots.LiveFigures()
    figs.start(api.load_scenario(preset="quick"))
    fig = figs.series_figures[plots.G_LOG]
    assert isinstance(fig.y_scale, LogScale)
    assert [r.glyph.y for r in fig.renderers if hasattr(r.glyph, "y") and r.glyph.y == "weakest_link"]
    row = {c: 0 for c in plots.COLUMNS}
    figs.add_rows([{**row, "year": 0, "weakest_link": 0.0}, {**row, "year": 1, "weakest_link": 6.5e-4},
                   {**row, "year": 2, "weakest_link": 3e-6}])
    assert (fig.y_range.start, fig.y_range.end) == (1e-6, 1e-3)
    assert fig.yaxis[0].ticker.ticks == [1e-6, 1e-5, 1e-4, 1e-3]
    figs.add_rows([{**row, "year": 3, "weakest_link": 0.2}])
    assert (fig.y_range.start, fig.y_range.end) == (1e-6, 1.0)
    assert plots.log_range(1.0, 1.0) == {"start": 0.1, "end": 1.0}  # at least a decade, never above 1
    # fifteen decades and more (a history's G from its first year): every second or third named,
    # counted from the top, so the end of correction, G = 1, is named where the curve reaches the
    # frame's top (Bokeh's own ticker named 1e-1, 1e-3, ...: the top went unnamed)
    figs.add_rows([{**row, "year": 4, "weakest_link": 3e-15}, {**row, "year": 5, "weakest_link": 1.0}])
    assert (fig.y_range.start, fig.y_range.end) == (1e-15, 1.0)
    assert fig.yaxis[0].ticker.ticks == [1e-14, 1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0]
    assert plots.log_ticks(1e-16, 1.0) == [1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 1.0]
    assert fig.yaxis[0].ticker.minor_ticks == [10.0 ** k for k in range(-15, 1)]  # every decade, named or not
    # its zoom moves the years only: a zoom into one unnamed decade would leave the axis with no name
    assert all(getattr(t, "dimensions", "width") == "width" for t in fig.tools)


def test_the_light_and_illumination_have_their_own_axis_in_light_units():
    """Illumination is lam W ((1 - omega) C + omega G): above 1 in a year whose light is (the
    Temple's), so it is not drawn on the correction's axis of shares; its figure, with the light,
    runs from 0 to a margin above the largest value so far (never below 1)."""
    figs = plots.LiveFigures()
    figs.start(api.load_scenario(preset="quick"))
    assert "illumination_mean" not in [r.glyph.y for r in figs.series_figures[plots.CORRECTION].renderers
                                       if hasattr(r.glyph, "y")]
    fig = figs.series_figures[plots.LIGHT]
    assert fig.yaxis[0].axis_label == "light units"
    assert {r.glyph.y for r in fig.renderers if hasattr(r.glyph, "y")} >= {"light", "illumination_mean"}
    row = {c: 0 for c in plots.COLUMNS}
    figs.add_rows([{**row, "year": 0, "light": 0.5, "illumination_mean": 0.01}])
    assert (fig.y_range.start, fig.y_range.end) == (0, 1.0)
    figs.add_rows([{**row, "year": 1, "light": 2.0, "illumination_mean": 1.8}])
    assert fig.y_range.end == pytest.approx(2.2)
    figs.start(api.load_scenario(preset="quick"))
    assert fig.y_range.end == 1


def test_an_empty_figure_says_why_it_is_empty():
    """Before a run every figure says to press Run (no empty legends); a run started waits for
    its year 0; the yearly figures lose the note and show their legends with the first year,
    the distribution and the sample with the first picture of the souls; shocks say when there
    were none so far."""
    from types import SimpleNamespace

    figs = plots.LiveFigures()

    def notes():
        return {name: (n.text if n.visible else None) for name, n in figs.notes.items()}

    assert set(notes()) == {f.name for f in figs.figures}
    assert set(notes().values()) == {plots.NOTE_BEFORE}
    assert not any(lg.visible for f in figs.figures for lg in f.legend)
    figs.start(api.load_scenario(preset="quick"))
    assert set(notes().values()) == {plots.NOTE_WAITING}
    row = {c: 0 for c in plots.COLUMNS}
    figs.add_rows([{**row, "year": 0}])
    now = notes()
    assert now.pop(figs.series_figures[plots.SHOCKS].name) == plots.NOTE_NO_SHOCKS
    assert now.pop("histogram") == now.pop("sample") == plots.NOTE_WAITING
    assert set(now.values()) == {None}
    figs.finish()  # the run ended with none: no longer "so far"
    assert notes()[figs.series_figures[plots.SHOCKS].name] == plots.NOTE_NONE_CAME
    assert all(lg.visible for f in figs.series_figures if f is not figs.series_figures[plots.SHOCKS] for lg in f.legend)
    figs.add_rows([{**row, "year": 1, "shocks": 2}])
    assert notes()[figs.series_figures[plots.SHOCKS].name] is None
    snap = SimpleNamespace(edges=np.linspace(0, 1, 41), counts=np.ones(40, int), hbd=np.array([1.0, 2.0]),
                           cleansing=np.array([0.1, 0.2]), stage=np.array(["spark", "common"]))
    figs.show_souls(snap)
    assert set(notes().values()) == {None}
    # a stage no sampled soul is in has no dot in the legend: its name says so, not a bare title
    labels = [item.label["value"] for item in figs.souls.legend[0].items]
    assert labels == ["spark", "particular (none)", "common"]
    figs.start(api.load_scenario(preset="quick"), waiting=False)  # Reset: no run follows
    assert set(notes().values()) == {plots.NOTE_BEFORE}


def _count_figures():
    """Every figure of the page whose y axis counts (souls, shocks, runs), by name."""
    figs = plots.LiveFigures()
    counts = [f for f, (_, _, yr, _) in zip(figs.series_figures, plots.SERIES) if yr == "zero"]
    return {f.name: f for f in counts + [figs.histogram, sweep_view.SweepView().hist_fig]}


def test_count_axes_tick_whole_numbers_only():
    """A count's axis ticks whole numbers only, written as whole numbers: the shocks' axis of 0
    to 1 read 0, 0, 0, 1, 1, 1 (ticks at 0.2, 0.4, ... in a whole-number format) and the sweep's
    runs 0.5, 1.5, 2.5. In the browser: test_count_axes_name_whole_numbers_on_the_page."""
    from bokeh.models import AdaptiveTicker

    figs = _count_figures()
    assert {"series-2", "series-3", "series-4", f"series-{plots.SHOCKS}", "histogram", "sweep-end-years"} == set(figs)
    for name, fig in figs.items():
        (axis,) = fig.yaxis
        assert axis.formatter.format == "0,0", name
        if name == "histogram":  # souls on a log axis: whole decades from 1 to its end, no minor ticks
            assert fig.y_scale.__class__.__name__ == "LogScale"
            assert list(axis.ticker.ticks) == [1.0, 10.0]  # before a run: whole decades up to the axis' end
            assert list(axis.ticker.minor_ticks) == []
            continue
        assert isinstance(axis.ticker, AdaptiveTicker) and axis.ticker.min_interval >= 1, name
        assert axis.ticker.num_minor_ticks == 0, name  # minor ticks at 0.2, 0.4 ... of a soul


def test_the_cleansing_histogram_is_on_a_log_axis_above_its_tallest_bar():
    """The souls by cleansing on a log axis (the few not yet complete show beside the many that
    are): a bin without a soul draws no bar, the axis ends above the tallest bar and names the
    decades from 1 to it."""
    figs = plots.LiveFigures()
    counts = np.zeros(40, np.int64)
    counts[[3, 20, 39]] = [2, 69, 3931]
    snap = live_mod.Snapshot(10, np.linspace(0.0, 1.0, 41), counts, np.ones(3), np.ones(3),
                             np.array(["common"] * 3))
    figs.show_souls(snap)
    bars = np.asarray(figs.hist.data["count"], dtype=float)
    np.testing.assert_array_equal(bars[counts > 0], counts[counts > 0])
    assert np.all(bars[counts == 0] == plots.HIST_BOTTOM)  # no height above the bars' bottom
    assert figs.histogram.y_range.start == plots.HIST_BOTTOM and figs.histogram.y_range.end == 1.5 * 3931
    assert list(figs.histogram.yaxis[0].ticker.ticks) == [1, 10, 100, 1_000]


def test_no_legend_covers_a_figures_data():
    """Every legend of the page's figures sits beside or under the frame, never inside it (the
    sample's legend hid the souls at the top left, where the least cleansed of the early years are)."""
    from bokeh.models import Legend

    from tikkun.dash.genesis_view import GenesisView

    figs = plots.LiveFigures().figures + [GenesisView().curve_fig] + [
        sweep_view.SweepView().hist_fig, sweep_view.SweepView().curve_fig]
    for fig in figs:
        assert not [m for m in fig.center if isinstance(m, Legend)], fig.name
    with_legend = [fig.name for fig in figs if any(isinstance(m, Legend) for m in fig.right + fig.below + fig.above)]
    assert {"sample", "genesis-curves", *(f"series-{i}" for i in range(len(plots.SERIES)))} <= set(with_legend)


def test_a_stage_has_one_colour_and_the_stages_their_order_in_every_figure():
    """The sample of souls lists the stages in their order (spark, particular, common; not in
    the order the data first meets them) and colours each as the stages' yearly figure does;
    each stage's renderer shows only that stage's souls."""
    from bokeh.models import Legend

    from tikkun.rules.stages import STAGES

    live = plots.LiveFigures()
    sample = next(f for f in live.figures if f.name == "sample")
    legend = next(m for m in sample.right if isinstance(m, Legend))
    assert [item.label["value"] for item in legend.items] == list(STAGES)
    series = plots.SERIES
    k = next(i for i, (_, _, _, lines) in enumerate(series) if all(c.startswith("stage_") for c, _ in lines))
    stages_fig = next(f for f in live.figures if f.name == f"series-{k}")
    line_colour = {r.glyph.y: r.glyph.line_color for r in stages_fig.renderers if hasattr(r.glyph, "y")
                   and isinstance(r.glyph.y, str) and r.glyph.y.startswith("stage_")}
    for item in legend.items:
        (r,) = item.renderers
        stage = item.label["value"]
        assert r.glyph.fill_color == line_colour[f"stage_{stage}"], stage
        assert r.view.filter.column_name == "stage" and r.view.filter.group == stage


def test_stage_spans_of_genesis_records():
    rec = {"stage": np.array(["separate", "approach", "approach", "strike", "strike", "strike", "shatter"]),
           "time": np.arange(7.0)}
    assert stage_spans(rec, ["separate", "approach", "strike", "withdraw", "shatter"]) == \
        [(0, 0), (1, 2), (3, 5), (5, 5), (6, 6)]


def _png_colours(phi: np.ndarray, tmp_path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """The colour the report's genesis PNG (matplotlib) gives the field's top rows, the colour of
    its bottom rows, and the share of the picture's height the top colour takes: the PNG's two
    most frequent saturated colours, told apart by where they lie (a field of two values, one in
    its top rows and one below)."""
    from PIL import Image

    from tikkun.report.genesis import write_vessel_png

    write_vessel_png(tmp_path / "vessel.png", phi, "a test")
    img = np.asarray(Image.open(tmp_path / "vessel.png").convert("RGB"))
    colours, counts = np.unique(img.reshape(-1, 3), axis=0, return_counts=True)
    two = [i for i in np.argsort(counts)[::-1] if int(colours[i].max()) - int(colours[i].min()) > 60][:2]
    rows = [np.nonzero((img == colours[i]).all(axis=2))[0] for i in two]
    top, bottom = (0, 1) if rows[0].mean() < rows[1].mean() else (1, 0)
    share = counts[two[top]] / (counts[two[top]] + counts[two[bottom]])
    return colours[two[top]].astype(np.float64), colours[two[bottom]].astype(np.float64), float(share)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def test_genesis_image_has_the_pngs_colours_and_orientation(tmp_path):
    """The page draws a vessel as the report's genesis PNGs do: the same colour for the same phi
    and row 0 at the top (Bokeh's palettes run the other way from matplotlib's, and its image
    puts row 0 at the foot of the frame unless the y range runs down). A field of
    reception (-1) in its top quarter and bestowal (+1) below is drawn by matplotlib; at every
    height of the page's frame the colour shown there, by Bokeh's rule for an image (row j of an
    image of n rows anchored at y spans y + j dh / n to y + (j + 1) dh / n; a y range's end is the
    frame's top), must be the PNG's colour at that height."""
    from types import SimpleNamespace

    from bokeh.models import Image as ImageGlyph

    from tikkun.dash.genesis_view import GenesisView

    n = 16
    phi = np.ones((n, n))
    phi[: n // 4] = -1.0
    png_top, png_bottom, share = _png_colours(phi, tmp_path)
    assert png_top[2] > png_top[0] and png_bottom[0] > png_bottom[2]  # the report's own rule: -1 blue, +1 red
    assert abs(share - 0.25) < 0.02

    view = GenesisView()
    records = {"stage": np.array(["separate", "separate"]), "time": np.array([0.0, 1.0]),
               "unity": np.array([0.0, 0.0]), "mixing": np.array([0.0, 0.0])}
    view.show(SimpleNamespace(stage_fields=[("separate", phi)], records=records, field=phi, final_unity=0.0))
    fig = view.image
    glyph = next(r.glyph for r in fig.renderers if isinstance(r.glyph, ImageGlyph))
    mapper = glyph.color_mapper
    data = view.image_source.data
    shown, y0, dh = np.asarray(data["image"][0]), float(data["y"][0]), float(data["dh"][0])
    assert (mapper.low, mapper.high) == (-1.0, 1.0)
    top, foot = fig.y_range.end, fig.y_range.start
    for f in (0.05, 0.2, 0.3, 0.6, 0.95):  # from the frame's top down
        y = top + f * (foot - top)
        row = int((y - y0) / dh * shown.shape[0])
        value = float(shown[row].mean())
        k = round((value - mapper.low) / (mapper.high - mapper.low) * (len(mapper.palette) - 1))
        np.testing.assert_allclose(_rgb(mapper.palette[k]), png_top if f < share else png_bottom, atol=2,
                                   err_msg=f"{f:.0%} of the height from the top")


def test_genesis_curves_mark_where_each_stage_begins():
    from types import SimpleNamespace

    from tikkun.dash.genesis_view import GenesisView

    view = GenesisView()
    stages = ["separate", "approach", "approach", "strike", "shatter", "shatter"]
    records = {"stage": np.array(stages), "time": np.arange(6.0), "unity": np.zeros(6), "mixing": np.zeros(6)}
    phi = np.zeros((4, 4))
    view.show(SimpleNamespace(stage_fields=[(k, phi) for k in ("separate", "approach", "strike", "shatter")],
                              records=records, field=phi, final_unity=0.0))
    assert list(view.boundaries.data["x"]) == [0.5, 2.5, 3.5]  # between the records of two stages


def test_genesis_figures_say_why_they_are_empty_and_name_stages_clear_of_the_lines():
    """Before a vessel both figures say why they are empty (no empty legend); a vessel shown
    removes the notes and shows the legend; cleared again, the note is the one given. The stages'
    names sit in the band above the curves, each from the line where its stage begins, and the
    lines (and the shown stage's shade) stop under that band: no line runs through a name."""
    from types import SimpleNamespace

    from bokeh.models import Segment

    from tikkun.dash import genesis_view as gv

    view = gv.GenesisView()

    def notes():
        return {name: (n.text if n.visible else None) for name, n in view.notes.items()}

    assert notes() == {"genesis-image": gv.NOTE_NOT_YET, "genesis-curves": gv.NOTE_NOT_YET}
    assert not view.legend.visible
    stages = ["separate", "approach", "approach", "strike", "shatter", "shatter"]
    records = {"stage": np.array(stages), "time": np.arange(6.0), "unity": np.zeros(6), "mixing": np.zeros(6)}
    phi = np.zeros((4, 4))
    view.show(SimpleNamespace(stage_fields=[(k, phi) for k in ("separate", "approach", "strike", "shatter")],
                              records=records, field=phi, final_unity=0.0))
    assert set(notes().values()) == {None} and view.legend.visible
    labels = view.stage_labels.source.data
    assert list(labels["x"]) == [-0.5, 0.5, 2.5, 3.5]  # the first stage's at the frame's left, the others at their line
    assert min(labels["y"]) > gv.BAND_FOOT
    (line,) = [r for r in view.curve_fig.renderers if isinstance(r.glyph, Segment)]
    assert line.data_source is view.boundaries and line.glyph.y1 == gv.BAND_FOOT
    assert view.now.top == gv.BAND_FOOT
    view.clear("running", note=gv.NOTE_RUNNING)
    assert set(notes().values()) == {gv.NOTE_RUNNING} and not view.legend.visible


def test_genesis_tab_notes_follow_the_scenario():
    """The page's genesis figures: "no genesis yet" for a scenario with a [genesis] section,
    "no genesis" for one without."""
    from tikkun.dash import genesis_view as gv

    d = _dashboard()
    d.source.value = "history"
    assert {n.text for n in d.genesis.notes.values() if n.visible} == {gv.NOTE_NOT_YET}
    d.source.value = "quick"
    assert {n.text for n in d.genesis.notes.values() if n.visible} == {gv.NOTE_NONE}


def _write_sweep(folder: Path, runs: list[tuple[str, str, int | None]], curves: dict[str, np.ndarray]):
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"run_id": [r for r, _, _ in runs], "status": [s for _, s, _ in runs],
                             "end_year": pa.array([e for _, _, e in runs], pa.int64())}), folder / "sweep.parquet")
    (folder / "sweep-metrics.parquet").mkdir(exist_ok=True)
    for rid, c in curves.items():
        pq.write_table(pa.table({"run_id": [rid] * len(c), "year": np.arange(len(c), dtype=np.int32),
                                 "cleansing_mean": c}), folder / "sweep-metrics.parquet" / f"{rid}.parquet")


def test_sweep_folder_is_followed(tmp_path):
    folder = tmp_path / "sweep"
    with pytest.raises(FileNotFoundError):
        sweep_view.read_status(folder)
    _write_sweep(folder, [("a", "done", 120), ("b", "failed", None)], {"a": np.linspace(0, 1, 121)})
    st = sweep_view.read_status(folder)
    assert (st.done, st.failed, st.planned, st.left, st.never_ended) == (1, 1, None, None, 0)
    np.testing.assert_array_equal(st.end_years, [120.0])
    reader = sweep_view.MetricsReader(folder)
    assert reader.update() and list(reader.curves) == ["a"]
    assert not reader.update()  # nothing new
    # the sweep goes on: two more runs, one that never reached the end
    _write_sweep(folder, [("a", "done", 120), ("b", "failed", None), ("c", "done", 90), ("d", "done", None)],
                 {"a": np.linspace(0, 1, 121), "c": np.linspace(0, 1, 91), "d": np.full(200, 0.5)})
    st = sweep_view.read_status(folder, planned=6)
    assert (st.done, st.failed, st.left, st.never_ended) == (3, 1, 2, 1)
    assert sorted(st.end_years) == [90.0, 120.0]
    assert reader.update() and sorted(reader.curves) == ["a", "c", "d"]
    np.testing.assert_array_equal(reader.curves["c"][1], np.linspace(0, 1, 91))


def test_sweep_tab_clears_the_last_folders_figures(tmp_path):
    view = sweep_view.SweepView()

    def notes():
        return tuple(n.text if n.visible else None for n in view.notes.values())  # end years, curves

    assert notes() == (sweep_view.NOTE_BEFORE, sweep_view.NOTE_BEFORE)
    first = tmp_path / "first"
    _write_sweep(first, [("a", "done", 120), ("b", "done", 90)], {"a": np.linspace(0, 1, 121)})
    view.follow(str(first))
    assert len(view.hist.data["count"]) > 0 and len(view.lines.data["xs"]) == 1
    assert notes() == (None, None)
    (tmp_path / "second").mkdir()  # a sweep that has finished no run yet: its sweep.toml, written as it starts
    (tmp_path / "second" / "sweep.toml").write_text('base = "quick"\n')
    view.follow(str(tmp_path / "second"))
    assert len(view.hist.data["count"]) == 0 and len(view.lines.data["xs"]) == 0
    assert "no finished run yet" in view.counts.object
    assert notes() == (sweep_view.NOTE_WAITING, sweep_view.NOTE_WAITING)
    view.follow(str(first))
    (tmp_path / "a-file").write_text("not a folder")
    view.follow(str(tmp_path / "a-file"))
    assert "is not a folder" in view.counts.object
    assert len(view.hist.data["count"]) == 0 and len(view.lines.data["xs"]) == 0
    assert notes() == (sweep_view.NOTE_NOT_A_SWEEP, sweep_view.NOTE_NOT_A_SWEEP)
    # a folder not there yet (a sweep just started): waited for, and read once the sweep makes it
    view.follow(str(first))
    later = tmp_path / "later"
    view.follow(str(later))
    assert "no such folder yet; waiting for it" in view.counts.object
    assert len(view.hist.data["count"]) == 0 and notes() == (sweep_view.NOTE_WAITING, sweep_view.NOTE_WAITING)
    view.follow(str(tmp_path / "mistyped" / "sweep"))  # nor the folder above: most likely a wrong path
    assert f"nor is the folder above it, {tmp_path / 'mistyped'}: check the path; waiting" in view.counts.object
    view.follow(str(later))
    _write_sweep(later, [("a", "done", 120)], {"a": np.linspace(0, 1, 121)})
    view.poll()
    assert "data-done='1'" in view.counts.object and len(view.lines.data["xs"]) == 1
    failed = tmp_path / "failed"  # only failed runs: no end year, no curve
    _write_sweep(failed, [("a", "failed", None)], {})
    view.follow(str(failed))
    assert notes() == (sweep_view.NOTE_NONE_DONE, sweep_view.NOTE_NONE_DONE)
    never = tmp_path / "never"  # runs done that never reached the end: curves, no end year
    _write_sweep(never, [("a", "done", None)], {"a": np.full(50, 0.5)})
    view.follow(str(never))
    assert notes() == (sweep_view.NOTE_NONE_ENDED, None)


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory):
    """A sweep folder written by tikkun sweep itself: quick, 40 years, 500 souls, two seeds, one
    good and one invalid value of light.beta (2 runs done, 2 failed)."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    import tikkun

    root = tmp_path_factory.mktemp("sweep")
    spec = root / "small.toml"
    spec.write_text('base = "quick"\nseeds = [20, 21]\nyears = 40\nset = { "souls.count" = 500 }\n'
                    '[grid]\n"light.beta" = [0.5, -1.0]\n')
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        result = tikkun.sweep(spec, out=root / "out", client=client)
    return root / "out", result


def test_sweep_panel_reads_what_tikkun_sweep_writes(real_sweep):
    folder, result = real_sweep
    assert sweep_view.planned_runs(folder) == 4  # 2 seeds x 2 values of light.beta
    st = sweep_view.read_status(folder, sweep_view.planned_runs(folder))
    assert (st.done, st.failed, st.left) == (2, 2, 0)
    runs = result.runs
    ends = runs.loc[runs["status"] == "done", "end_year"]
    assert st.never_ended == int(ends.isna().sum()) and len(st.end_years) == int(ends.notna().sum())
    reader = sweep_view.MetricsReader(folder)
    assert reader.update()
    assert sorted(reader.curves) == sorted(runs.loc[runs["status"] == "done", "run_id"])
    for rid, (years, c) in reader.curves.items():
        m = result.metrics[result.metrics["run_id"] == rid]
        np.testing.assert_array_equal(years, m["year"].to_numpy())
        np.testing.assert_array_equal(c, m["cleansing_mean"].to_numpy())


def test_sweep_tab_says_what_a_folder_that_is_not_a_sweep_is(real_sweep, tmp_path):
    """A folder without sweep.toml and sweep.parquet is not "waiting" for a sweep: the tab says it
    is not a sweep's folder and names the sweep near it (a run's folder of a sweep, a parent)."""
    folder, result = real_sweep
    view = sweep_view.SweepView()
    (tmp_path / "empty").mkdir()
    view.follow(str(tmp_path / "empty"))
    assert "is not a sweep's folder" in view.counts.object and "waiting" not in view.counts.object
    a_run = folder / "runs" / result.runs["run_id"].iloc[0]
    view.follow(str(a_run))
    assert "is not a sweep's folder" in view.counts.object and f"in the sweep {folder}<" in view.counts.object
    view.follow(str(folder.parent))
    assert f"the sweep folders in it: {folder.name}<" in view.counts.object
    view.follow(str(folder))
    assert "tk-sweep-counts" in view.counts.object


def test_sweep_tab_names_the_failed_runs_and_their_reasons(real_sweep):
    folder, result = real_sweep
    failed = result.runs[result.runs["status"] == "failed"]
    assert len(failed) == 2
    st = sweep_view.read_status(folder)
    assert [rid for rid, _ in st.failures] == list(failed["run_id"])
    view = sweep_view.SweepView()
    view.follow(str(folder))
    for rid, error in zip(failed["run_id"], failed["error"]):
        assert rid in view.counts.object
        last = [ln for ln in error.splitlines() if ln.strip()][-1]  # the problem, e.g. light.beta: ...
        assert html_escape(last.strip(), quote=False) in view.counts.object


def test_sweep_curves_are_coloured_by_what_differs_but_the_seed(tmp_path):
    """The runs of one grid point (or variant) differ by their seed only: one colour and one
    legend entry for them, another for each other point; every line names its run on hover."""
    from tikkun.sweep.spec import Base, SweepSpec, plan

    spec = SweepSpec(base=Base("preset", "quick", {}), seeds=(20, 21, 22), set={},
                     grid={"light.alpha": [0.05, 0.1], "light.beta": [0.5, 1.0]}, variants=(), years=None, points=None)
    runs = plan(spec)
    curves = {r.run_id: (np.arange(3.0), np.full(3, 0.1)) for r in runs}
    data = sweep_view.lines_data(curves)
    point = {r.run_id: r.varying for r in runs}
    colour = dict(zip(data["run"], data["color"]))
    for a in runs:
        for b in runs:
            assert (colour[a.run_id] == colour[b.run_id]) == (a.varying == b.varying), (a.run_id, b.run_id)
    assert len(set(data["group"])) == 4 and sorted(data["run"]) == sorted(point)
    view = sweep_view.SweepView()
    _write_sweep(tmp_path / "s", [(r, "done", None) for r in curves], {r: np.linspace(0, 1, 5) for r in curves})
    view.follow(str(tmp_path / "s"))
    assert view.legend.visible and sorted(view.lines.data["run"]) == sorted(curves)


def test_sweep_legend_names_what_tells_a_group_apart_in_a_few_words():
    """Two variants on a grid of two keys: ids of some 70 characters; the legend gives each group
    what not every group shares, at most LEGEND_CHARS characters (a legend of whole ids took the
    figure's width); the whole id stays on hover."""
    ids = [f"variant={v},light.alpha={a},light.beta=0.5,seed=20" for v in ("with-a-long-name", "other")
           for a in (0.05, 0.1)]
    data = sweep_view.lines_data({r: (np.arange(3.0), np.full(3, 0.1)) for r in ids})
    label = dict(zip(data["run"], data["label"]))
    # light.beta=0.5, every group's, left out; alpha by its last name
    assert label[ids[3]] == "variant=other, alpha=0.1" and label[ids[0]] == "variant=with-a-\u2026name, alpha=0.05"
    assert all(len(t) <= sweep_view.LEGEND_CHARS for t in data["label"]) and len(set(data["label"])) == 4
    # cut labels that would be alike (the legend would merge them) are numbered in the groups' order
    alike = sweep_view.legend_labels([f"variant=the-start-of-{v}-and-a-long-tail-of-words,light.beta=0.5" for v in "xy"])
    assert sorted(alike.values()) == ["1. variant=the-\u2026ng-tail-of-words", "2. variant=the-\u2026ng-tail-of-words"]
    # two keys of one last name keep their whole names
    assert set(sweep_view.legend_labels(["light.rate=1,impurity.rate=2", "light.rate=2,impurity.rate=3"]).values()) \
        == {"light.rate=1, impurity.rate=2", "light.rate=2, impurity.rate=3"}
    assert sweep_view.legend_labels(["light.beta=0.5"]) == {"light.beta=0.5": "beta=0.5"}  # one group: all of it


def test_claims_seeds_field():
    from tikkun.dash.claims import parse_seeds

    assert parse_seeds("20, 21") == [20, 21] and parse_seeds(" 7 8,9 ") == [7, 8, 9]
    for bad in ("", "20, x", "-1"):
        with pytest.raises(ValueError, match="seeds:"):
            parse_seeds(bad)
    with pytest.raises(ValueError, match="seeds: seed 20 is given twice; give each seed once"):
        parse_seeds("20, 21 20")


def _dashboard():
    from tikkun.dash.app import Dashboard

    return Dashboard(600_000)  # its widgets and figures, without a server or a browser


def test_the_sidebar_shows_the_scenarios_knobs_only_beside_the_tabs_that_use_them():
    """Run and Genesis use the sidebar's scenario; beside Claims and Sweep, which have their own
    controls, the knobs give way to a line naming those, and come back as they were left."""
    from tikkun.dash.app import OWN_CONTROLS

    d = _dashboard()
    d.view()
    d.seed.value = 7
    assert d.tab_names == ["Run", "Genesis", "Claims", "Sweep"] and sorted(OWN_CONTROLS) == ["Claims", "Sweep"]
    for index, name in enumerate(d.tab_names):
        d.tabs.active = index
        own = name in OWN_CONTROLS
        assert d.knobs.visible is not own and d.knobs_elsewhere.visible is own, name
        assert d.knobs_elsewhere.object == (OWN_CONTROLS[name] if own else "")
        assert (f"<b>{name}</b>" in d.knobs_elsewhere.object) is own
    d.tabs.active = 0
    assert d.knobs.visible and d.seed.value == 7


def test_the_knobs_say_which_years_the_scenarios_events_override():
    """The history's own events (read from its preset file) that set or scale a knob's key are named
    under the knobs with their years; a scenario without such events shows no note."""
    import tomllib

    from tikkun.dash.app import SLIDERS
    from tikkun.scenario.loading import preset_text

    d = _dashboard()
    d.source.value = "history"
    raw = tomllib.loads(preset_text("history"))
    on_knobs = [e for e in raw["events"] if e["kind"] in ("set", "scale") and e["key"] in SLIDERS]
    assert {e["key"] for e in on_knobs} >= {"light.practice", "impurity.rate"}
    note = d.knob_note.object
    for e in on_knobs:
        last = e.get("until", raw["run"]["years"]) - 1
        assert f"{e['label']}, {e['year']:,}-{last:,}" in note, e
    d.upload.filename = "plain.toml"
    d.upload.value = b'name = "plain"\n[run]\nyears = 50\n[souls]\ncount = 100\n'
    assert d.knob_note.object == ""


def test_before_a_run_the_years_axis_is_the_chosen_scenarios():
    """With no run on the page the yearly figures span the chosen scenario's horizon (read here
    from its preset file) and mark its eras; choosing another scenario moves them; a paused run's
    figures stay as they are while a knob changes."""
    import tomllib

    from tikkun.scenario.loading import preset_text

    d = _dashboard()
    for name in ("history", "quick"):
        d.source.value = name
        years = tomllib.loads(preset_text(name))["run"]["years"]
        rng = d.live_figures.x_range
        assert (rng.start, rng.end) == (0, years), name
    d.source.value = "history"
    assert "Torah era" in d.live_figures.marks["eras"].data["text"]
    d.source.value = "quick"
    d.souls.value = 500
    d._step()  # a run on the page: its figures are its own from now on
    try:
        shown = dict(d.live_figures.marks["eras"].data)
        d.source.value = "history"
        assert d.live_figures.x_range.end == tomllib.loads(preset_text("quick"))["run"]["years"]
        assert dict(d.live_figures.marks["eras"].data) == shown
    finally:
        d.live.close(wait=60)


def test_uploaded_scenario_chosen_again_is_loaded_again(tmp_path):
    d = _dashboard()
    d.upload.filename = "mine.toml"
    d.upload.value = b'name = "mine"\n[run]\nseed = 20\nyears = 400\n[souls]\ncount = 1500\n'
    assert d.source.value == "file: mine.toml" and "ready</span>: mine, 1,500 souls" in d.status.object
    d.source.value = "quick"
    assert "ready</span>: quick," in d.status.object
    d.source.value = "file: mine.toml"
    assert d.base_origin == "mine.toml" and d.souls.value == 1500
    assert "ready</span>: mine, 1,500 souls" in d.status.object


def test_an_empty_scenario_file_is_loaded_as_the_command_line_loads_it(tmp_path):
    """An empty .toml file is a scenario of defaults for the command line; uploaded after a bad
    file it was ignored, and the bad file's error stayed on the page."""
    d = _dashboard()
    cleared = []
    d.upload.clear = lambda: cleared.append(d.upload.filename)  # the browser's chooser emptied
    d.upload.filename = "bad.toml"
    d.upload.value = b"this is = not [toml\n"
    assert d.error.visible and "bad.toml" in d.error.object
    assert cleared == ["bad.toml"]  # a refused file's name does not stay as if it were loaded
    (tmp_path / "empty.toml").write_text("")
    want = api.load_scenario(tmp_path / "empty.toml")
    d.upload.filename = "empty.toml"
    d.upload.value = b""
    assert not d.error.visible
    assert d.source.value == "file: empty.toml"
    assert d.scenario() == want
    assert f"ready</span>: {want.name}, {want.souls.count:,} souls" in d.status.object


def test_status_describes_the_run_and_labels_the_knobs_for_the_next():
    d = _dashboard()
    d.source.value = "quick"
    d.souls.value, d.seed.value = SOULS, 20
    live = d._current()  # the run the status describes (not started: no thread)
    assert "<small id='tk-next'" not in d.status.object
    d.seed.value = 99  # a pending change: the run shown is still seed 20's
    run_line, _, next_line = d.status.object.partition("id='tk-next'")
    assert live.scenario.run.seed == 20 and "seed 20" in run_line and "run.seed" not in run_line
    assert "Run starts a new one" in next_line and "seed 99" in next_line and "run.seed = 99" in next_line
    d.seed.value = 20  # back to the run's knobs: nothing pending
    assert "tk-next" not in d.status.object
    d.souls.value = None
    assert "tk-next" in d.status.object and "make no scenario" in d.status.object


def test_a_knob_typed_back_as_its_box_shows_it_is_the_scenarios_value():
    """The mean warmth of `quick` is 2/7, shown 0.285714: typed back so, it is no change (it ran
    Beta(1.999998, 5.000002) while the status line said warmth_a = 2, warmth_b = 5); a mean out
    of (0, 1) is named by its knob, not by the a or b it moves."""
    d = _dashboard()
    d.source.value = "quick"
    d.souls.value = SOULS
    base, souls_only = d.scenario(), d.overrides()
    assert set(souls_only) == {"souls.count"}
    for q in ("warmth", "attachment"):
        w = d.means[q]
        shown = float(f"{w.value:.6g}")
        assert shown != w.value or q == "attachment"  # 2/7 is not exact at six digits (1/5 is)
        w.value = 0.3
        assert set(d.overrides()) == {"souls.count", f"souls.{q}_a", f"souls.{q}_b"}
        w.value = shown
        assert d.overrides() == souls_only and d.scenario() == base
        for bad in (1.5, 1.0, 0.0, -0.2):
            w.value = bad
            assert d.error.visible and (f"{MEANS[q]}: the mean of a Beta law, strictly between 0 and 1 (got {bad:g})"
                                        in d.error.object), d.error.object
            assert "data-phase='not ready'" in d.status.object
        w.value = shown
        assert not d.error.visible
    d.sliders["light.alpha"].value = 0.3125
    assert d.overrides() == souls_only | {"light.alpha": 0.3125}  # a change the box shows is one


def test_a_year_before_0_is_refused_where_it_is_typed():
    """A year before 0 for the one soul purified or the pause is named in the error box and Run
    waits (the boxes had a lowest value: the browser kept a -1 typed in while the runs used the
    last good year); emptied, the knobs are good again."""
    d = _dashboard()
    d.source.value = "quick"
    d.souls.value = SOULS
    for box, said in ((d.one_soul, "one soul purified in year: -1 is not a year of the run"),
                      (d.pause_after, "pause after year: -1 is not a year (0 or later)")):
        box.value = -1
        assert d.error.visible and said in d.error.object, said
        assert "data-phase='not ready'" in d.status.object
        assert d._current() is None  # Run does nothing
        box.value = None
        assert not d.error.visible and "data-phase='ready'" in d.status.object
    d.pause_after.value = 0
    assert not d.error.visible and d._current().pause_after == 0


def test_the_status_says_the_first_year_waits_on_the_kernels():
    """Before a running run's first year the status gives what the run says it waits on (the
    kernels compiling, minutes on a first run); after it, that it runs."""
    from tikkun.dash.live import Phase

    d = _dashboard()
    d.source.value = "quick"
    d.souls.value = SOULS
    live = d._current()  # not started: its phase and message set here as its thread sets them
    live.phase, live.message = Phase.RUNNING, "the first year: compiling the engine's kernels if this is the first run"
    d._status()
    assert "compiling the engine" in d.status.object and "year 0 not yet run" in d.status.object
    d._last_row = {"year": 0, "cleansing_mean": 0.0, "weakest_link": 0.0}
    live.message = "running"
    d._status()
    assert "<i>running</i>" in d.status.object and "compiling" not in d.status.object


def test_one_soul_purified_is_the_command_lines_event_and_is_named():
    """The page's "one soul purified in year" adds to the scenario exactly the shepherds event
    `tikkun explain questions` gives for the command line (the least cleansed soul, a shepherd to
    its generation's end), named in the status line and marked on the figures; a year outside the
    run is refused with the control's name; emptied, the scenario is the preset's again."""
    from tikkun.api import resolve_scenario
    from tikkun.dash.app import ONE_SOUL

    d = _dashboard()
    d.source.value = "history"
    d.souls.value = 3_000
    plain = d.scenario()
    d.one_soul.value = 1_000
    event = {"kind": "shepherds", "year": 1000, "group": {"count": 1, "lowest": "cleansing"},
             "label": "one soul purified"}
    assert d.scenario() == resolve_scenario(preset="history", souls=3_000, events=[event])
    assert len(d.scenario().events) == len(plain.events) + 1
    assert f"{ONE_SOUL} = 1,000" in d.status.object
    d._current()
    assert "one soul\npurified" in list(d.live_figures.marks["labels"].data["text"])  # wrapped in two lines
    d._reset()
    d.one_soul.value = 6_000
    assert d.error.visible and f"{ONE_SOUL}: 6,000 is not a year of the run (0 to 5,999)" in d.error.object
    d.one_soul.value = None
    assert not d.error.visible and d.scenario() == plain


def test_the_status_notes_the_history_at_another_population():
    """A class runs the history at 20,000 souls: the status line says before and during the run
    that its years are not the history's (the calibration is for 600,000); the quick world, or
    the history at 600,000, has no such note."""
    d = _dashboard()
    d.source.value = "history"
    d.souls.value = 20_000
    assert "id='tk-population'" in d.status.object and "at 20,000 the end comes sooner" in d.status.object
    d._current()
    d._status()
    assert "id='tk-population'" in d.status.object and "not 6,000" in d.status.object
    d.souls.value = 600_000
    d._reset()
    assert "tk-population" not in d.status.object
    d.source.value = "quick"
    assert "tk-population" not in d.status.object


def test_the_run_before_stays_dashed_under_the_next_and_the_status_names_it():
    """A new run (a knob moved, or Reset) keeps the run shown as the run before: its C and G as
    the page showed them, drawn dashed in the correction's and G's figures, and named under the
    status; a page that has run nothing shows no such line."""
    d = _dashboard()
    assert not any(r.visible or item.visible for r, item in d.live_figures.previous_lines)
    assert len(d.live_figures.previous_lines) == 3  # C and G in the correction's figure, G in its own
    d.source.value = "quick"
    d.souls.value, d.seed.value = SOULS, 20
    d.pause_after.value = 12
    d._run()
    _wait(lambda: (d.poll(), d.live.phase is live_mod.Phase.PAUSED)[1], FIRST_YEAR_TIMEOUT, "the pause after year 12")
    d.poll()
    shown = {c: list(d.live_figures.series.data[c]) for c in ("year", "cleansing_mean", "weakest_link")}
    assert shown["year"][-1] == 12
    d.seed.value = 21
    d._step()  # the knobs differ: a new run, and the one shown becomes the run before
    try:
        prev = d.live_figures.previous.data
        assert {c: list(prev[c]) for c in shown} == shown
        assert all(r.visible and item.visible for r, item in d.live_figures.previous_lines)
        assert d.live_figures.series.data["year"] == []  # the new run's years, none yet
        _wait(lambda: (d.poll(), d.live.phase is live_mod.Phase.PAUSED)[1], 60, "the new run's year 0")
        assert d.live_figures.series.data["year"] == [0]
        line = d.status.object.partition("id='tk-previous'")[2]
        assert "seed 20" in line and "to year 12" in line and f"C = {shown['cleansing_mean'][-1]:.6g}" in line
        ref = api.run(api.resolve_scenario(preset="quick", souls=SOULS, years=13))
        np.testing.assert_array_equal(np.asarray(prev["cleansing_mean"]), ref.metrics["cleansing_mean"])
        # G's log axis holds the run before's G, which the new run has not reached yet
        g = np.asarray(prev["weakest_link"])
        fig_g = d.live_figures.series_figures[plots.G_LOG]
        assert fig_g.y_range.start <= g[g > 0].min() and fig_g.y_range.end >= g.max()
        # Reset: the run shown (seed 21's, one year) becomes the run before, and names itself so
        d._reset()
        assert list(d.live_figures.previous.data["year"]) == [0]
        assert "seed 21" in d.status.object.partition("id='tk-previous'")[2]
    finally:
        if d.live is not None:
            d.live.close(wait=5)


def test_a_run_ended_without_shocks_says_none_came():
    """While a run goes its shocks figure says "no shocks so far"; once it has ended with none
    (quick's 400 years have no shock), that none came."""
    d = _dashboard()
    d.source.value = "quick"
    d.souls.value, d.seed.value = SOULS, 20
    d._run()
    try:
        _wait(lambda: (d.poll(), d.live.phase is live_mod.Phase.FINISHED)[1], FIRST_YEAR_TIMEOUT, "the run's end")
        d.poll()
        shocks = d.live_figures.series_figures[plots.SHOCKS]
        assert max(d.live_figures.series.data["shocks"]) == 0 and d.live_figures.series.data["year"][-1] == 399
        assert d.live_figures.notes[shocks.name].text == plots.NOTE_NONE_CAME
    finally:
        d.live.close(wait=5)


def test_the_status_says_paused_only_with_the_year_of_the_pause():
    """The page's refresh takes the rows, draws them, then writes the status: a run that reaches its
    pause meanwhile must not show "paused" beside a year before the pause (it showed "year 271 ...
    paused" on the way to a pause after year 300, the figures slow on a loaded server). The figures
    are made slow here: the refresh draws until the run has paused."""
    import re

    d = _dashboard()
    d.source.value = "quick"
    d.souls.value, d.seed.value = SOULS, 20
    d.speed.value = "30 years a second"
    d.pause_after.value = 12
    d._run()
    try:
        _wait(lambda: d.live.year >= 3, FIRST_YEAR_TIMEOUT, "year 3")
        add = d.live_figures.add_rows

        def slow(rows):  # the thread reaches its pause while the figures draw
            add(rows)
            _wait(lambda: d.live.phase is live_mod.Phase.PAUSED, 30, "the pause after year 12")

        d.live_figures.add_rows = slow
        d.poll()
        year, phase = re.search(r"data-year='(-?\d+)' data-phase='(\w+)'", d.status.object).groups()
        assert phase == "running" and int(year) < 12, (year, phase)
        assert "pausing after year 12" in d.status.object
        d.live_figures.add_rows = add
        d.poll()
        assert re.search(r"data-year='(-?\d+)' data-phase='(\w+)'", d.status.object).groups() == ("12", "paused")
    finally:
        d.live.close(wait=5)


def test_empty_souls_box_asks_for_a_number_and_does_not_invite_run():
    d = _dashboard()
    d.souls.value = None
    assert d.error.visible and "souls: give a number of souls, from 1 to 600,000" in d.error.object
    assert "got None" not in d.error.object
    assert "data-phase='not ready'" in d.status.object and "Press Run" not in d.status.object
    d._run()
    assert d.live is None
    d.souls.value = SOULS
    assert not d.error.visible and "Press Run" in d.status.object


def test_the_seed_box_asks_for_a_number_a_browser_keeps_whole():
    """An empty seed box asks for a number (not "got None"); a seed from 2**53 on, which the browser
    rounds before the server sees it (9007199254740993 arrives as ...992), is refused, not run as
    another seed; the largest it keeps whole runs."""
    d = _dashboard()
    d.source.value = "quick"
    d.souls.value = SOULS
    d.seed.value = None
    assert d.error.visible and "seed: give a whole number, from 0 to 9,007,199,254,740,991" in d.error.object
    assert "None" not in d.error.object and "Press Run" not in d.status.object
    d.seed.value = 2**53
    assert d.error.visible and "seed: at most 9,007,199,254,740,991 in this dashboard" in d.error.object
    assert d._current() is None
    d.seed.value = 2**53 - 1
    assert not d.error.visible and d._current().scenario.run.seed == 2**53 - 1


def test_genesis_tab_follows_the_seed_and_its_button_comes_back_after_a_failure():
    from tikkun.scenario.loading import _parse_toml, preset_text

    d = _dashboard()
    raw = _parse_toml(preset_text("history"), "history")
    raw["genesis"]["n"] = 32  # a small vessel: seconds
    d._set_base(raw, "history, 32 x 32")
    d._run_genesis()
    d._genesis_thread.join(60)
    d.poll()
    assert "tk-genesis-stage" in d.genesis.caption.object and d.genesis_button.disabled
    assert not any(n.visible for n in d.genesis.notes.values())
    seed = d.seed.value
    d.seed.value = seed + 1  # another seed, another vessel: not the one shown
    assert "tk-genesis-stage" not in d.genesis.caption.object and not d.genesis_button.disabled
    assert d.genesis.image.title.text == "The vessel's field phi" and len(d.genesis.curves.data["step"]) == 0
    d.seed.value = seed  # back: the vessel kept for the session
    assert "tk-genesis-stage" in d.genesis.caption.object and d.genesis_button.disabled
    d.seed.value = seed + 2
    d.genesis_button.disabled = True
    d._vessel_in = RuntimeError("no memory")  # what the genesis' thread hands over when it fails
    d.poll()
    assert "no memory" in d.genesis.caption.object and not d.genesis_button.disabled
    assert {n.text for n in d.genesis.notes.values() if n.visible} == {genesis_view.NOTE_FAILED}


def test_genesis_tab_says_a_run_is_making_its_vessel(monkeypatch):
    """While a run's first year computes the vessel, the genesis tab says so and its button waits
    (it invited a second genesis of the same vessel); the vessel then shows; a run that fails
    before its vessel gives the button back with the reason."""
    from tikkun.dash import app
    from tikkun.scenario.loading import _parse_toml, preset_text

    real, gate = api.genesis, threading.Event()

    def slow_genesis(sc):
        gate.wait(60)
        return real(sc)

    monkeypatch.setattr(app.api, "genesis", slow_genesis)
    monkeypatch.setattr(live_mod.api, "genesis", slow_genesis)
    d = _dashboard()
    raw = _parse_toml(preset_text("history"), "history")
    raw["genesis"]["n"] = 32
    raw["souls"]["count"] = 500
    d._set_base(raw, "history, 32 x 32")
    assert not d.genesis_button.disabled
    d._step()
    _wait(lambda: d.live.alive, 10, "the run's thread")
    d.poll()
    assert d.genesis_button.disabled and "running the genesis with the run" in d.genesis.caption.object
    assert {n.text for n in d.genesis.notes.values() if n.visible} == {genesis_view.NOTE_RUNNING}
    d._run_genesis()  # the button's handler, were it pressed: no second genesis
    assert d._genesis_thread is None
    gate.set()
    _wait(lambda: (d.poll(), "tk-genesis-stage" in d.genesis.caption.object)[1], FIRST_YEAR_TIMEOUT, "the vessel")
    assert d.genesis_button.disabled
    d.live.close(wait=30)

    fail = threading.Event()

    def broken(sc):
        fail.wait(60)
        raise MemoryError("no room for the vessel")

    monkeypatch.setattr(live_mod.api, "genesis", broken)
    d.seed.value = d.seed.value + 1  # another vessel, not made yet
    assert not d.genesis_button.disabled
    d._step()
    _wait(lambda: d.live.alive, 10, "the run's thread")
    d.poll()
    assert d.genesis_button.disabled
    fail.set()
    _wait(lambda: (d.poll(), not d.genesis_button.disabled)[1], 30, "the button back")
    assert "no room for the vessel" in d.genesis.caption.object


def test_claims_tab_clears_the_last_result_when_another_claim_is_chosen(tmp_path):
    from PIL import Image

    from tikkun.dash import claims
    from tikkun.dash.claims import ClaimsView

    view = ClaimsView(2_000)
    png = tmp_path / "figure.png"
    Image.new("RGB", (4, 4), "white").save(png)
    first, other = list(view.experiments)[:2]
    view._done = ({"name": first, "seconds": 14.0, "verdict": "holds", "summary": "as claimed"}, png)
    view.poll()  # what the worker hands over when the experiment finishes
    assert "finished in 14 s" in view.status.object and "holds" in view.verdict.object
    assert view.figure.object is not None
    # the figure at full size: served by its token (claims.FigureHandler) as long as it is shown
    token = re.search(r"href='claim-figure/([A-Za-z0-9_-]+)\.png'", view.figure_link.object).group(1)
    assert claims.FIGURES[token] == png.read_bytes()
    assert view.figure.max_width == 4  # the PNG's own width: never enlarged past it
    assert re.fullmatch(claims.figure_route()[0], f"/claim-figure/{token}.png")
    view.select.value = other
    assert view.status.object == "" and view.verdict.object == "" and view.figure.object is None
    assert view.figure_link.object == "" and token not in claims.FIGURES


def test_claims_tab_keeps_its_claim_while_it_runs_and_asks_for_souls(monkeypatch, tmp_path):
    """While an experiment runs no other claim can be chosen (its verdict came under the other's
    description); an empty souls box asks for a number (it said int()'s TypeError)."""
    import tikkun.dash.claims as claims

    monkeypatch.setattr(claims.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(threading.Thread, "start", lambda self: None)  # the worker's end is played below
    view = claims.ClaimsView(2_000)
    view.souls.value = None
    view._run()
    assert "souls: give a number of souls, from 1 to 2,000" in view.status.object and "int()" not in view.status.object
    assert not view._running and not view.select.disabled
    view.seeds.value, view.souls.value = "20", 300
    view._run()
    assert view._running and view.select.disabled and view.button.disabled
    png = tmp_path / "figure.png"
    png.write_bytes(b"")  # its bytes are not looked at here
    view._done = ({"name": "x", "seconds": 1.0, "verdict": "holds", "summary": "as claimed"}, png)
    view._show_figure = lambda png: None  # no figure in this play of the worker's end
    view._finish()
    view.poll()
    assert "holds" in view.verdict.object
    view.souls.value = 0  # refused: the verdict of the run before does not stay under the error
    view._run()
    assert "souls: between 1 and 2,000" in view.status.object and view.verdict.object == ""
    view.souls.value = 300
    view._run()
    view._done = (None, "stopped")
    view._finish()
    view.poll()
    assert not view.select.disabled and not view.button.disabled
    view.close()


def test_claims_tab_shows_an_experiments_refusal_as_its_message_alone(monkeypatch, tmp_path, caplog):
    """An experiment that refuses its input (a SweepError, a ValueError) shows its message, not
    its class's name, and the server's log has no traceback for it; another error keeps both."""
    import contextlib

    import tikkun.dash.claims as claims
    import tikkun.experiments.core as core
    import tikkun.sweep.driver as driver
    from tikkun.sweep.spec import SweepError

    monkeypatch.setattr(driver, "connect", lambda **kw: contextlib.nullcontext(None))
    view = claims.ClaimsView(2_000)
    exp = view.experiments[view.select.value]
    for error, shown in ((SweepError("seeds: seed 20 is given twice"), "error: seeds: seed 20 is given twice"),
                         (RuntimeError("worker lost"), "error: RuntimeError: worker lost")):
        def refuse(*a, error=error, **k):
            raise error

        monkeypatch.setattr(core, "run", refuse)
        caplog.clear()
        view._running = True
        view._work(exp, [20], 300, tmp_path)
        view.poll()
        assert shown in view.status.object
        assert any(r.exc_info for r in caplog.records) is isinstance(error, RuntimeError)
    view.close()


def test_claims_tab_starts_at_each_claims_own_size_and_says_when_a_verdict_is_not_at_it(tmp_path):
    """A claim chosen brings its own population (docs/claims.md's, at most 60,000 and the page's
    cap); a verdict measured at another says so under it, with the claim's own size and why."""
    from PIL import Image

    from tikkun.dash.claims import ClaimsView
    from tikkun.experiments import EXPERIMENTS

    view = ClaimsView(600_000)
    for name, exp in EXPERIMENTS.items():
        view.select.value = name
        assert view.souls.value == min(exp.souls, 60_000), name
    first = next(iter(EXPERIMENTS.values()))
    assert ClaimsView(2_000).souls.value == min(first.souls, 2_000)
    png = tmp_path / "figure.png"
    Image.new("RGB", (4, 4), "white").save(png)
    exp = EXPERIMENTS["one-for-all"]
    record = {"name": "one-for-all", "seconds": 9.0, "verdict": "holds", "summary": "s", "seeds": [20, 21],
              "shared": {"souls.count": 2_000, **exp.set}}
    view._done = (record, png)
    view.poll()
    note = view.verdict.object.split("id='tk-claim-size'")[1]
    assert "at 2,000 souls, seeds 20, 21: not the claim's own 600,000 souls" in note and exp.why_size[:40] in note
    view._done = ({**record, "shared": {"souls.count": 600_000}}, png)
    view.poll()
    assert "at 600,000 souls, seeds 20, 21: the claim's own size" in view.verdict.object


def test_host_and_port_checks():
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        assert is_loopback(host) and host_warning(host, 8050) is None
    for host in ("0.0.0.0", "192.168.1.5", "::", "example.org"):
        assert not is_loopback(host)
        assert host in host_warning(host, 8050) and "warning" in host_warning(host, 8050)
    with pytest.raises(ServeError, match="--port: must be between 1 and 65535"):
        check_port("127.0.0.1", 70000)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ServeError, match=r"cannot listen there \(.*\); choose another --port"):
            check_port("127.0.0.1", s.getsockname()[1])
    # a host that is no name or no address of this machine is the --host's fault, not the port's
    for host in ("no such host!", "999.1.1.1", "192.0.2.1"):  # 192.0.2.0/24: documentation, never assigned
        with pytest.raises(ServeError, match=rf"^--host {re.escape(host)}: cannot listen there .*give an address "
                                             "of this machine") as info:
            check_port(host, 8050)
        assert "--port" not in str(info.value)


@pytest.mark.parametrize("souls", [0, -5, 50_000_001])
def test_max_souls_within_what_a_scenario_allows(souls):
    """Above the scenario's own bound on souls.count the page offered runs every scenario refuses."""
    from tikkun.dash.server import serve

    with pytest.raises(ServeError, match=r"^--max-souls: must be a positive number of souls, at most 50,000,000"):
        serve(max_souls=souls)


def test_claims_view_makes_its_folder_only_to_run_and_removes_it(monkeypatch, tmp_path):
    import atexit

    import tikkun.dash.claims as claims

    pytest.importorskip("distributed")  # imported before atexit.register is replaced below
    monkeypatch.setattr(claims.tempfile, "tempdir", str(tmp_path))
    view = claims.ClaimsView(2_000)
    assert list(tmp_path.iterdir()) == []  # a page that runs no experiment makes no folder
    calls = []
    monkeypatch.setattr(atexit, "register", lambda f: calls.append(("register", f)))
    monkeypatch.setattr(atexit, "unregister", lambda f: calls.append(("unregister", f)))
    monkeypatch.setattr(threading.Thread, "start", lambda self: None)  # the worker's end is played below
    view.seeds.value, view.souls.value = "20", 300
    view._run()
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith("tikkun-dash-claims-")
    assert calls == [("register", view._remove_at_exit)]  # a server stopped first removes it too
    view.close()  # the page closes while the experiment runs: its writes would make the folder again
    assert folder.is_dir()
    view._finish()  # the worker ends
    assert list(tmp_path.iterdir()) == []
    assert calls == [("register", view._remove_at_exit), ("unregister", view._remove_at_exit)]
    view.close()  # a second close is harmless

    idle = claims.ClaimsView(2_000)
    idle.seeds.value, idle.souls.value = "20", 300
    idle._run()
    idle._finish()  # an experiment that ended before the page closed: the folder goes at the close
    assert len(list(tmp_path.iterdir())) == 1
    idle.close()
    assert list(tmp_path.iterdir()) == []


def test_serve_refuses_bad_options_with_exit_code_2():
    out = subprocess.run([sys.executable, "-m", "tikkun", "serve", "--port", "0"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert "--port: must be between 1 and 65535 (got 0)" in out.stderr


# ====================================================================== in a browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    """Whether a server listens on the loopback ``port`` (a connection only: a GET of the page
    would open a session each time)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _serve(tmp: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """``python -m tikkun serve`` on a free loopback port with ``tmp`` as its temporary folder,
    what it prints in the file ``log`` (a pipe no one reads while it runs would fill, and the
    server would stop at its next line)."""
    port = _free_port()
    env = dict(os.environ, NUMBA_NUM_THREADS="1", TMPDIR=str(tmp))
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "tikkun", "serve", "--port", str(port)], env=env,
                                stdout=fh, stderr=subprocess.STDOUT, text=True)

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"tikkun serve ended: {log.read_text()}")
        return _listening(port)

    try:
        _wait(up, 120, "tikkun serve to answer", every=0.25)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-tmp")  # the server's temporary folder, checked when it stops
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    proc, url = _serve(tmp, log)
    SERVER_LOG[url] = log
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # stopped by SIGTERM with pages still open (the claims tab ran an experiment): nothing left behind
    assert proc.returncode == 130, log.read_text()  # SIGTERM: tikkun's commands stop as on an interrupt
    assert sorted(p.name for p in tmp.iterdir()) == []  # nor Dask's dask-scratch-space


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is missing at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


SERVER_LOG: dict[str, Path] = {}  # a server's printed lines by its URL: a timed-out wait shows their end


class Page:
    """A dashboard page in a browser tab, with the console's errors collected."""

    def __init__(self, browser, url: str):
        self.url = url
        self.page = browser.new_page(viewport={"width": 1600, "height": 1000})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_selector("#tk-year", timeout=60_000)

    def __getattr__(self, name):
        return getattr(self.page, name)

    def year(self) -> int:
        return int(self.page.locator("#tk-year").get_attribute("data-year"))

    def phase(self) -> str:
        return self.page.locator("#tk-year").get_attribute("data-phase")

    def set_number(self, css: str, value) -> None:
        self.page.bring_to_front()
        box = self.page.locator(f"{css} input").first
        box.fill(str(value))
        box.press("Enter")

    def nudge(self, css: str, steps: int) -> None:
        """Move a slider ``steps`` steps to the right with the keyboard, as a reader would."""
        handle = self.page.locator(f"{css} .noUi-handle")
        handle.focus()
        for _ in range(steps):
            handle.press("ArrowRight")

    def scenario(self, name: str) -> None:
        self.page.bring_to_front()
        self.page.locator(".tk-scenario select").select_option(name)

    def speed(self, label: str) -> None:
        self.page.bring_to_front()
        self.page.locator(".tk-speed select").select_option(label)

    def press(self, css: str) -> None:
        self.page.bring_to_front()  # a tab behind another gets few animation frames: clicks wait for them
        self.page.locator(f"{css} button").click()

    def text(self, css: str) -> str:
        return self.page.locator(css).inner_text()

    def wait(self, pred, timeout: float, what: str):
        try:
            return _wait(pred, timeout, what, every=0.2)
        except AssertionError as exc:  # what the page said then: the reason is usually there
            status = self.page.locator("#tk-status").inner_text() if self.page.locator("#tk-status").count() else ""
            log = SERVER_LOG.get(self.url)
            printed = log.read_text()[-3000:] if log is not None and log.exists() else ""
            # what the server last sent, beside what the page shows: they differ where the page
            # stopped drawing, not the server sending
            sent = self.page.evaluate("""() => { for (const doc of Bokeh.documents) for (const m of doc.all_models)
                if (typeof m.text === 'string' && m.text.includes('tk-status')) return m.text; return null; }""")
            shown = self.page.evaluate("() => document.visibilityState")
            raise AssertionError(f"{exc}; the status line: {status!r}; the page's console errors: {self.errors}; "
                                 f"its status model: {html_unescape(sent or '')!r}; the page is {shown}; "
                                 f"the server printed: {printed!r}") from None


def _small_quick(p: Page, seed: int | None = None) -> None:
    p.scenario("quick")
    p.wait(lambda: "ready: quick," in p.text("#tk-status"), 10, "the quick preset")
    p.set_number(".tk-souls", SOULS)
    p.wait(lambda: f"souls.count = {SOULS:,}" in p.text("#tk-changed"), 10, "the souls")
    if seed is not None:
        p.set_number(".tk-seed", seed)
        p.wait(lambda: f"run.seed = {seed}" in p.text("#tk-changed"), 10, "the seed")


def test_page_loads_without_errors(server, browser):
    p = Page(browser, server)
    try:
        assert p.phase() == "ready"
        for label in ("Run", "Pause", "Step one year", "Reset"):
            assert p.locator("button", has_text=label).count() >= 1
        for tab in ("Run", "Genesis", "Claims", "Sweep"):
            assert p.locator(".bk-tab", has_text=tab).count() == 1
        p.wait_for_timeout(1500)  # the periodic callbacks have run a few times
        assert p.evaluate("() => document.documentElement.scrollWidth") <= 1600  # no horizontal scrollbar
        assert p.errors == []
    finally:
        p.close()


def test_on_a_projector_run_and_the_status_are_in_view_together(server, browser):
    """At 1000 x 800, 1280 x 720 (a projector) and 1440 x 900 (a laptop) the history's page shows Run,
    Pause, Step and Reset and the status line on its first screen, with no scrolling either way
    (Run sat below the knobs, past the screen's foot, so the status scrolled away to press it)."""
    for width, height in ((1000, 800), (1280, 720), (1440, 900)):
        page = browser.new_page(viewport={"width": width, "height": height})
        try:
            page.goto(server)
            page.wait_for_selector("#tk-year", timeout=60_000)
            page.wait_for_timeout(1000)
            assert page.locator("#tk-year").get_attribute("data-phase") == "ready"
            assert page.evaluate("() => [window.scrollX, window.scrollY]") == [0, 0]
            for css in (".tk-run", ".tk-pause", ".tk-step", ".tk-reset"):
                box = page.locator(f"{css} button").bounding_box()
                assert box["y"] >= 0 and box["y"] + box["height"] <= height, (width, css, box)
            status = page.locator("#tk-status").bounding_box()
            assert 0 <= status["y"] and status["y"] + status["height"] <= height, (width, status)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        finally:
            page.close()


#: each named Bokeh figure's frame on the page: [left, right, top] in CSS pixels
FRAMES_JS = """() => { const out = {}; const seen = new Set();
  function walk(v) { if (!v || seen.has(v)) return; seen.add(v);
    if (v.model && v.model.name && v.frame && v.el) { const r = v.el.getBoundingClientRect(), b = v.frame.bbox;
      out[v.model.name] = [r.left + b.left, r.left + b.right, r.top + b.top]; }
    if (typeof v.children === "function") for (const c of v.children()) walk(c); }
  for (const root of Bokeh.index) walk(root);
  return out; }"""


def test_the_yearly_figures_time_axes_line_up_and_fit_the_window(server, browser):
    """In a 1,400 px window the yearly figures stand two a row, in a 1,000 px one one a row; either
    way the page is no wider than the window, the frames of a column have the same left and right
    edges (their years line up), the correction's frame spans the others' columns, and a frame is
    wide enough for its years (at 1,000 px the page was 1,095 wide and the years ran together)."""
    for width, height, columns in ((1400, 900, 2), (1000, 800, 1)):
        page = browser.new_page(viewport={"width": width, "height": height})
        try:
            page.goto(server)
            page.wait_for_selector("#tk-year", timeout=60_000)
            page.wait_for_timeout(1500)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
            frames = page.evaluate(FRAMES_JS)
            yearly = [frames[f"series-{i}"] for i in range(1, len(plots.SERIES))]
            lefts = sorted({round(f[0]) for f in yearly})
            assert len(lefts) == columns, (width, yearly)
            for left in lefts:
                col = [f for f in yearly if round(f[0]) == left]
                assert max(f[1] for f in col) - min(f[1] for f in col) <= 1, (width, col)
                assert col[0][1] - col[0][0] >= 300, (width, col)
            first = frames["series-0"]
            assert abs(first[0] - lefts[0]) <= 1 and first[1] >= max(f[1] for f in yearly) - 1, (width, first)
        finally:
            page.close()


#: the years' axis of the correction's figure on the page: [start, end]
X_RANGE_JS = """() => { const seen = new Set(); let out = null;
  function walk(v) { if (!v || seen.has(v) || out) return; seen.add(v);
    if (v.model && v.model.name === "series-0") { out = [v.model.x_range.start, v.model.x_range.end]; return; }
    if (typeof v.children === "function") for (const c of v.children()) walk(c); }
  for (const root of Bokeh.index) walk(root);
  return out; }"""


def test_the_years_axis_on_the_page_follows_a_longer_scenario(server, browser):
    """Choosing the history (6,000 years) after the quick preset (400) spans the page's years'
    axis to 6,000, and back to 400 (the browser clamped the new end to the old bounds: the
    history's eras and curves past year 400 were off the figure)."""
    import tomllib

    from tikkun.scenario.loading import preset_text

    p = Page(browser, server)
    try:
        for name in ("quick", "history", "quick"):
            p.scenario(name)
            p.wait(lambda: f"ready: {name}," in p.text("#tk-status"), 20, name)
            years = tomllib.loads(preset_text(name))["run"]["years"]
            p.wait(lambda: p.evaluate(X_RANGE_JS) == [0, years], 10, f"the axis of {name} to {years}")
        assert p.errors == []
    finally:
        p.close()


def test_a_knobs_box_shows_its_value_as_the_scenario_has_it(server, browser):
    """The history's alpha, 0.468273, is shown so (three decimals showed 0.468, and typing back what
    was shown changed the scenario); a value typed in is shown as it was given."""
    p = Page(browser, server)
    try:
        p.scenario("history")
        p.wait(lambda: "ready: history," in p.text("#tk-status"), 20, "the history")
        box = p.locator(".tk-light-alpha input").first
        p.wait(lambda: box.input_value() == "0.468273", 10, "alpha's box to show 0.468273")
        # the six digits the boxes show stand clear of the box's arrows (they lay under them), and every knob's box
        # stays inside the sidebar (the longest labels push it right)
        warmth = p.locator(".tk-mean-warmth input").first
        p.wait(lambda: warmth.input_value() == "0.285714", 10, "the mean warmth's box to show 0.285714")
        for knob in p.page.locator(".slider-edit input").all():
            text_right, arrows_left, arrows_right = knob.evaluate(KNOB_BOX_JS)
            assert text_right <= arrows_left - 2, (knob.input_value(), text_right, arrows_left)
            assert arrows_right <= 310, (knob.input_value(), arrows_right)  # the sidebar's width
        p.set_number(".tk-light-alpha", "0.0000123")
        p.wait(lambda: "light.alpha = 1.23e-05" in p.text("#tk-changed"), 10, "the typed alpha in the scenario")
        assert float(box.input_value()) == 1.23e-05  # as typed, not rounded to 0
        assert p.errors == []
    finally:
        p.close()


# where a knob's value ends (its text measured in its own font) and where the box's arrows are
KNOB_BOX_JS = """el => {
    const cs = getComputedStyle(el);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = cs.font;
    const left = el.getBoundingClientRect().left + parseFloat(cs.paddingLeft);
    const arrows = el.parentElement.querySelector('.bk-spin-btn-up').getBoundingClientRect();
    return [left + ctx.measureText(el.value).width, arrows.left, arrows.right];
}"""


def test_slider_and_run_advance_the_plots_and_pause_stops_them(server, browser):
    p = Page(browser, server)
    try:
        _small_quick(p)
        p.nudge(".tk-light-alpha", 5)  # five steps of 0.001 from the preset's 0.069
        p.wait(lambda: "light.alpha = 0.074" in p.text("#tk-changed"), 10, "the slider's value on the page")
        p.speed("10 years a second")
        p.press(".tk-run")
        first = p.wait(lambda: p.year() >= 3 and p.year(), FIRST_YEAR_TIMEOUT, "the first years on the page")
        later = p.wait(lambda: p.year() > first + 5 and p.year(), 30, "more years")
        assert later > first
        def n_points():
            return p.evaluate("""() => {
                const doc = Bokeh.documents[Bokeh.documents.length - 1];
                const fig = doc.get_model_by_name('series-0');
                const line = fig.renderers.find(r => r.data_source.data['year'] !== undefined);
                return line.data_source.data['year'].length; }""")

        # the figure holds the years the page says: the rows and the status are two messages of
        # one poll, which the browser may apply a moment apart
        p.wait(lambda: n_points() >= later + 1, 5, f"the figure's years 0-{later}")
        p.press(".tk-pause")
        p.wait(lambda: p.phase() == "paused", 30, "the pause")
        stopped = p.year()
        p.wait_for_timeout(1500)
        assert p.year() == stopped  # Pause stops the plots
        # what the page shows is tikkun.run's year with the same knobs
        sc = api.resolve_scenario(preset="quick", souls=SOULS, overrides={"light.alpha": 0.074})
        ref = api.run(sc)
        shown = float(p.text("#tk-c"))
        assert shown == pytest.approx(float(ref.metrics["cleansing_mean"][stopped]), rel=1e-5)
        # Step one year: exactly one more
        p.press(".tk-step")
        p.wait(lambda: p.year() == stopped + 1 and p.phase() == "paused", 20, "one year more")
        # the download is the run folder so far
        with p.expect_download() as info:
            p.locator(".bk-btn", has_text="Download the run folder").click()
        data = Path(info.value.path()).read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            stem = names[0].split("/")[0]
            assert stem.endswith(f"-year{stopped + 1}")  # the last year computed, as the page says
            assert info.value.suggested_filename == f"{stem}.zip"
            assert {f"{stem}/{f}" for f in ("scenario.toml", "metrics.parquet", "souls.parquet", "summary.json")} \
                <= set(names)
            if importlib.util.find_spec("tikkun.report") is not None:
                page = zf.read(f"{stem}/report.html").decode("utf-8")
                assert "<html" in page.lower() and "data:image/png;base64," in page  # figures embedded
            metrics = pq.read_table(io.BytesIO(zf.read(f"{stem}/metrics.parquet"))).to_pydict()
            assert len(metrics["year"]) == stopped + 2
            np.testing.assert_array_equal(metrics["cleansing_mean"], ref.metrics["cleansing_mean"][: stopped + 2])
        assert p.errors == []
    finally:
        p.close()


def test_the_run_before_is_drawn_dashed_on_the_page(server, browser, tmp_path):
    p = Page(browser, server)
    try:
        _small_quick(p)
        p.set_number(".tk-pause-after", 60)
        p.press(".tk-run")
        p.wait(lambda: p.phase() == "paused" and p.year() == 60, FIRST_YEAR_TIMEOUT, "the pause after year 60")
        p.nudge(".tk-light-alpha", 30)  # thirty steps of 0.001 from the preset's 0.069
        p.wait(lambda: "light.alpha = 0.099" in p.text("#tk-next"), 10, "the new alpha, for the next run")
        p.press(".tk-run")
        p.wait(lambda: p.phase() == "paused" and p.year() == 60 and "light.alpha" in p.text("#tk-changed"),
               60, "the second run's pause")
        drawn = p.evaluate("""() => {
            const doc = Bokeh.documents[Bokeh.documents.length - 1];
            return ['previous-0-cleansing_mean', 'previous-0-weakest_link', 'previous-1-weakest_link'].map(name => {
                const r = doc.get_model_by_name(name);
                return [r.visible, r.data_source.data['year'].length]; }); }""")
        assert drawn == [[True, 61]] * 3  # C and G of the run before, years 0-60, in the two figures
        assert "dashed: the run before" in p.text("#tk-previous") and "to year 60" in p.text("#tk-previous")
        p.locator(".bk-panel-models-layout-Column").first.screenshot(path=str(tmp_path / "page.png"))
        assert p.errors == []
    finally:
        p.close()


def test_bad_value_shows_the_error_on_the_page(server, browser, tmp_path):
    p = Page(browser, server)
    try:
        _small_quick(p)
        p.set_number(".tk-light-alpha", -0.5)
        alert = p.locator("#tk-error")
        p.wait(lambda: alert.count() == 1 and alert.is_visible() and "light.alpha" in alert.inner_text(), 10,
               "the error")
        assert "greater than 0" in alert.inner_text() and "Traceback" not in alert.inner_text()
        assert p.phase() == "not ready" and "Press Run" not in p.text("#tk-status")
        p.press(".tk-run")
        p.wait_for_timeout(1000)
        assert p.phase() == "not ready" and p.year() == -1  # nothing ran
        # an uploaded scenario file: the command line's own message
        bad = tmp_path / "bad.toml"
        bad.write_text('[souls]\ncount = 1000\nwarmth_a = -2.0\n[light]\nalpah = 0.1\n')
        cli = subprocess.run([sys.executable, "-m", "tikkun", "validate", str(bad)], capture_output=True, text=True)
        assert cli.returncode == 2
        cli_lines = [ln.strip() for ln in cli.stderr.splitlines()[1:] if ln.strip()]
        assert len(cli_lines) == 2  # the key of each problem, on its own line
        p.locator("input[type=file]").set_input_files(str(bad))
        p.wait(lambda: "bad.toml: invalid scenario" in alert.inner_text(), 10, "the file's error")
        shown = alert.inner_text()
        for line in cli_lines:
            assert line in shown
        assert p.errors == []
    finally:
        p.close()


#: the y axis' major ticks of the named figures as drawn, and their labels: {name: [ticks, labels]}
YTICKS_JS = """(names) => { const out = {}; const seen = new Set();
  function walk(v) { if (!v || seen.has(v)) return; seen.add(v);
    if (v.model && names.includes(v.model.name) && v.axis_views) {
      for (const a of v.axis_views) if (a.dimension == 1) {
        const ticks = Array.from(a.tick_coords.major[1]);
        out[v.model.name] = [ticks, a.model.formatter.doFormat(ticks, {loc: a.loc})]; } }
    if (typeof v.children === "function") for (const c of v.children()) walk(c); }
  for (const root of Bokeh.index) walk(root);
  return out; }"""


def test_count_axes_name_whole_numbers_on_the_page(server, browser, tmp_path):
    """Every count's axis on the page ticks whole numbers, each label its own, on a range of a
    few: the shocks' 0 to 1 before any shock, the souls' of a population of 2, the runs of a
    sweep whose end years count 2 and 1 (they read 0, 0, 0, 1, 1, 1 and 0.5, 1.5, 2.5)."""
    names = sorted(_count_figures())
    p = Page(browser, server)
    try:
        _small_quick(p)
        p.set_number(".tk-souls", 2)
        p.wait(lambda: "souls.count = 2" in p.text("#tk-changed"), 10, "two souls")
        p.wait_for_timeout(1000)
        folder = tmp_path / "sweep"
        _write_sweep(folder, [("a", "done", 100), ("b", "done", 100), ("c", "done", 140)], {})
        p.locator(".bk-tab", has_text="Sweep").click()
        box = p.locator(".tk-sweep-path input").first
        box.fill(str(folder))
        box.press("Enter")
        p.press(".tk-sweep-follow")
        p.wait(lambda: p.locator("#tk-sweep-counts").count() == 1, 20, "the sweep's counts")
        p.wait_for_timeout(1000)
        seen = p.evaluate(YTICKS_JS, names)
        p.locator(".bk-tab", has_text="Run").click()
        p.wait_for_timeout(1000)
        seen.update({k: v for k, v in p.evaluate(YTICKS_JS, names).items() if k != "sweep-end-years"})
        assert sorted(seen) == names
        for name, (ticks, labels) in seen.items():
            assert len(ticks) >= 2 and all(t == int(t) for t in ticks), (name, ticks)
            assert labels == [f"{int(t):,}" for t in ticks], (name, labels)
        assert seen["sweep-end-years"][0] == [0, 1, 2]
        assert seen[f"series-{plots.SHOCKS}"][0] == [0, 1]
        assert p.errors == []
    finally:
        p.close()


def test_genesis_panel_shows_the_vessel(server, browser, tmp_path):
    from PIL import Image

    p = Page(browser, server)
    try:
        p.scenario("history")
        p.set_number(".tk-souls", SOULS)
        p.locator(".bk-tab", has_text="Genesis").click()
        p.press(".tk-genesis-run")
        stage = p.locator("#tk-genesis-stage")
        p.wait(lambda: stage.count() == 1 and stage.inner_text() == "separate", 180, "the genesis")
        p.wait_for_timeout(500)

        def frame():
            shot = p.locator(".tk-genesis-image").screenshot()
            return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), dtype=np.float64)

        # "separate": reception (phi = -1) on the left half, bestowal (+1) on the right (MODEL.md)
        img = frame()
        h, w, _ = img.shape
        rows = slice(int(h * 0.3), int(h * 0.7))
        left, right = img[rows, int(w * 0.15):int(w * 0.3)], img[rows, int(w * 0.5):int(w * 0.65)]
        assert left.std(axis=(0, 1)).max() < 10 and right.std(axis=(0, 1)).max() < 10  # each half one colour

        # the colours of the report's genesis PNG (matplotlib) for -1 and +1
        halves = np.ones((8, 8))
        halves[:4] = -1.0
        reception, bestowal, _ = _png_colours(halves, tmp_path)
        np.testing.assert_allclose(left.mean(axis=(0, 1)), reception, atol=4)
        np.testing.assert_allclose(right.mean(axis=(0, 1)), bestowal, atol=4)
        p.locator(".tk-player button.last").click()  # the last stage
        p.wait(lambda: stage.inner_text() == "shatter", 20, "the last stage")
        p.wait_for_timeout(500)
        broken = frame()[rows, int(w * 0.15):int(w * 0.65)]
        assert broken.std(axis=(0, 1)).max() > 20  # the broken vessel is no longer two halves
        caption = p.text("#tk-genesis-caption")
        unity = float(re.search(r"unity ([0-9.]+)", caption).group(1))
        assert 0.0 < unity < 1.0
        assert p.errors == []
    finally:
        p.close()


def test_two_tabs_do_not_share_a_run(server, browser):
    a, b = Page(browser, server), Page(browser, server)
    try:
        _small_quick(a)
        _small_quick(b, seed=99)
        a.speed("3 years a second")
        a.press(".tk-run")
        a.wait(lambda: a.year() >= 5, FIRST_YEAR_TIMEOUT, "the first tab's run")
        assert b.phase() == "ready" and b.year() == -1  # the other tab has no run
        b.speed("3 years a second")
        b.press(".tk-run")
        b.wait(lambda: b.year() >= 3, 60, "the second tab's run")
        a.press(".tk-pause")
        a.wait(lambda: a.phase() == "paused", 30, "the first tab's pause")
        at_a, at_b = a.year(), b.year()
        a.wait_for_timeout(2500)
        assert a.year() == at_a and b.year() > at_b  # pausing one leaves the other running
        assert "run.seed = 99" in b.text("#tk-changed") and "run.seed" not in a.text("#tk-changed")
        assert a.errors == [] and b.errors == []
    finally:
        a.close()
        b.close()


def test_an_update_panel_leaves_queued_reaches_the_page_with_the_beat(browser, monkeypatch):
    """Panel's race, made on purpose: a page's update queued while its doc's write block is set,
    the block then cleared by the write task before it (as that task does when it finishes
    first), leaves the update unsent until the page's next change. Without the beat it stays
    unsent (the race is real: the control); with it the page shows the update within a beat."""
    pn = pytest.importorskip("panel")
    from panel.io import document as panel_document

    from tikkun.dash import app

    made = []

    class Kept(app.Dashboard):  # each session's dashboard and document, to change them on its loop
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append((self, pn.state.curdoc))

    monkeypatch.setattr(app, "Dashboard", Kept)
    port = _free_port()
    srv = pn.serve({"/": lambda: app.page(SOULS)}, port=port, address="127.0.0.1", show=False, threaded=True,
                   websocket_origin=[f"127.0.0.1:{port}"])
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait(lambda: _listening(port), 30, "the server to listen", every=0.1)

        def shown_after_the_race(page):
            dash, doc = made[-1]
            probe = "<p id='tk-status'><span id='tk-year' data-year='-1' data-phase='probe'>probe</span></p>"

            def race():
                panel_document._WRITE_BLOCK[doc] = True  # a write task is in flight
                dash.status.object = probe  # queued behind it, with a task of its own to write it
                del panel_document._WRITE_BLOCK[doc]  # the task in flight finishes first
            doc.add_next_tick_callback(race)
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3 * app.BEAT_MS / 1000:
                if page.locator("#tk-year").get_attribute("data-phase") == "probe":
                    return True
                time.sleep(0.05)
            return False

        beat = app.BEAT_MS
        monkeypatch.setattr(app, "BEAT_MS", 10 ** 8)  # the control: a page without a beat
        silent = browser.new_page()
        silent.goto(url)
        silent.wait_for_selector("#tk-year", timeout=60_000)
        monkeypatch.setattr(app, "BEAT_MS", beat)
        assert not shown_after_the_race(silent), "Panel no longer loses this update: the beat may go"
        silent.close()
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#tk-year", timeout=60_000)
        assert shown_after_the_race(page)
        page.close()
    finally:
        srv.stop()


def test_sweep_tab_follows_a_sweep_folder(server, browser, real_sweep):
    folder, _ = real_sweep
    p = Page(browser, server)
    try:
        p.locator(".bk-tab", has_text="Sweep").click()
        box = p.locator(".tk-sweep-path input").first
        box.fill(str(folder))
        box.press("Enter")
        p.press(".tk-sweep-follow")
        counts = p.locator("#tk-sweep-counts")
        p.wait(lambda: counts.count() == 1, 20, "the sweep's counts")
        assert (counts.get_attribute("data-done"), counts.get_attribute("data-failed"),
                counts.get_attribute("data-left")) == ("2", "2", "0")
        n_curves = p.evaluate("""() => {
            const doc = Bokeh.documents[Bokeh.documents.length - 1];
            return doc.get_model_by_name('sweep-curves').renderers[0].data_source.data['xs'].length; }""")
        assert n_curves == 2
        # the legend, beside C's frame, stands clear of the window's right edge
        right, inner = p.evaluate("""() => { const seen = new Set(); let out = null;
            function walk(v) { if (!v || seen.has(v) || out) return; seen.add(v);
              if (v.model && v.model.name === "sweep-curves") { out = v.el.getBoundingClientRect().right; return; }
              if (typeof v.children === "function") for (const c of v.children()) walk(c); }
            for (const root of Bokeh.index) walk(root);
            return [out, window.innerWidth]; }""")
        assert p.evaluate("() => document.documentElement.scrollWidth") <= inner
        assert right <= inner - 12, (right, inner)
        assert p.errors == []
    finally:
        p.close()


def test_claims_tab_runs_an_experiment_as_tikkun_experiment_does(server, browser, tmp_path):
    from tikkun import experiments  # the project's own module: an import error fails, never skips
    from tikkun.experiments.core import run

    name, souls, seed = "light-maintains-unity", 300, 20
    p = Page(browser, server)
    try:
        p.locator(".bk-tab", has_text="Claims").click()
        p.locator(".tk-claim select").select_option(name)
        p.set_number(".tk-claim-souls", souls)
        seeds = p.locator(".tk-claim-seeds input").first
        seeds.fill(str(seed))
        seeds.press("Enter")
        p.wait_for_timeout(500)
        p.press(".tk-claim-run")
        verdict = p.locator("#tk-verdict")
        p.wait(lambda: verdict.count() == 1, 240, "the experiment's verdict")
        shown = verdict.inner_text()
        figure = p.locator(".tk-claim-figure img")
        p.wait(lambda: figure.count() == 1 and figure.evaluate("i => i.naturalWidth") > 0, 20, "the figure")
        # shown at the tab's width, the figure opens at full size from its link: the same PNG, served
        natural, shown_width = figure.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().width]")
        link = p.locator("#tk-claim-figure-link")
        served = p.request.get(urljoin(server, link.get_attribute("href")))
        assert served.ok and served.headers["content-type"] == "image/png"
        from PIL import Image

        assert Image.open(io.BytesIO(served.body())).size[0] == natural
        assert link.get_attribute("target") == "_blank"
        assert shown_width <= natural
        assert p.errors == []
    finally:
        p.close()
    record = run(experiments.EXPERIMENTS[name], seeds=[seed], souls=souls, out=tmp_path / "out", runs=tmp_path / "runs",
                 workers=1)
    assert f"verdict: {record['verdict']}." in shown and record["summary"] in shown


@pytest.mark.parametrize("when", ["starting", "running"])
def test_server_stopped_mid_experiment_leaves_nothing_and_the_page_says_so(browser, tmp_path, when):
    """Ctrl-C while the claims tab's experiment starts its cluster or runs: no folder left in
    the temporary folder (neither the session's nor Dask's scratch), no traceback, and the page
    says it is cut off."""
    import tikkun.experiments  # noqa: F401  the claims tab's experiments: an import error fails here, never skips
    tmp = tmp_path / "serve-tmp"
    tmp.mkdir()
    log = tmp_path / "serve.log"
    proc, url = _serve(tmp, log)
    p = None
    try:
        p = Page(browser, url)
        p.locator(".bk-tab", has_text="Claims").click()
        p.locator(".tk-claim select").select_option("light-maintains-unity")
        p.set_number(".tk-claim-souls", 2000)
        seeds = p.locator(".tk-claim-seeds input").first
        seeds.fill("20 21 22 23 24 25 26 27")
        seeds.press("Enter")
        p.wait_for_timeout(300)
        p.press(".tk-claim-run")
        # the experiment's cluster is up: its scratch folder exists (wherever Dask puts it)
        if when == "starting":  # the page's folder is made as the button is handled, the cluster then starts
            p.wait(lambda: any(tmp.glob("tikkun-dash-claims-*")), 60, "the experiment's folder")
        else:
            p.wait(lambda: any(tmp.rglob("dask-scratch-space")), 60, "the experiment's Dask cluster")
            p.wait(lambda: any(tmp.rglob("summary.json")), 60, "the experiment's first run")
        assert p.locator("#tk-verdict").count() == 0  # still running
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        out = log.read_text()
        assert "Traceback" not in out and "failed" not in out, out
        assert sorted(str(f.relative_to(tmp)) for f in tmp.rglob("*")) == []
        note = p.locator(".notyf__message")
        p.wait(lambda: note.count() == 1 and "connection to the tikkun server is lost" in note.inner_text(), 20,
               "the page's notice of the lost connection")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if p is not None:
            p.close()
