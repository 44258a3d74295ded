"""report.html: every figure inside the file, no address outside it, opens in a headless browser.

One small run with a genesis, eras, labelled events and shocks is made with the command line;
the report it writes is read back with independent tools: the standard library's HTML parser,
Pillow for the images, and Debian's Chromium (driven by Playwright, never a downloaded browser).
"""

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from matplotlib.figure import Figure

from tikkun.report import figures as F
from tikkun.report.folder import RunFolder

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# A few thousand souls for 200 years, with every kind of mark the time axis shows: three eras,
# a labelled light pulse, a span without a label, a shepherd, shocks, and a genesis of five stages.
SCENARIO = """
name = "report-test"
description = "a small run with eras, events, shocks and a genesis"

[run]
seed = 20
years = 200
stop_at_end = false

[souls]
count = 2000

[generations]
torah_from = 60
messiah_from = 120

[[events]]
kind = "scale"
label = "exodus"
year = 50
until = 90
key = "light.light"
factor = 1.5

[[events]]
kind = "set"
year = 100
until = 140
key = "light.light"
value = 0.9

[[events]]
kind = "set"
label = "shocks"
year = 150
key = "impurity.rate"
value = 0.5

[[events]]
kind = "shepherds"
year = 130
group = { highest = "hbd", count = 1 }

[genesis]
n = 32
block = 4

[[genesis.stages]]
kind = "separate"

[[genesis.stages]]
kind = "approach"
duration = 10.0

[[genesis.stages]]
kind = "strike"
duration = 300.0
light = 1.5

[[genesis.stages]]
kind = "withdraw"
duration = 30.0

[[genesis.stages]]
kind = "shatter"
"""
N_STAGES = 5
FIGURE_SECTIONS = [s.id for s in F.SECTIONS] + ["souls", "genesis"]


def tikkun(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tikkun", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    (root / "s.toml").write_text(SCENARIO)
    r = tikkun("run", "s.toml", "--out", "r", "-q", cwd=root)
    assert r.returncode == 0, r.stderr
    return root, r.stdout


class _Page(HTMLParser):
    """Sections by id, the images in each, every attribute value, every script tag."""

    def __init__(self):
        super().__init__()
        self.section = None
        self.images: dict[str, list[str]] = {}
        self.attrs: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()
        self.pre: list[str] = []
        self._in_pre = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        if tag == "section":
            self.section = a.get("id")
            self.images.setdefault(self.section, [])
        if tag == "img":
            self.images.setdefault(self.section, []).append(a["src"])
        if tag == "pre":
            self._in_pre = True

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data):
        if self._in_pre:
            self.pre.append(data)


def _png(src: str):
    from PIL import Image

    assert src.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True)))
    img.load()
    assert img.format == "PNG"
    return img


def test_run_writes_the_report_and_prints_its_path(run):
    root, stdout = run
    assert (root / "r" / "report.html").is_file()
    assert re.search(r"report: r/report\.html \(\d+\.\d s\)", stdout), stdout
    names = sorted(p.name for p in (root / "r").iterdir())
    assert not [n for n in names if n.startswith(".")], "temporary files left behind"


def test_every_figure_is_inside_the_file(run):
    root, _ = run
    text = (root / "r" / "report.html").read_text()
    page = _Page()
    page.feed(text)
    for sid in FIGURE_SECTIONS:
        assert page.images.get(sid), f"section {sid!r} has no figure"
    for sid, srcs in page.images.items():
        for src in srcs:
            img = _png(src)
            assert img.size[0] >= 400 and img.size[1] >= 250, (sid, img.size)
    # the genesis: one figure of its measures, then the vessel at the end of each stage
    assert len(page.images["genesis"]) == 1 + N_STAGES
    vessels = sorted((root / "r").glob("genesis_*.png"))
    assert len(vessels) == N_STAGES
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in page.images["genesis"]}
    assert {p.read_bytes() for p in vessels} <= embedded
    # the shatter's field is the withdraw's: its caption says what the figure cannot show
    assert re.search(r"<figcaption>stage 4: shatter \(the field the stage before left, cut into the souls", text)


