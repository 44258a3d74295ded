"""comparison.html (`tikkun compare`): what differs, the numbers side by side, the trajectories.

Three small runs are made with `tikkun.run`: one without events, one with a shepherd, one with
another practice and horizon. The page is read back with independent tools (the standard
library's HTML parser, pyarrow for the runs' own tables, Pillow for the images, Debian's
Chromium), and the refusals are checked through the command line (exit code 2, nothing
written).
"""

import base64
import io
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pyarrow.parquet as pq
import pytest

import tikkun
from tikkun.report import COMPARISON_NAME, ReportError, write_comparison
from tikkun.report.compare import MAX_RUNS

from test_report import open_in_chromium

SOULS = 1500
SHEPHERD = {"kind": "shepherds", "year": 100, "group": {"count": 1, "lowest": "cleansing"}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    base = dict(preset="quick", souls=SOULS, years=200)
    tikkun.run(**base, overrides={"events": []}, out=root / "without")
    tikkun.run(**base, overrides={"events": []}, events=[SHEPHERD], out=root / "with")
    tikkun.run(preset="quick", souls=SOULS, years=150, overrides={"events": [], "light.practice": 0.5},
               out=root / "half")
    return root


class _Tables(HTMLParser):
    """Every table of the page as rows of cell texts, the images' sources, the generator tag."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self.meta = [], [], {}
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def _page(path):
    p = _Tables()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _rows(table):
    return {r[0]: r[1:] for r in table[1:]}


def _metrics(folder):
    return pq.read_table(folder / "metrics.parquet").to_pydict()


def test_the_page_names_what_differs_and_gives_each_runs_own_numbers(runs):
    out = runs / "c.html"
    assert write_comparison([runs / "without", runs / "with", runs / "half"], out=out, years=[99, 120]) == out
    page = _page(out)
    assert page.meta["generator"].startswith("tikkun compare ")
    differs, numbers = _rows(page.tables[0]), _rows(page.tables[1])
    assert page.tables[0][0][1:] == ["1: without", "2: with", "3: half"]
    assert differs["run.years"] == ["200", "200", "150"]
    assert differs["light.practice"] == ["1", "1", "0.5"]
    event = [k for k in differs if k.startswith("event: shepherds at year 100")]
    assert len(event) == 1 and differs[event[0]] == ["no", "yes", "no"]
    assert "souls.count" not in differs  # the same in every run
    for i, name in enumerate(("without", "with", "half")):
        m = _metrics(runs / name)
        year, c, g, done = (np.asarray(m[k]) for k in ("year", "cleansing_mean", "weakest_link", "complete"))
        for y in (99, 120):
            k = int(np.flatnonzero(year == y)[0])
            assert float(numbers[f"C in year {y}"][i]) == pytest.approx(c[k], rel=1e-3)
            assert float(numbers[f"G in year {y}"][i]) == pytest.approx(g[k], rel=1e-3)
            assert numbers[f"complete souls in year {y}"][i].startswith(f"{int(done[k]):,} (")
        half = np.flatnonzero(done >= SOULS / 2)
        assert numbers["half the souls complete"][i] == (f"year {int(year[half[0]]):,}" if half.size else "not reached")
        assert numbers["years run"][i] == f"{year.size:,}"
    # the shepherd made a difference the page shows: more complete souls in B than in A at year 120
    assert _metrics(runs / "with")["complete"][120] > _metrics(runs / "without")["complete"][120]


def test_the_default_year_is_the_last_every_run_recorded_and_the_figures_are_pngs(runs, tmp_path):
    from PIL import Image

    out = tmp_path / "c.html"
    write_comparison([runs / "without", runs / "half"], out=out)
    page = _page(out)
    assert "C in year 149" in _rows(page.tables[1]) and "C in year 199" not in _rows(page.tables[1])
    assert len(page.images) == 3
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True)))
        img.load()
        assert img.format == "PNG" and img.size[0] == 1000 and img.size[1] > 350
        assert np.asarray(img.convert("L")).min() < 60  # ink on it


def test_an_event_every_run_has_is_named_beside_what_differs(runs, tmp_path):
    """The grey dotted line of an event every run has is named under "What differs" (which lists
    only what some runs lack); an event only some runs have is not listed there."""
    both = tmp_path / "both"
    tikkun.run(preset="quick", souls=SOULS, years=200, overrides={"events": [], "run.seed": 5}, events=[SHEPHERD],
               out=both)
    out = tmp_path / "c.html"
    write_comparison([runs / "with", both], out=out)
    text = out.read_text()
    assert "Events every run has (grey dotted lines in the figures): shepherds at year 100" in text
    assert "event: shepherds" not in " ".join(_rows(_page(out).tables[0]))
    write_comparison([runs / "without", runs / "with"], out=out)
    assert "Events every run has" not in out.read_text()


def test_the_same_scenario_twice_is_said_to_differ_in_nothing(runs, tmp_path):
    again = tmp_path / "again"
    tikkun.run(preset="quick", souls=SOULS, years=200, overrides={"events": []}, out=again)
    out = tmp_path / "c.html"
    write_comparison([runs / "without", again], out=out)
    text = out.read_text()
    assert "scenarios are the same" in text
    numbers = _rows(_page(out).tables[0])
    assert numbers["C at the end"][0] == numbers["C at the end"][1]  # a run is a function of its scenario


def tikkun_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tikkun", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_the_command_writes_comparison_html_here_and_replaces_only_its_own(runs, tmp_path):
    r = tikkun_cli("compare", runs / "without", runs / "with", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / COMPARISON_NAME).is_file() and "comparison: comparison.html" in r.stdout
    r = tikkun_cli("compare", runs / "with", runs / "without", cwd=tmp_path)  # its own page: replaced
    assert r.returncode == 0, r.stderr
    assert "2: without" in (tmp_path / COMPARISON_NAME).read_text()


@pytest.mark.parametrize("args, needle", [
    (["without"], "give 2 to 7 run folders"),
    (["without", "without"], "without is given twice"),
    (["without", "nowhere"], "nowhere: no such run folder"),
    (["without", "with", "--out", "mine.html"], "--out mine.html: exists and is not a comparison tikkun wrote"),
    (["without", "with", "--out", "."], "--out .: is a folder"),
    (["without", "with", "--year", "-1"], "--year"),
    (["without", "with", "--out", "mine.html/c.html"], "mine.html is a file, not a folder"),
    (["without", "with", "--out", "new/"], "--out new/: names a folder; give a file's name"),  # no file named new
    (["without", "with", "--from", "150", "--to", "100"], "--from 150 --to 100: the first year shown (150) must come"),
    (["without", "with", "--to", "0"], "--to 0: the first year shown (0) must come before the last"),
    (["without", "with", "--from", "199"], "--from 199: no run goes past it; give a year from 0 to 198"),
    (["without", "with", "--to", "-5"], "Invalid value for '--to'"),
])
def test_bad_input_exits_2_and_writes_nothing(runs, args, needle):
    mine = runs / "mine.html"
    mine.write_text("a user's own page")
    before = sorted(p.name for p in runs.iterdir())
    r = tikkun_cli("compare", *args, cwd=runs)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in " ".join(r.stderr.split()), r.stderr
    assert r.stderr.count("error:") == 1
    assert sorted(p.name for p in runs.iterdir()) == before
    assert mine.read_text() == "a user's own page"


def test_a_link_or_a_folder_not_writable_is_named_and_kept(runs, tmp_path, monkeypatch):
    """--out at a symbolic link (to a user's file, or to nothing) is refused, the link kept: the
    page written over it replaced the link by a file. A folder that cannot be written into is
    named with the page's name (not the temporary file's) as bad input, and no folder is left."""
    from tikkun.report import compare

    (tmp_path / "mine.html").write_text("a user's own page")
    (tmp_path / "to-mine.html").symlink_to(tmp_path / "mine.html")
    (tmp_path / "to-nothing.html").symlink_to(tmp_path / "nowhere" / "x.html")
    for link in ("to-mine.html", "to-nothing.html"):
        with pytest.raises(ReportError, match=f"--out {re.escape(str(tmp_path / link))}: is a symbolic link"):
            write_comparison([runs / "without", runs / "with"], out=tmp_path / link)
        assert (tmp_path / link).is_symlink()
    assert (tmp_path / "mine.html").read_text() == "a user's own page" and not (tmp_path / "nowhere").exists()

    def denied(path, text):
        raise PermissionError(13, "Permission denied", str(path.parent / ".c.html.tikkun-x.tmp"))

    monkeypatch.setattr(compare, "write_text", denied)
    target = tmp_path / "new" / "c.html"
    with pytest.raises(ReportError, match=re.escape(f"--out {target}: cannot be written (Permission denied)")):
        write_comparison([runs / "without", runs / "with"], out=target)
    assert not (tmp_path / "new").exists()


def test_more_runs_than_colours_or_one_folder_as_text_are_refused(runs, tmp_path):
    with pytest.raises(ReportError, match=f"give 2 to {MAX_RUNS}"):
        write_comparison([runs / "without"] * (MAX_RUNS + 1), out=tmp_path / "c.html")
    with pytest.raises(ReportError, match=r"give 2 to 7 run folders to compare \(got 1\)"):
        write_comparison(str(runs / "without"), out=tmp_path / "c.html")
    assert not (tmp_path / "c.html").exists()


def test_comparison_opens_in_headless_chromium(runs, tmp_path):
    path = write_comparison([runs / "without", runs / "with"], out=tmp_path / "c.html").resolve()
    messages, errors, requests, loaded, _ = open_in_chromium(path)
    assert not errors and not [m for m in messages if m[0] in ("error", "warning")], (errors, messages)
    assert len(loaded) == 3 and all(loaded)
    assert [u for u in requests if not u.startswith("data:")] == [path.as_uri()]


@pytest.fixture(scope="module")
def ended(runs):
    """A run that reached the end of correction early and stopped there."""
    folder = runs / "ended$^$"  # a "$" in a name is text, never maths
    tikkun.run(preset="quick", souls=SOULS, years=400,
               overrides={"events": [], "light.alpha": 5.0, "run.stop_at_end": True}, out=folder)
    return folder


def test_a_run_that_ended_is_carried_on_at_its_end_in_the_difference_and_the_table(runs, ended, tmp_path):
    from matplotlib.figure import Figure

    from tikkun.report import read_run_folder
    from tikkun.report.compare import _timeline, difference_panel

    a, b = read_run_folder(runs / "without"), read_run_folder(ended)
    end = b.summary["end_year"]
    assert end is not None and end < 150
    tl = _timeline([a, b])
    ax = Figure().add_subplot()
    difference_panel(ax, [a, b], tl)
    x, y = ax.lines[0].get_xydata().T
    c_a = np.asarray(_metrics(runs / "without")["cleansing_mean"])
    c_b = np.asarray(_metrics(ended)["cleansing_mean"])
    want = np.r_[c_b, np.full(c_a.size - c_b.size, c_b[-1])] - c_a  # after its end, B's C stays at its last
    np.testing.assert_array_equal(x, np.arange(c_a.size))
    np.testing.assert_allclose(y, want, rtol=0, atol=0)
    out = write_comparison([runs / "without", ended], out=tmp_path / "c.html", years=[end + 20])
    numbers = _rows(_page(out).tables[1])
    assert numbers[f"C in year {end + 20:,}"][1] == f"{c_b[-1]:.4g} (after its end)"
    assert numbers["end of correction"][1] == f"year {end:,}"
    assert "1: without" in out.read_text() and "2: ended$^$" in out.read_text()


def test_a_year_no_run_reached_is_refused(runs, tmp_path):
    from tikkun.report import ReportError

    with pytest.raises(ReportError, match="--year 200: no run reached it; give a year from 0 to 199"):
        write_comparison([runs / "without", runs / "half"], out=tmp_path / "c.html", years=[10, 200])
    with pytest.raises(ReportError, match="--year: a year from creation, 0 or more"):
        write_comparison([runs / "without", runs / "half"], out=tmp_path / "c.html", years=[-1])
    assert not (tmp_path / "c.html").exists()


def test_a_long_value_is_named_by_the_run_that_has_it_and_unset_keys_say_so(runs, tmp_path):
    from tikkun.report.compare import differences

    stages = [{"kind": "separate"}, {"kind": "strike", "duration": 300.0, "light": 1.5}]
    runs_ = [_bare_folder(runs / n, {"name": "x", "genesis": {"stages": s}} if s else {"name": "x"})
             for n, s in (("a", stages), ("b", stages), ("c", stages[:1] * 5), ("d", None))]
    rows = dict(differences(runs_))
    assert rows["genesis.stages"] == ["(a value of its own)", "as in run 1", "(a value of its own)", "(not set)"]
    assert rows["[genesis]"] == ["yes", "yes", "yes", "none"]


def test_a_table_one_run_lacks_whole_is_one_row_and_its_keys_only_where_the_others_differ(runs):
    from tikkun.report.compare import differences

    genesis = {"A": 1.0, "tolerance": 1e-6, "stages": [{"kind": "separate"}]}
    with_a = _bare_folder(runs / "a", {"name": "x", "genesis": genesis})
    with_b = _bare_folder(runs / "b", {"name": "x", "genesis": {**genesis, "A": 2.0}})
    without = _bare_folder(runs / "c", {"name": "x"})
    assert differences([with_a, without]) == [("[genesis]", ["yes", "none"])]
    assert differences([with_a, with_b, without]) == [("[genesis]", ["yes", "yes", "none"]),
                                                     ("genesis.A", ["1", "2", "(not set)"])]


def _bare_folder(folder, scenario):
    """A run folder of a scenario alone, for what reads only the scenario."""
    from tikkun.report import RunFolder

    return RunFolder(folder, "", scenario, {}, {"year": np.arange(3)}, {}, None, ())


def _cut(raw, years):
    """A scenario as ``--years`` makes it (the loader's own cut of the events)."""
    from tikkun.scenario.loading import _with_horizon

    return _with_horizon(raw, years)


def test_an_event_cut_at_a_shorter_horizon_is_the_same_event(runs):
    from tikkun.report.compare import differences

    ev = {"kind": "scale", "label": "exodus", "year": 50, "until": 90, "key": "light.light", "factor": 1.5}
    short = _bare_folder(runs / "a", _cut({"run": {"years": 200}, "events": [ev]}, 70))
    long = _bare_folder(runs / "b", {"run": {"years": 200}, "events": [ev]})
    other = _bare_folder(runs / "c", {"run": {"years": 200}, "events": [{**ev, "factor": 2.0}]})
    assert short.scenario["events"][0]["until"] == 70
    assert [k for k, _ in differences([short, long])] == ["run.years"]
    rows = dict(differences([short, long, other]))
    # named as the run that ran it whole has it, its real end
    assert rows["event: exodus: scale at year 50 (until 90, key light.light, factor 1.5)"] == ["yes", "yes", "no"]
    assert rows["event: exodus: scale at year 50 (until 90, key light.light, factor 2)"] == ["no", "no", "yes"]


def test_events_that_differ_stay_apart_beside_a_shorter_run_and_later_ones_are_after_its_end(runs):
    """Two runs whose event ends in different years, and a third run shorter than both: the two
    events stay two rows with their own ends, the short run has each as far as it ran, and an
    event from its horizon on is neither had nor missing: after its end."""
    from tikkun.report.compare import differences, event_rows

    ev = {"kind": "set", "year": 100, "until": 300, "key": "light.practice", "value": 0.5}
    later = {"kind": "shepherds", "year": 200, "group": {"count": 1}}
    u300 = _bare_folder(runs / "a", {"run": {"years": 400}, "events": [ev, later]})
    u350 = _bare_folder(runs / "b", {"run": {"years": 400}, "events": [{**ev, "until": 350}]})
    short = _bare_folder(runs / "c", _cut({"run": {"years": 400}, "events": [ev, later]}, 150))
    rows = dict(differences([u300, u350, short]))
    assert rows["event: set at year 100 (until 300, key light.practice, value 0.5)"] == ["yes", "no", "yes"]
    assert rows["event: set at year 100 (until 350, key light.practice, value 0.5)"] == ["no", "yes", "yes"]
    assert rows["event: shepherds at year 200 (group count 1)"] == ["yes", "no", "after its end"]
    assert [e["year"] for e, _ in event_rows([short, u350, u300])] == [100, 100, 200]  # in the order of their years


def test_an_event_after_a_runs_end_of_correction_is_not_reached(runs):
    """A run that ended in the end of correction before an event of its scenario never had it
    act: "not reached", not "yes" (its summary's years_run, not its horizon, says so), and the
    event is no longer among those every run has."""
    from tikkun.report import RunFolder
    from tikkun.report.compare import NOT_REACHED, differences, shared_events

    early = {"kind": "scale", "label": "exodus", "year": 50, "until": 90, "key": "light.light", "factor": 1.5}
    late = {"kind": "set", "label": "exile", "year": 300, "key": "impurity.rate", "value": 0.03}
    scenario = {"run": {"years": 400}, "events": [early, late]}

    def folder(name, years_run):
        return RunFolder(runs / name, "", scenario, {"years_run": years_run}, {"year": np.arange(years_run)}, {},
                         None, ())

    whole, ended = folder("a", 400), folder("b", 250)
    rows = dict(differences([whole, ended]))
    assert rows["event: exile: set at year 300 (key impurity.rate, value 0.03)"] == ["yes", NOT_REACHED]
    assert not any(k.startswith("event: exodus") for k in rows)  # both had it: not a difference
    assert shared_events([whole, ended]) == ["exodus: scale at year 50 (until 90, key light.light, factor 1.5)"]
    assert dict(differences([ended, folder("c", 299)])) == {}  # neither reached it


def test_a_span_to_the_horizon_is_the_same_as_one_cut_there_and_an_event_twice_is_counted(runs):
    """An event without ``until`` lasts to the horizon: the same, in the years both ran, as the
    event a shorter run has cut at its own; an event a run gives twice (two scales multiply) is
    not the same as once; the same events in another order are named."""
    from tikkun.report.compare import differences

    ev = {"kind": "scale", "year": 50, "key": "light.light", "factor": 1.5}
    other = {"kind": "set", "year": 60, "until": 80, "key": "light.light", "value": 0.5}
    whole = _bare_folder(runs / "a", {"run": {"years": 6000}, "events": [ev, other]})
    short = _bare_folder(runs / "b", _cut({"run": {"years": 6000}, "events": [{**ev, "until": 3000}, other]}, 100))
    assert short.scenario["events"][0]["until"] == 100
    assert [k for k, _ in differences([whole, short])] == ["run.years"]
    twice = _bare_folder(runs / "c", {"run": {"years": 6000}, "events": [ev, ev, other]})
    rows = dict(differences([whole, twice]))
    assert rows["event: scale at year 50 (key light.light, factor 1.5)"] == ["yes", "yes (x2)"]
    swapped = _bare_folder(runs / "d", {"run": {"years": 6000}, "events": [other, ev]})
    assert differences([whole, swapped]) == [("the order of the set and scale events", ["as in run 1", "another order"])]


def test_a_run_stopped_at_its_horizon_ends_in_a_bar_where_it_stops(runs, ended):
    """A line may lie under another's: a run that stopped at its horizon before the axis' end has
    a bar at its last value; one that runs to the end, or ended in the end of correction, none."""
    from matplotlib.figure import Figure

    from tikkun.report import read_run_folder
    from tikkun.report.compare import _panel, _timeline
    from tikkun.report.figures import LINE_COLOURS

    runs_ = [read_run_folder(runs / "without"), read_run_folder(runs / "half"), read_run_folder(ended)]
    ax = Figure().add_subplot()
    _panel(ax, runs_, "cleansing_mean", False, "C", False, _timeline(runs_))
    bars = [line for line in ax.lines if line.get_marker() == "|"]
    c_half = np.asarray(_metrics(runs / "half")["cleansing_mean"])
    assert len(bars) == 1 and bars[0].get_color() == LINE_COLOURS[1]
    np.testing.assert_array_equal(bars[0].get_xydata(), [[c_half.size - 1, c_half[-1]]])
    # run 1 the shorter: the differences and its own zero line stop at its end, which the bar marks
    from tikkun.report.compare import difference_panel

    ax = Figure().add_subplot()
    difference_panel(ax, runs_[1::-1], _timeline(runs_[:2]))
    bars = [line for line in ax.lines if line.get_marker() == "|"]
    assert len(bars) == 1 and bars[0].get_color() == LINE_COLOURS[0]
    np.testing.assert_array_equal(bars[0].get_xydata(), [[c_half.size - 1, 0.0]])


def test_numbers_near_zero_or_one_are_never_shown_as_the_bound(runs):
    """C = 1 and all souls complete mean the end of correction: a value short of it keeps the
    digits that say so."""
    from tikkun.report.compare import _number, _share_text

    run = _bare_folder(runs / "a", {"souls": {"count": 4000}})
    assert _share_text(run, 3999) == "3,999 (99.98%)" and _share_text(run, 4000) == "4,000 (100.0%)"
    assert _share_text(run, 1) == "1 (0.03%)" and _share_text(run, 0) == "0 (0.0%)"
    assert _share_text(run, 40) == "40 (1.0%)"  # one percent is no bound
    assert _number(0.99998) == "0.99998" and _number(1.0) == "1" and _number(0.5) == "0.5"
    assert _number(0.123456) == "0.1235" and _number(2e-7) == "2e-07"


def test_missing_folders_of_out_are_made(runs, tmp_path):
    out = tmp_path / "new" / "deeper" / "c.html"
    assert write_comparison([runs / "without", runs / "with"], out=out) == out and out.is_file()


def test_the_years_shown_frame_every_time_axis_and_scale_the_y_axes_to_them(runs, tmp_path):
    """`--from` and `--to` (a teacher's zoom on the years an event acts): every time axis of the
    figures spans those years, the y axes are scaled to the values within them (read from the
    runs' own metrics), and the page says which years it shows."""
    from tikkun.report import read_run_folder
    from tikkun.report.compare import _timeline, correction_figure, effort_figure, shown_years, souls_figure

    runs_ = [read_run_folder(runs / "without"), read_run_folder(runs / "with")]
    tl = _timeline(runs_)
    shown = shown_years(tl, 90, 130)
    assert shown == (90.0, 130.0) and shown_years(tl, None, 10_000) == (0.0, tl.right)
    c = {name: np.asarray(_metrics(runs / name)["cleansing_mean"]) for name in ("without", "with")}
    fig = correction_figure(runs_, tl, shown)
    axes = fig.axes
    assert all(ax.get_xlim() == shown for ax in axes)
    assert axes[0].get_ylim()[1] == pytest.approx(1.08 * max(c["without"][90:131].max(), c["with"][90:131].max()))
    low, high = axes[-1].get_ylim()  # C of run 2 less run 1's, in those years, with its margin
    d = c["with"][90:131] - c["without"][90:131]
    assert low <= min(d.min(), 0.0) and high >= d.max() and high - low <= 1.2 * (max(d.max(), 0) - min(d.min(), 0))
    assert all(ax.get_xlim() == shown for ax in effort_figure(runs_, tl, shown).axes)
    assert souls_figure(runs_, tl, shown).axes[1].get_xlim() == shown
    path = write_comparison([runs / "without", runs / "with"], out=tmp_path / "c.html", first=90, last=130)
    text = path.read_text(encoding="utf-8")
    assert "Years 90 to 130 shown (of 0 to 199), the y axes scaled to them." in text
    assert "Years " not in write_comparison([runs / "without", runs / "with"], out=tmp_path / "d.html").read_text()


def test_runs_that_end_in_different_years_share_their_eras_named_above_the_curves(runs, tmp_path):
    """Runs of 200 and 150 years have the same era, each as far as it went: it is shaded (it was
    left out, the eras' ends differing), and its name stands above the first panel, where no
    curve runs (inside, a C at 1 ran through it). A run with another era from year 100 has
    eras that disagree: none are shaded."""
    from tikkun.report import read_run_folder
    from tikkun.report.compare import _timeline, correction_figure, shown_years

    a, b = read_run_folder(runs / "without"), read_run_folder(runs / "half")
    tl = _timeline([b, a])
    assert tl.eras == (("chaos", 0, 200),)
    fig = correction_figure([b, a], tl, shown_years(tl))
    names = [t for t in fig.axes[0].texts if t.get_text() == "era of chaos"]
    assert len(names) == 1 and names[0].get_position()[1] > 1.0 and names[0].get_va() == "bottom"
    tikkun.run(preset="quick", souls=SOULS, years=150, overrides={"events": [], "generations.torah_from": 100},
               out=tmp_path / "torah")
    assert _timeline([a, read_run_folder(tmp_path / "torah")]).eras == ()


def test_the_share_of_the_souls_axis_ends_above_1_not_at_the_decade_after(runs):
    """Every soul of a run in one bin of cleansing (a share of 1): the log axis ends at 1.5 and
    starts at least a decade below, not matplotlib's 0.1 to 10 around a lone value."""
    from tikkun.report import read_run_folder
    from tikkun.report.compare import _timeline, shown_years, souls_figure

    rs = [read_run_folder(runs / "without"), read_run_folder(runs / "with")]
    tl = _timeline(rs)
    ax = souls_figure(rs, tl, shown_years(tl)).axes[0]
    shares = [np.histogram(np.asarray(r.souls["cleansing"], dtype=np.float64), bins=np.linspace(0, 1, 51))[0]
              / r.n_souls for r in rs]
    least = min(s[s > 0].min() for s in shares)
    assert ax.get_yscale() == "log" and ax.get_ylim() == pytest.approx((min(least / 2, 0.05), 1.5))