def test_a_run_without_its_report_leaves_the_vessels_figures_to_it(run, tmp_path):
    """A run without a report imports no plotting library: it keeps the vessel at each stage's
    end (genesis_stages.npz), and its report draws the figures from it, the same PNGs, to the
    byte, as a run with its report leaves."""
    root, _ = run
    bare = tmp_path / "bare"
    code = ("import sys, tikkun\n"
            f"tikkun.run({str(root / 's.toml')!r}, out={str(bare)!r}, report=False)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'PIL') "
            "or m.startswith('tikkun.report')))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    assert (bare / "genesis_stages.npz").is_file() and not list(bare.glob("genesis_*.png"))
    with_report = {p.name: p.read_bytes() for p in (root / "r").glob("genesis_*.png")}
    assert len(with_report) == N_STAGES
    # a report written elsewhere draws them into its page only
    from tikkun.report import write_report

    write_report(bare, out=tmp_path / "page.html")
    assert not list(bare.glob("genesis_*.png"))
    page = _Page()
    page.feed((tmp_path / "page.html").read_text())
    assert set(with_report.values()) <= {base64.b64decode(s.split(",", 1)[1]) for s in page.images["genesis"]}
    # in the run's folder, beside its report, as a run with its report leaves them
    r = tikkun("report", bare, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert {p.name: p.read_bytes() for p in bare.glob("genesis_*.png")} == with_report
    # one of them lost: the next report draws it again
    (bare / "genesis_2_strike.png").unlink()
    write_report(bare)
    assert {p.name: p.read_bytes() for p in bare.glob("genesis_*.png")} == with_report
    # a user's file and a user's folder at two of the names, the others lost: those are kept as
    # they are, the others drawn again, and the page holds every figure drawn from the stages
    names = sorted(with_report)
    for name in names:
        (bare / name).unlink()
    (bare / names[0]).write_bytes(b"my picture")
    (bare / names[1]).mkdir()
    r = tikkun("report", bare, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (bare / names[0]).read_bytes() == b"my picture" and (bare / names[1]).is_dir()
    assert {n: (bare / n).read_bytes() for n in names[2:]} == {n: with_report[n] for n in names[2:]}
    page = _Page()
    page.feed((bare / "report.html").read_text())
    assert set(with_report.values()) <= {base64.b64decode(s.split(",", 1)[1]) for s in page.images["genesis"]}
    (bare / names[0]).write_bytes(with_report[names[0]])
    (bare / names[1]).rmdir()
    (bare / names[1]).write_bytes(with_report[names[1]])
    # the stages' file damaged: the report says which file, and writes nothing
    (bare / "genesis_2_strike.png").unlink()
    good = (bare / "genesis_stages.npz").read_bytes()
    for damaged in (b"not a zip", good[:100]):  # foreign, and cut short (a zip without its end: BadZipFile)
        (bare / "genesis_stages.npz").write_bytes(damaged)
        before = (bare / "report.html").read_bytes()
        r = tikkun("report", bare, cwd=tmp_path)
        assert r.returncode == 2 and "genesis_stages.npz: not the vessel's stages a run writes" in r.stderr, r.stderr
        assert (bare / "report.html").read_bytes() == before and not (bare / "genesis_2_strike.png").exists()


def test_the_correction_figure_shows_the_souls_not_complete_on_a_log_axis(run):
    """Below C and G, the souls not yet complete (the souls less the metrics' `complete`) on a log
    axis, the years with none left out: the last few souls, which hold back the end, show there."""
    from tikkun.report.folder import read_run_folder

    root, _ = run
    folder = read_run_folder(root / "r")
    (section,) = [s for s in F.SECTIONS if s.id == "correction"]
    fig = F.section_figure(folder, F.timeline(folder), section)
    ax = fig.axes[-1]
    assert ax.get_yscale() == "log" and "not complete" in ax.get_ylabel()
    (line,) = ax.get_lines()[-1:]
    want = folder.n_souls - np.asarray(folder.metrics["complete"], dtype=float)
    np.testing.assert_array_equal(line.get_ydata(), np.where(want > 0, want, np.nan))


def test_nothing_outside_the_file(run):
    root, _ = run
    text = (root / "r" / "report.html").read_text()
    assert "http://" not in text.lower() and "https://" not in text.lower()
    page = _Page()
    page.feed(text)
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}
    for tag, name, value in page.attrs:
        if name in ("src", "href", "srcset", "poster", "action"):
            assert value.startswith(("data:", "#")), (tag, name, value[:60])
    assert "url(" not in text and "@import" not in text
    # the page forbids any request but data: images
    assert "default-src 'none'; img-src data:" in text


def test_the_report_shows_the_runs_own_numbers(run):
    root, _ = run
    folder = root / "r"
    text = (folder / "report.html").read_text()
    page = _Page()
    page.feed(text)
    assert "".join(page.pre) == (folder / "scenario.toml").read_text()
    summary = json.loads((folder / "summary.json").read_text())
    for key in ("years_run", "souls", "sparks", "complete"):
        assert f"<th>{key}</th><td class=\"n\">{summary[key]:,}</td>" in text
    assert f"<th>seed</th><td class=\"n\">{summary['seed']}</td>" in text


def test_the_lead_says_this_runs_size_and_the_captions_only_the_marks_it_has(run):
    """The scenario's description may name another size than the run's (a preset's text with
    souls.count changed): the lead adds the run's own; a caption names the end's dashed line
    only where the run reached the end (this one stops at its horizon)."""
    root, _ = run
    text = (root / "r" / "report.html").read_text()
    summary = json.loads((root / "r" / "summary.json").read_text())
    assert summary["end_year"] is None
    lead = text.split('<p class="lead">', 1)[1].split("</p>", 1)[0]
    assert lead == (f"a small run with eras, events, shocks and a genesis. This run: {summary['souls']:,} souls, "
                    f"a horizon of 200 years, seed {summary['seed']}.")
    assert "dotted lines: the scenario&#x27;s events" in text and "dashed red" not in text


def test_the_lead_says_what_a_run_changed_in_its_preset(tmp_path):
    """A run of a preset with options: the lead lists what they changed (the horizon with what it
    does to the preset's events, the keys set, the events added); a preset as shipped says so;
    a scenario of the user's own is compared with nothing."""
    import tomllib

    from tikkun.report.html import changes_from_preset
    from tikkun.scenario import load_scenario
    from tikkun.scenario.loading import scenario_to_toml

    r = tikkun("run", "--preset", "quick", "--souls", "300", "--years", "50", "--set", "light.alpha=0.5",
               "--event", '{kind = "reset", year = 20, group = {first = 0, count = 1}}', "--out", "q", "-q",
               cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lead = (tmp_path / "q" / "report.html").read_text().split('<p class="lead">', 1)[1].split("</p>", 1)[0]
    assert lead.endswith(" Changed from the preset quick: run.years 400 \u2192 50 (the preset&#x27;s events past "
                         "it dropped, its spans cut at it); light.alpha 0.069 \u2192 0.5; souls.count 4,000 \u2192 "
                         "300; event added: reset at year 20 (group first 0, count 1)."), lead

    def resolved(**kw):
        return tomllib.loads(scenario_to_toml(load_scenario(**kw)))

    assert changes_from_preset(resolved(preset="history")) == "The preset history as shipped."
    assert changes_from_preset(resolved(preset="quick", overrides={"events": []})) == (
        "Changed from the preset quick: its one event left out.")
    assert changes_from_preset({**resolved(preset="quick"), "name": "mine"}) is None
    # a vessel's stages changed, added or left out: named, not spelt out
    stages = [{"kind": "separate"}, {"kind": "shatter"}]
    assert changes_from_preset(resolved(preset="history", overrides={"genesis.stages": stages})) == (
        "Changed from the preset history: genesis.stages changed.")
    assert changes_from_preset(resolved(preset="quick", overrides={"genesis.n": 64})) == (
        "Changed from the preset quick: [genesis] added.")
    without = resolved(preset="history")
    del without["genesis"]
    assert changes_from_preset(without) == "Changed from the preset history: [genesis] left out."


def test_the_illumination_is_what_the_caption_says(run):
    """The correction figure's caption bounds the mean illumination by the year's light times W
    (I = lam W ((1 - omega) c + omega G)); the run's metrics keep that bound, light pulse included."""
    import pyarrow.parquet as pq

    root, _ = run
    m = pq.read_table(root / "r" / "metrics.parquet").to_pandas()
    assert (m["illumination_mean"] <= m["light"] * m["conductance"] * (1 + 1e-6)).all()
    caption = next(s.caption for s in F.SECTIONS if s.id == "correction")
    assert "never above the year's light times the worlds' conductance W" in caption


def test_the_page_says_what_c_and_g_are_before_using_them_and_names_a_command_that_runs(run):
    """Above the headline that first uses C and G, the page says what they are, and its words hold on
    the run's own files: C is the mean of the souls' cleansing, G the least corrected spark, so never
    above the least cleansed soul (a soul's cleansing is a weighted mean of its sparks'). The command it
    points a reader to runs."""
    import pyarrow.parquet as pq

    from tikkun.report.html import TERMS

    root, _ = run
    text = (root / "r" / "report.html").read_text()
    defined = text.index(html.escape("G, the weakest link"))
    assert defined < text.index("weakest link G at the end") and defined < text.index("<figure")
    assert "C, the collective correction, is the mean cleansing of the souls" in TERMS
    souls = pq.read_table(root / "r" / "souls.parquet").to_pandas()
    summary = json.loads((root / "r" / "summary.json").read_text())
    assert summary["cleansing_mean"] == pytest.approx(souls["cleansing"].mean(), rel=1e-5)
    assert summary["weakest_link"] <= souls["cleansing"].min() + 1e-6
    command = re.search(r"<code>tikkun (explain \w+)</code>", text)
    assert command, "the page names `tikkun explain TOPIC`"
    r = tikkun(*command.group(1).split(), cwd=root)
    assert r.returncode == 0 and "one corrected soul" in r.stdout.lower(), r.stderr


def open_in_chromium(path):
    """Open the page at ``path`` in headless Chromium: ``(console messages (type, text), page
    errors, URLs requested, whether each image loaded, a full-page screenshot's PNG bytes)``."""
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            messages, errors, requests = [], [], []
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            loaded = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
            shot = page.screenshot(full_page=True)
        finally:
            browser.close()
    return messages, errors, requests, loaded, shot


def test_report_opens_in_headless_chromium(run, tmp_path):
    root, _ = run
    path = (root / "r" / "report.html").resolve()
    n_images = (root / "r" / "report.html").read_text().count("<img ")
    messages, errors, requests, loaded, shot = open_in_chromium(path)
    assert not errors, errors
    assert not [m for m in messages if m[0] in ("error", "warning")], messages
    assert len(loaded) == n_images and all(loaded)
    assert [u for u in requests if not u.startswith("data:")] == [path.as_uri()]
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(shot)).convert("L"))
    assert img.shape[0] > 3000 and img.min() < 50  # a long page with dark ink on it


def test_no_report_and_the_api_without_matplotlib(tmp_path):
    r = tikkun("run", "--preset", "quick", "--souls", "300", "--years", "5", "--out", "n", "-q", "--no-report",
               cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "n" / "report.html").exists() and "report:" not in r.stdout
    code = ("import sys, tikkun\n"
            "r = tikkun.run(preset='quick', souls=300, years=5, out='a')\n"
            "assert r.report is None\n"
            "print('matplotlib' in sys.modules)\n"
            "r = tikkun.run(preset='quick', souls=300, years=5, out='b', report=True)\n"
            "print(r.report)\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["False", "b/report.html"]
    assert not (tmp_path / "a" / "report.html").exists() and (tmp_path / "b" / "report.html").is_file()


def _python(code: str) -> list[str]:
    """The lines ``code`` prints in a fresh interpreter (which must end without error)."""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def test_the_core_imports_no_extra():
    """Importing tikkun and its core (engine, rules, state, records, outputs, genesis) imports
    none of the sweeps, the dashboard, the report, the experiments, nor their packages."""
    code = ("import sys, tikkun, tikkun.engine.core, tikkun.rules, tikkun.state, tikkun.records, "
            "tikkun.outputs.run_folder, tikkun.genesis\n"
            "print(sorted(m for m in sys.modules if m.startswith(('tikkun.sweep', 'tikkun.dash', 'tikkun.report', "
            "'tikkun.experiments', 'matplotlib', 'dask', 'distributed', 'panel', 'bokeh', 'SALib', 'pandas'))))\n"
            "print(callable(tikkun.sweep), 'tikkun.sweep' in sys.modules)\n")
    assert _python(code) == ["[]", "True True"]  # tikkun.sweep is there when asked for


def test_reading_a_folder_and_bad_input_import_no_matplotlib(run):
    """A run folder read, its damage named, or a command's bad input told: none of them waits for
    matplotlib's import; the pages' names still come from tikkun.report, loading what they need."""
    root, _ = run
    code = ("import sys\n"
            "from tikkun.cli import _bad_input_types\n"
            "from tikkun.report import ReportError, read_run_folder\n"
            "_bad_input_types()\n"
            f"read_run_folder({str(root / 'r')!r})\n"
            "try:\n"
            f"    read_run_folder({str(root)!r})\n"  # the runs' parent: no run folder, named as such
            "except ReportError as exc:\n"
            "    print('not a finished run folder' in str(exc))\n"
            "print('matplotlib' in sys.modules)\n"
            "import tikkun.report as r\n"
            "print(r.REPORT_NAME, r.COMPARISON_NAME, callable(r.render), 'matplotlib' in sys.modules)\n")
    assert _python(code) == ["True", "False", "report.html comparison.html True True"]


def test_figures_drawn_in_two_processes_are_the_same(run, monkeypatch):
    from tikkun.report import read_run_folder, render

    root, _ = run
    folder = read_run_folder(root / "r")
    one = render(folder, workers=1)
    assert render(folder, workers=2) == one
    # the figures are drawn in other processes, when there are two workers
    with monkeypatch.context() as m:
        m.setattr(F, "draw", lambda run, tl, name: str(os.getpid()).encode())
        pids = set(F.draw_all(folder, F.timeline(folder), F.figure_names(folder), workers=2).values())
    assert str(os.getpid()).encode() not in pids and len(pids) >= 1
    # workers that fail leave the drawing to the report's own process
    monkeypatch.setattr(F, "_draw_inherited", lambda name: 1 / 0)
    assert render(folder, workers=2) == one


@pytest.mark.slow
def test_report_refuses_what_it_cannot_describe_and_keeps_a_users_file(run, tmp_path):
    root, _ = run
    r = tikkun("report", "nowhere", cwd=tmp_path)
    assert r.returncode == 2 and "no such run folder" in r.stderr
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "scenario.toml").write_text("")
    r = tikkun("report", "half", cwd=tmp_path)
    assert r.returncode == 2 and "not a finished run folder" in r.stderr and "metrics.parquet" in r.stderr
    assert sorted(os.listdir(tmp_path / "half")) == ["scenario.toml"]
    # a user's own report.html is never replaced; tikkun's own is
    mine = tmp_path / "mine"
    mine.mkdir()
    for f in ("scenario.toml", "summary.json", "metrics.parquet", "souls.parquet"):
        (mine / f).write_bytes((root / "r" / f).read_bytes())
    (mine / "report.html").write_text("<p>my notes</p>")
    r = tikkun("report", "mine", cwd=tmp_path)
    assert r.returncode == 2 and "not a report tikkun wrote" in r.stderr
    assert (mine / "report.html").read_text() == "<p>my notes</p>"
    (mine / "report.html").unlink()
    for _ in range(2):
        r = tikkun("report", "mine", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(mine)) == ["metrics.parquet", "report.html", "scenario.toml", "souls.parquet",
                                        "summary.json"]
    page = _Page()
    page.feed((mine / "report.html").read_text())
    assert "genesis" not in page.images  # this folder has no genesis files
    assert all(page.images.get(s) for s in FIGURE_SECTIONS if s != "genesis")


def _damage_scenario(f):
    (f / "scenario.toml").write_text("souls = 5\n")


def _damage_parquet(name, table):
    def damage(f):
        pq.write_table(table(pq.read_table(f / name)), f / name)
    return damage


def _damage_summary(key, value):
    def damage(f):
        summary = json.loads((f / "summary.json").read_text())
        (f / "summary.json").write_text(json.dumps({**summary, key: value}))
    return damage


# a run folder whose files were damaged or written by hand: one line naming the file and what is
# wrong, exit code 2, nothing written
@pytest.mark.parametrize("damage, needle", [
    (_damage_summary("cleansing_mean", "abc"), "summary.json: cleansing_mean is not a number (got 'abc')"),
    (_damage_summary("weakest_link", [1]), "summary.json: weakest_link is not a number"),
    (_damage_summary("complete", "abc"), "summary.json: complete is not a whole number"),
    (_damage_summary("graph", 5), "summary.json: graph is not a table (got 5)"),
    (_damage_parquet("metrics.parquet", lambda t: t.drop(["cleansing_mean"])),
     "metrics.parquet: has no 'cleansing_mean' column"),
    (_damage_parquet("metrics.parquet", lambda t: t.set_column(t.schema.get_field_index("cleansing_mean"),
                                                               "cleansing_mean", pa.array(["a"] * t.num_rows))),
     "metrics.parquet: its column 'cleansing_mean' does not hold numbers"),
    (_damage_parquet("souls.parquet", lambda t: t.set_column(t.schema.get_field_index("cleansing"), "cleansing",
                                                             pa.array(["a"] * t.num_rows))),
     "souls.parquet: its column 'cleansing' does not hold numbers"),
    (lambda f: (f / "scenario.toml").write_bytes(b"\xff\xfe"), "scenario.toml: cannot be read as UTF-8 text"),
    (lambda f: (f / "summary.json").write_bytes(b"\xff\xfe"), "summary.json: cannot be read as UTF-8 text"),
    (lambda f: (f / "summary.json").write_text("[1, 2]"), "summary.json: not a JSON object"),
    (lambda f: (f / "summary.json").write_text('{"end_year": "soon"}'), "summary.json: end_year is not a whole number"),
    (lambda f: (f / "summary.json").write_text('{"events_not_reached": [1]}'), "events_not_reached is not a list"),
    (lambda f: (f / "summary.json").write_text('{"x": 1}'), "summary.json: has no end_year, years_run, stop_reason"),
    (_damage_scenario, "scenario.toml: souls is not a table (got 5)"),
    (lambda f: (f / "scenario.toml").write_text('[generations]\ntorah_from = "x"\n'),
     "scenario.toml: generations.torah_from is not a number"),
    (lambda f: (f / "scenario.toml").write_text("events = [1]\n"), "scenario.toml: events[0] is not a table"),
    (_damage_parquet("metrics.parquet", lambda t: t.slice(0, 0)), "metrics.parquet: has no 'year' column"),
    (_damage_parquet("metrics.parquet", lambda t: t.set_column(0, "year", pa.array(["a"] * t.num_rows))),
     "metrics.parquet: has no 'year' column of whole numbers"),
    (_damage_parquet("souls.parquet", lambda t: t.drop(["cleansing"])), "souls.parquet: has no 'cleansing' column"),
    (_damage_parquet("souls.parquet", lambda t: t.slice(0, 0)), "souls.parquet: has 0 rows, not one for each of"),
    (_damage_parquet("souls.parquet", lambda t: t.slice(0, 5)), "souls.parquet: has 5 rows, not one for each of"),
])
def test_report_names_a_damaged_file(run, tmp_path, damage, needle):
    root, _ = run
    folder = tmp_path / "damaged"
    folder.mkdir()
    for f in ("scenario.toml", "summary.json", "metrics.parquet", "souls.parquet"):
        (folder / f).write_bytes((root / "r" / f).read_bytes())
    damage(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    r = tikkun("report", "damaged", cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr and {p.name: p.read_bytes() for p in folder.iterdir()} == before


# ------------------------------------------------------------------ the figures' parts
def _folder(years=100, metrics=None, souls=None, scenario=None, summary=None):
    n = 1000
    rng = np.random.default_rng(0)
    m = {"year": np.arange(years, dtype=np.int32), "cleansing_mean": np.linspace(0, 1, years),
         "complete": np.linspace(0, n, years).astype(np.int64)}
    m.update(metrics or {})
    s = {"cleansing": rng.random(n), "complete": rng.random(n) < 0.5, "hbd": rng.lognormal(0, 0.3, n)}
    s.update(souls or {})
    return RunFolder(Path("x"), "", scenario or {}, summary or {"souls": n}, m, s, None, ())


def test_timeline_eras_and_events_from_the_scenario():
    sc = {"run": {"years": 6000}, "generations": {"torah_from": 2000, "messiah_from": 4000},
          "events": [{"kind": "scale", "label": "exodus", "year": 2448, "until": 2488, "key": "light.light", "factor": 1.5},
                     {"kind": "set", "year": 3830, "key": "impurity.rate", "value": 0.05},
                     {"kind": "shepherds", "year": 20},
                     {"kind": "set", "label": "exodus", "year": 2448, "until": 2488, "key": "light.practice", "value": 1},
                     {"kind": "reset", "year": 5000}]}
    tl = F.timeline(_folder(years=4500, scenario=sc, summary={"souls": 1000, "end_year": 4400}))
    assert tl.horizon == 4500 and tl.end_year == 4400
    assert tl.eras == (("chaos", 0, 2000), ("torah", 2000, 4000), ("messiah", 4000, 4500))
    assert tl.marks == (F.Mark("shepherds", 20, None), F.Mark("exodus", 2448, 2488),
                        F.Mark("impurity.rate = 0.05", 3830, 4500))  # the reset at 5000 is past the years run
    # without the keys, the eras the engine recorded
    era = np.array(["chaos"] * 30 + ["torah"] * 50 + ["messiah"] * 20)
    tl = F.timeline(_folder(metrics={"era": era}))
    assert tl.eras == (("chaos", 0, 30), ("torah", 30, 80), ("messiah", 80, 100))


def test_a_shepherds_event_before_the_messiah_era_spans_the_years_it_had_shepherds(tmp_path):
    """The strip's bar for a shepherds event before the Messiah era covers exactly the years in
    which the run had shepherds (the engine ends them with their generation, 002); one in the
    Messiah era, whose shepherds stay, has no end."""
    import tikkun
    from tikkun.report import read_run_folder

    tikkun.run(preset="quick", souls=300, out=tmp_path / "q")
    run = read_run_folder(tmp_path / "q")
    (mark,) = [m for m in F.timeline(run).marks if m.year == 200]
    years = np.asarray(run.metrics["year"])[np.asarray(run.metrics["shepherds"]) > 0]
    assert (mark.year, mark.until) == (years.min(), years.max() + 1) == (200, 240)
    sc = {"generations": {"length": 40, "torah_from": 30, "messiah_from": 70},
          "events": [{"kind": "shepherds", "year": 20}, {"kind": "shepherds", "year": 75}]}
    assert [(m.year, m.until) for m in F.timeline(_folder(scenario=sc)).marks] == [(20, 40), (75, None)]


def test_event_labels_never_overlap():
    rng = np.random.default_rng(3)
    for trial in range(20):
        years = rng.integers(0, 6000, 15)
        marks = tuple(sorted((F.Mark("x" * int(rng.integers(3, 20)), int(y), None) for y in years),
                             key=lambda m: m.year))
        tl = F.Timeline(6000, (), marks, None)
        lanes = F._lanes(tl, 670.0)
        per_px = 6000 / 670.0
        spans = []
        for m, (lane, left) in zip(marks, lanes):
            w = (5.2 * len(m.label) + 24.0) * per_px
            lo, hi = (m.year - w, m.year) if left else (m.year, m.year + w)
            assert left or hi <= 6000  # a label on the right of its tick stays within the years
            spans.append((lane, lo, hi))
        for i, (la, a0, a1) in enumerate(spans):
            for lb, b0, b1 in spans[i + 1:]:
                assert la != lb or a1 < b0 or b1 < a0


def test_group_quantiles_match_numpy():
    rng = np.random.default_rng(5)
    hbd = rng.lognormal(0, 0.3, 50_000)
    c = rng.beta(2, 1, hbd.size)
    group, n = F._hbd_groups(hbd)
    sizes = np.bincount(group, minlength=n)
    assert sizes.sum() == hbd.size and np.all(np.abs(sizes - hbd.size / n) <= 1)  # equal groups, no ties
    q = F._group_quantiles(group, n, c, 0.0, 1.0, 1000)
    for g in range(n):
        exact = np.quantile(c[group == g], (0.1, 0.5, 0.9), method="inverted_cdf")
        np.testing.assert_allclose(q[g], exact, rtol=0, atol=0.5e-3 + 1e-12)  # half a bin's width
    # souls of equal hbd share a group, whatever the quantiles say
    group, n = F._hbd_groups(np.ones(100))
    assert np.unique(group).size == 1


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts + [ax.title, ax.xaxis.label, ax.yaxis.label]]


def test_souls_figure_with_and_without_completion_years():
    run = _folder()
    tl = F.timeline(run)
    assert "souls.parquet has no completed_year column" in _texts(F.souls_figure(run, tl))
    done = run.souls["complete"]
    years = np.where(done, np.random.default_rng(1).integers(0, 100, done.size), -1)
    run = _folder(souls={"completed_year": years})
    fig = F.souls_figure(run, tl)
    assert "souls.parquet has no completed_year column" not in _texts(fig)
    assert "year of completion" in _texts(fig)
    bars = fig.axes[1].patches[0]  # the histogram of completion years, one bar a year here
    heights = bars.get_path().vertices[:, 1]
    assert heights.max() == np.bincount(years[done]).max()


def test_no_completion_bar_straddles_a_marked_year():
    """The bars are cut at each era's start and event (the Torah's line at 2,448 fell inside a
    bar of 2,440-2,460, which seemed to begin before it), and give souls a year: the areas add
    up to the souls counted."""
    tl = F.Timeline(horizon=5884, eras=(("a", 0, 2000), ("b", 2000, 4000), ("c", 4000, 5884)),
                    marks=(F.Mark("torah", 2448), F.Mark("exile", 3338, 3408)), end_year=5883)
    bins = F.completion_bins(tl)
    width = F.bin_width(tl.horizon)
    assert set(np.arange(0, tl.horizon + width, width)) <= set(bins) and {2000, 2448, 3338, 4000} <= set(bins)
    assert np.all(np.diff(bins) > 0) and bins[0] == 0 and bins[-1] >= tl.horizon
    years = np.random.default_rng(2).integers(2440, 2470, 1000)
    run = _folder(souls={"completed_year": np.r_[years, np.full(_folder().souls["complete"].size - 1000, -1)]})
    fig = F.souls_figure(run, tl)
    drawn, edges, _ = fig.axes[1].patches[0].get_data()  # the bars as drawn: souls a year, their edges
    assert np.array_equal(edges, bins)
    assert np.isclose(np.nansum(drawn * np.diff(edges)), 1000)  # areas: every soul counted once
    assert fig.axes[1].get_yscale() == "log"  # the few last souls show beside the many
    assert np.all(np.isnan(drawn[(edges[1:] <= 2440) | (edges[:-1] >= 2470)]))  # no bar where none completed
    for y in (2440, 2447, 2448, 2469):  # each bar's height is its souls over its own years
        i = np.searchsorted(edges, y, side="right") - 1
        inside = np.sum((years >= edges[i]) & (years < edges[i + 1]))
        assert np.isclose(drawn[i], inside / (edges[i + 1] - edges[i]))
    assert bins[np.searchsorted(bins, 2447, side="right")] == 2448  # the bar holding 2,447 ends at the line


def test_a_column_no_section_draws_gets_a_figure_of_its_own():
    run = _folder(metrics={"practice": np.full(100, 0.004), "new_measure": np.arange(100.0)})
    assert F.other_columns(run) == ["new_measure"]  # practice is drawn with the effort
    fig = F.other_figure(run, F.timeline(run), F.other_columns(run))
    assert [ax.get_ylabel() for ax in fig.axes] == ["new_measure"]


def test_report_html_escapes_the_scenario():
    from tikkun.report.html import render

    run = _folder(scenario={"name": "<b>x</b>", "description": "a & b"})
    run = RunFolder(run.folder, 'name = "<b>x</b>"\n', run.scenario, {"souls": 1000, "seed": 1}, run.metrics,
                    run.souls, None, ())
    text = render(run)
    assert "<b>x</b>" not in text and html.escape("<b>x</b>") in text and "a &amp; b" in text


def test_the_headline_says_when_c_reaches_one_half_and_the_souls_complete():
    """The findings under the page's title, against metrics whose years are known by
    construction: C reaches 0.5 in year 150; 5 souls of 1,000 complete a year, so half by 100,
    99% by 198, all by 200; and in a run that reaches none of them, what it did reach."""
    from tikkun.report.html import _headline, milestones

    c = np.r_[np.linspace(0.0, 0.49, 150), np.linspace(0.5, 0.9, 150)]
    run = _folder(300, metrics={"cleansing_mean": c, "complete": np.minimum(1000, 5 * np.arange(300))})
    assert milestones(run) == [("C reaches one half", "year 150"),
                               ("souls complete", "half by year 100; 99% by year 198; all by year 200")]
    assert "<th>C reaches one half</th><td>year 150</td>" in _headline(run)
    run = _folder(300, metrics={"cleansing_mean": c / 2, "complete": 3 * np.arange(300)})
    assert milestones(run) == [
        ("C reaches one half", "not reached (at most 0.45)"),
        ("souls complete", "half by year 167; 99%: not reached; all: not reached (at most 897 of 1,000)")]


def test_the_eras_are_explained_once_and_keyed_in_every_caption():
    """What the shaded eras are is said once, above the first figure; each time figure's caption
    keeps the short key; the note names the eras the run has, and only those."""
    from tikkun.report.html import render

    run = _folder(scenario={"generations": {"torah_from": 30, "messiah_from": 70}})
    text = render(run, workers=1)
    note = "The time figures shade the eras (chaos, Torah, Messiah): "
    assert text.count(note) == 1
    assert text.index(note) < text.index("<figure>")
    chaos_only = render(_folder(scenario={"generations": {"torah_from": 500, "messiah_from": 900}}), workers=1)
    assert "The time figures shade the era of chaos: " in chaos_only and "shade the eras" not in chaos_only
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text)
    assert sum("Eras shaded" in c for c in captions) == len(F.SECTIONS)
    assert "torah_from" not in " ".join(captions)


def test_log_ticks_are_written_in_one_style():
    assert [F.log_tick(v) for v in (1e6, 1e5, 1e4, 1.0, 0.5, 0.01, 0.001, 1e-4, 2e-9, 1e-15)] == [
        "1,000,000", "100,000", "10,000", "1", "0.5", "0.01", "0.001", "1e-4", "2e-9", "1e-15"]
    # between the decades (a narrow axis' evenly spaced ticks), each tick its own label
    assert [F.log_tick(v) for v in (19_992.0, 2.5, 0.0125, 2.5e-5, 1.25e-7)] == [
        "19,992", "2.5", "0.0125", "2.5e-5", "1.25e-7"]


@pytest.mark.parametrize("lo, hi, want", [
    (1e-6, 1.0, [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]),  # two decades and more: the decades
    (3_759.0, 20_000.0, [5_000.0, 10_000.0, 20_000.0]),  # under two: 1, 2 and 5 of each
    (0.06, 0.16, [0.1]),  # 1, 2 and 5 give one: evenly spaced ticks (checked below)
    (19_991.0, 20_000.0, [20_000.0]),
])
def test_a_log_axis_always_names_two_values_or_more(lo, hi, want):
    """A panel of the souls not complete from 19,991 to 20,000, or from 3,759 to 20,000, got no
    label or one: every logarithmic axis of the report names two values or more, the decades
    where it spans two decades, else 1, 2 and 5 of each, else evenly spaced values."""
    fig = Figure()
    ax = fig.add_subplot()
    F.log_axis(ax)
    ax.set_ylim(lo, hi)
    ticks = [t for t in ax.yaxis.get_majorticklocs() if lo <= t <= hi]
    if len(want) >= 2:
        np.testing.assert_allclose(ticks, want)
    else:  # evenly spaced, two to five of them, each labelled distinctly
        assert 2 <= len(ticks) <= 5 and np.allclose(np.diff(ticks), np.diff(ticks)[0])
        labels = [F.log_tick(t) for t in ticks]
        assert len(set(labels)) == len(labels), labels
        if lo >= 1:  # counts of souls: whole numbers
            assert all(t == round(t) for t in ticks), ticks


def test_the_strip_lines_up_with_the_years_of_the_panels():
    """The strip is drawn once and placed as pixels: the era of Torah must sit over the panels'
    years torah_from .. messiah_from."""
    import matplotlib
    from matplotlib.colors import to_rgb
    from PIL import Image

    sc = {"generations": {"torah_from": 30, "messiah_from": 70}}
    run = _folder(scenario=sc)
    tl = F.timeline(run)
    with matplotlib.rc_context(F.RC):
        fig = F.section_figure(run, tl, F.SECTIONS[0])
        rgb = np.asarray(Image.open(io.BytesIO(F.png(fig))).convert("RGB")).astype(int)
    box = fig.axes[0].get_window_extent()  # the top panel, in pixels from the bottom left
    above = rgb[: rgb.shape[0] - int(box.y1) - 2]  # rows over the top panel
    torah = np.rint(255 * (0.35 * np.array(to_rgb(F.ERA_COLOURS["torah"])) + 0.65)).astype(int)
    cols = np.flatnonzero(np.all(np.abs(above - torah) <= 2, axis=2).any(axis=0))
    assert cols.size
    scale = (box.x1 - box.x0) / tl.horizon
    assert abs(cols.min() - (box.x0 + 30 * scale)) <= 2 and abs(cols.max() - (box.x0 + 70 * scale)) <= 2


def test_the_end_stands_clear_of_the_frame_and_rewirings_are_points():
    """A run that ended in its last year: the time axes reach past it, so its dashed line is not
    the frame; the rewirings (one year in ten) are points at their years, not a line through
    the zeros between; the shepherds have a panel of their own, whole numbers from 0."""
    import matplotlib

    years = np.arange(100)
    run = _folder(metrics={"rewired": np.where(years % 10 == 0, 200, 0), "shepherds": np.zeros(100, np.int64)},
                  summary={"souls": 1000, "end_year": 99})
    tl = F.timeline(run)
    assert tl.horizon == 100 and tl.end_year == 99 and tl.right >= 101
    section = next(s for s in F.SECTIONS if s.id == "shepherds")
    with matplotlib.rc_context(F.RC):
        fig = F.section_figure(run, tl, section)
    panels = {ax.get_ylabel(): ax for ax in fig.axes if ax.get_ylabel()}
    assert {"shepherds", "complete souls", "share of souls"} <= set(panels)
    assert all(ax.get_xlim() == (0, tl.right) for ax in panels.values())
    (line,) = panels["share of souls"].get_lines()
    assert list(line.get_xdata()) == list(range(0, 100, 10)) and np.allclose(line.get_ydata(), 0.2)
    assert panels["shepherds"].get_ylim() == (0, 1.0)


def test_counts_of_souls_carry_thousands_separators():
    """600,000 complete souls are ticked 0, 150,000, ..., as the tables write them (matplotlib
    wrote 600000); a small count or a share keeps matplotlib's own ticks."""
    import matplotlib

    years = np.arange(100)
    run = _folder(metrics={"complete": np.linspace(0, 600_000, 100).astype(np.int64),
                           "rewired": np.where(years % 10 == 0, 200, 0), "shepherds": np.zeros(100, np.int64)},
                  summary={"souls": 600_000})
    section = next(s for s in F.SECTIONS if s.id == "shepherds")
    with matplotlib.rc_context(F.RC):
        fig = F.section_figure(run, F.timeline(run), section)
        fig.canvas.draw()
    panels = {ax.get_ylabel(): ax for ax in fig.axes if ax.get_ylabel()}
    ticks = [t.get_text() for t in panels["complete souls"].get_yticklabels()]
    assert "600,000" in ticks and all("," in t for t in ticks if t not in ("0", "")), ticks
    shares = [t.get_text() for t in panels["share of souls"].get_yticklabels()]
    assert shares and not any("," in t for t in shares), shares


def test_shocks_are_counted_so_far_and_their_rate_has_its_own_axis():
    """Shocks are rare (a few hundredths a year in the history): a spike each year they come ran
    together into a wall, and a rate of 0.03 on the same axis as counts lay on its floor. Their
    count so far is a step a shock, its legend their number; the rate has its own panel."""
    import matplotlib

    years = np.arange(200)
    shocks = np.zeros(200, np.int64)
    shocks[[50, 51, 120, 121, 121 + 30]] = [1, 2, 1, 1, 3]
    rate = np.where(years >= 50, 0.03, 0.0)
    run = _folder(years=200, metrics={"shocks": shocks, "shock_rate": rate, "screen_lost": shocks * 2.5})
    section = next(s for s in F.SECTIONS if s.id == "shocks")
    with matplotlib.rc_context(F.RC):
        fig = F.section_figure(run, F.timeline(run), section)
    panels = {ax.get_ylabel(): ax for ax in fig.axes if ax.get_ylabel()}
    (count,) = panels["shocks so far"].get_lines()
    assert np.array_equal(count.get_ydata(), np.cumsum(shocks)) and count.get_drawstyle() == "steps-post"
    assert count.get_label() == "shocks (8 in all)"
    (line,) = panels["rate a year\n(Poisson mean)"].get_lines()
    assert np.array_equal(line.get_ydata(), rate) and panels["rate a year\n(Poisson mean)"].get_ylim()[1] < 0.04


def test_effort_and_practice_share_a_log_axis_only_where_they_span_decades():
    # the practice before the Torah (0.003) beside an effort near 1 sits on the floor of a linear
    # axis; an effort and practice both near 1 on a log axis would get a single tick
    section = next(s for s in F.SECTIONS if s.id == "effort-and-aim")

    def panel(practice):
        run = _folder(metrics={"effort_mean": np.linspace(1.0, 1.2, 100), "practice": practice})
        return F.section_figure(run, F.timeline(run), section).axes[0]

    ax = panel(np.r_[np.full(50, 0.003), np.ones(50)])
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "effort e, practice P\n(log scale)"
    assert ax.get_ylim()[0] < 0.003
    lo, hi = ax.get_ylim()
    named = [t for t in ax.yaxis.get_major_locator()() if lo <= t <= hi]
    assert min(named) <= 0.003  # a tick at or under the practice: a value to read it by
    ax = panel(np.ones(100))
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "effort e, practice P"
    assert ax.get_ylim()[0] == 0.0
    ax = panel(np.r_[np.zeros(50), np.full(50, 0.1)])  # zeros do not count in the span: 0.1 to 1.2 is linear
    assert ax.get_yscale() == "linear"


def test_the_souls_kept_at_chosen_years_have_a_section_of_their_own(tmp_path):
    """A run that kept the souls of some years (--souls-at) shows them: a row a year and one for
    the end (complete souls, C and cleansing's quartiles, computed here with NumPy from the
    files) and a figure;
    a kept file without cleansing is named."""
    import tikkun
    from tikkun.report import ReportError, write_report

    folder = tmp_path / "kept"
    tikkun.run(preset="quick", souls=1200, years=80, overrides={"events": []}, out=folder,
               saveat=tikkun.SaveAt(souls=(20, 50)))
    page = _Page()
    page.feed(write_report(folder).read_text())
    assert len(page.images["kept"]) == 1 and _png(page.images["kept"][0]).size[0] == 1000
    text = (folder / "report.html").read_text()
    section = text[text.index('id="kept"'):text.index("</table>", text.index('id="kept"'))]
    cells = re.findall(r'<td class="n">([^<]*)</td>', section)
    assert len(cells) == 3 * 6  # the years kept and the end, as the figure draws them
    for row, (year, name) in zip((cells[:6], cells[6:12], cells[12:]),
                                 ((20, "souls_20"), (50, "souls_50"), ("the end (79)", "souls"))):
        t = pq.read_table(folder / f"{name}.parquet").to_pydict()
        c = np.asarray(t["cleansing"], dtype=np.float64)
        done = int(np.count_nonzero(t["complete"]))
        assert row[0] == (f"{year:,}" if isinstance(year, int) else year) and row[1].startswith(f"{done:,} (")
        assert float(row[2]) == pytest.approx(c.mean(), rel=1e-3)
        assert [float(v) for v in row[3:]] == pytest.approx(np.quantile(c, (0.25, 0.5, 0.75)), rel=1e-3)
    # a file of that shape the run did not keep is not read; one it kept, damaged or gone, is named
    (folder / "souls_7.parquet").write_bytes((folder / "souls_20.parquet").read_bytes())
    text = write_report(folder).read_text()
    kept_part = text[text.index('id="kept"'):]
    assert '<td class="n">20</td>' in kept_part and '<td class="n">7</td>' not in kept_part
    pq.write_table(pa.table({"soul": [0, 1]}), folder / "souls_20.parquet")
    with pytest.raises(ReportError, match="souls_20.parquet: has no 'cleansing' or 'complete' column"):
        write_report(folder)
    pq.write_table(pa.table({"cleansing": [0.5, 1.0], "complete": [False, True]}), folder / "souls_20.parquet")
    with pytest.raises(ReportError, match="souls_20.parquet: has 2 rows, not one for each of the run's 1,200"):
        write_report(folder)
    (folder / "souls_20.parquet").unlink()
    with pytest.raises(ReportError, match="souls_20.parquet: missing, though summary.json says the run kept"):
        write_report(folder)


def test_a_report_over_a_link_or_in_a_folder_not_writable_is_bad_input(run, tmp_path, monkeypatch):
    """report.html as a symbolic link is refused and kept (the page replaced the link by a file);
    a folder the page cannot be written into is named with the page's name, not the temporary
    file's, as bad input (exit 2), not Python's PermissionError."""
    from tikkun.report import ReportError, html as report_html, write_report

    root, _ = run
    folder = tmp_path / "r"
    shutil.copytree(root / "r", folder)
    (folder / "report.html").unlink(missing_ok=True)
    (folder / "report.html").symlink_to(tmp_path / "nowhere.html")
    with pytest.raises(ReportError, match="report.html: is a symbolic link"):
        write_report(folder)
    assert (folder / "report.html").is_symlink() and not (tmp_path / "nowhere.html").exists()
    (folder / "report.html").unlink()

    def denied(path, text):
        raise PermissionError(13, "Permission denied", str(path.parent / ".report.html.tikkun-x.tmp"))

    monkeypatch.setattr(report_html, "write_text", denied)
    denied_message = f"{folder / 'report.html'}: cannot be written (Permission denied)"
    with pytest.raises(ReportError, match=re.escape(denied_message)):
        write_report(folder)


def test_the_kept_souls_table_never_shows_a_bound_a_value_is_not():
    """The kept souls' table, like the headline and the comparison, prints C short of 1 and a
    share short of 100% (or above 0) with the digits it takes: 19,999 of 20,000 souls complete is
    not "100.0%", a mean cleansing of 0.99998 is not "1"."""
    import types

    from tikkun.report.html import _kept_table

    n = 20_000
    c = np.ones(n)
    c[0] = 0.59795  # one soul far from complete: C = 0.99997989...
    done = np.ones(n, dtype=bool)
    done[0] = False
    run = types.SimpleNamespace(metrics={"year": np.arange(3000)}, kept=[],
                                souls={"cleansing": c, "complete": done}, summary={})
    cells = re.findall(r'<td class="n">([^<]*)</td>', _kept_table(run))
    assert cells[0] == "the end (2,999)"
    assert cells[1] == "19,999 (99.995%)" or cells[1] == "19,999 (99.99%)", cells[1]
    assert cells[2] == "0.99998" and float(cells[2]) != 1.0
    assert cells[3:] == ["1", "1", "1"]  # quartiles that are 1 are shown as 1
    done[:] = True
    c[0] = 1.0
    cells = re.findall(r'<td class="n">([^<]*)</td>', _kept_table(run))
    assert cells[1:3] == ["20,000 (100.0%)", "1"]


def test_the_years_shown_frame_every_time_axis_and_scale_the_y_axes_to_them():
    """`--from` and `--to` (a teacher's zoom on the years an event acts): every yearly figure's
    time axis spans those years, its y axes are scaled to the values in them (read from the
    metrics themselves), the events of those years alone are marked, and the souls at the end
    keep the whole run's years."""
    import dataclasses

    import matplotlib

    years = np.arange(100)
    g = np.where(years < 50, 1e-4 * (years + 1), 0.01 * (years - 49))
    sc = {"run": {"years": 100}, "generations": {"torah_from": 30, "messiah_from": 70},
          "events": [{"kind": "scale", "label": "early", "year": 5, "until": 10, "key": "light.light", "factor": 2},
                     {"kind": "scale", "label": "across", "year": 15, "until": 25, "key": "light.light", "factor": 2},
                     {"kind": "shepherds", "label": "inside", "year": 30},
                     {"kind": "reset", "label": "late", "year": 60}]}
    run = _folder(metrics={"weakest_link": g}, scenario=sc)
    full = F.timeline(run)
    tl = dataclasses.replace(full, first=20, last=40)
    assert tl.windowed and not full.windowed and (tl.left, tl.right) == (20.0, 40.0)
    assert [m.label for m in tl.shown_marks] == ["across", "inside"]  # the span begun before 20 runs into them
    # a span [5, 10) ends before year 10: not in years 10 to 40; [15, 25) is, to its last year 24
    assert [m.label for m in dataclasses.replace(full, first=10, last=40).shown_marks] == ["across", "inside"]
    assert [m.label for m in dataclasses.replace(full, first=24, last=40).shown_marks] == ["across", "inside"]
    assert [m.label for m in dataclasses.replace(full, first=25, last=40).shown_marks] == ["inside"]
    assert [m.label for m in dataclasses.replace(full, first=0, last=30).shown_marks] == ["early", "across", "inside"]
    with matplotlib.rc_context(F.RC):
        fig = F.section_figure(run, tl, F.SECTIONS[0])
        souls = F.draw(run, tl, "souls")  # drawn whole: its years of completion are the whole run's
    top, log, left = [ax for ax in fig.axes if ax.get_ylabel()]
    assert all(ax.get_xlim() == (20.0, 40.0) for ax in (top, log, left))
    shown = [np.asarray(run.metrics["cleansing_mean"])[20:41], g[20:41],
             np.asarray(run.metrics["complete"])[20:41] / 1000]
    assert top.get_ylim() == pytest.approx((0.0, 1.08 * max(v.max() for v in shown)))
    assert log.get_ylim() == pytest.approx((g[20] / 1.5, g[40] * 1.5))
    not_complete = run.n_souls - np.asarray(run.metrics["complete"], dtype=float)[20:41]  # the souls left, on a log axis
    not_complete = not_complete[not_complete > 0]
    assert left.get_ylim() == pytest.approx((not_complete.min() / 1.5, not_complete.max() * 1.5))
    # the whole run: its axes as before, to the horizon
    with matplotlib.rc_context(F.RC):
        whole = F.section_figure(run, full, F.SECTIONS[0])
    assert all(ax.get_xlim() == (0.0, 100.0) for ax in whole.axes if ax.get_ylabel())
    assert souls == F.draw(run, full, "souls")


def test_the_report_command_shows_the_years_it_is_given_and_refuses_others(run, tmp_path):
    root, _ = run
    folder = tmp_path / "r"
    shutil.copytree(root / "r", folder)
    r = tikkun("report", "r", "--from", "50", "--to", "120", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = (folder / "report.html").read_text()
    assert "Years 50 to 120 shown (of 0 to 199), the y axes scaled to them." in text
    before = (folder / "report.html").read_bytes()
    for args, needle in ((["--from", "120", "--to", "50"], "--from 120 --to 50: the first year shown (120) must come"),
                         (["--to", "0"], "--to 0: the first year shown (0) must come before the last"),
                         (["--from", "199"], "--from 199: the run does not go past it; give a year from 0 to 198"),
                         (["--to", "-5"], "Invalid value for '--to'")):
        r = tikkun("report", "r", *args, cwd=tmp_path)
        assert r.returncode == 2 and needle in " ".join(r.stderr.split()), r.stderr
        assert (folder / "report.html").read_bytes() == before
    r = tikkun("report", "r", cwd=tmp_path)
    assert r.returncode == 0 and "Years " not in (folder / "report.html").read_text()


def test_an_end_outside_the_years_shown_is_neither_drawn_nor_told():
    """The end of correction in year 99, the years shown 20 to 40: no end line in any panel, no
    row for it in the strip, and the caption does not speak of it; shown from 90, all three."""
    import dataclasses

    import matplotlib

    from tikkun.report.html import _marks_text

    run = _folder(summary={"souls": 1000, "end_year": 99})
    full = F.timeline(run)
    inside, outside = dataclasses.replace(full, first=90), dataclasses.replace(full, first=20, last=40)
    assert (inside.shown_end, outside.shown_end) == (99, None)
    assert "end of correction" in _marks_text(inside) and "end of correction" not in _marks_text(outside)
    with matplotlib.rc_context(F.RC):
        for tl, lines in ((inside, 1), (outside, 0)):
            fig = F.section_figure(run, tl, F.SECTIONS[0])
            ends = [c for ax in fig.axes for c in ax.collections
                    if isinstance(c, F.LineCollection) and c.get_linestyle()[0][1] is not None
                    and np.allclose(c.get_segments()[0][:, 0], 99)]
            assert len(ends) == len(F.SECTIONS[0].panels) * lines  # one a panel
    assert F.time_figure(outside, "", 1)[0].get_figheight() < F.time_figure(inside, "", 1)[0].get_figheight()


def test_the_events_lines_are_dotted_as_the_captions_say():
    """At the figures' resolution each dot and each gap of an event's line is at least a pixel
    (a dotted pattern scaled to a thin line draws it solid; the captions say dotted)."""
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    ax = Figure(dpi=F.DPI).add_subplot()
    F.mark_panel(ax, F.Timeline(400, (), (F.Mark("shepherds", 200),), None))
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    (offset, pattern), = lines.get_dashes()
    assert pattern is not None and len(pattern) == 2  # dashed, not solid
    on, off = (points * F.DPI / 72.0 for points in pattern)
    assert on >= 1.0 and off >= 2.0


def test_the_summary_names_each_event_never_reached_by_its_place_label_kind_and_year():
    """summary.json's events_not_reached in the Summary table: one readable entry an event (an
    exile's two events, its light and its shocks, two entries under one label)."""
    from tikkun.report.html import render

    missed = [{"index": 4, "kind": "set", "label": "first exile", "year": 3338},
              {"index": 5, "kind": "set", "label": "first exile", "year": 3338},
              {"index": 7, "kind": "reset", "label": "", "year": 5000}]
    text = render(_folder(summary={"souls": 1000, "end_year": 99, "events_not_reached": missed}), workers=1)
    row = re.search(r"<th>events_not_reached</th><td[^>]*>(.*?)</td>", text).group(1)
    assert row == ("event 4: first exile (set, year 3,338); event 5: first exile (set, year 3,338); "
                   "event 7: reset (reset, year 5,000)")
