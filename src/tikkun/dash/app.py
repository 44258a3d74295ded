"""The dashboard's page: one per browser session, with its own scenario and its own run.

The run goes on in a worker thread (:class:`tikkun.dash.live.LiveRun`); a periodic callback on
the server's event loop (``pn.state.add_periodic_callback``) takes the new yearly rows several
times a second and streams them into the figures, so the page never waits for the engine.
"""

from __future__ import annotations

import html
import io
import logging
import shutil
import tempfile
import zipfile
from pathlib import Path

import panel as pn
from bokeh.models import PrintfTickFormatter

from tikkun import api
from tikkun.explain import population_note
from tikkun.scenario import ScenarioError, preset_names
from tikkun.scenario.loading import _parse_toml, apply_overrides, build_scenario, preset_text

from . import plots
from .claims import ClaimsView
from .genesis_view import NOTE_FAILED, NOTE_NONE, NOTE_RUNNING, GenesisView
from .layout import FIGURE_MIN_WIDTH, grid
from .live import LiveRun, Phase
from .sweep_view import SweepView

log = logging.getLogger(__name__)

POLL_MS = 200          # the figures follow the run five times a second
SWEEP_POLL_MS = 2000   # a sweep's folder is read every two seconds
#: A change is sent to each page every second, whatever else changes: Panel (1.9) can leave a
#: page's last update unsent, queued until the next change of that page (a task that writes queued
#: messages may find its doc's write block already cleared by the one before it), as a status
#: that stays "running" after Pause (docs/dashboard.md). The beat is that next change: what the
#: page shows is at most a second late.
BEAT_MS = 1000
DEFAULT_PRESET = "history"

#: key -> (label, slider start, end, step); a value typed beyond the slider's ends moves them.
SLIDERS: dict[str, tuple[str, float, float, float]] = {
    "light.alpha": ("alpha, light a year", 0.0, 1.0, 0.001),
    "light.practice": ("P, practice of Torah and Mitzva", 0.0, 2.0, 0.001),
    "light.phi_s": ("phi_s, light once a shepherd exists", 0.0, 2.0, 0.01),
    "light.beta": ("beta, what earlier correction prepared", 0.0, 5.0, 0.05),
    "light.light": ("lam, the Upper Light", 0.0, 3.0, 0.01),
    "impurity.rate": ("shocks a year (rate)", 0.0, 1.0, 0.005),
}
#: mean of a Beta(a, b) quality: the slider moves a / (a + b), keeping a + b
MEANS: dict[str, str] = {"warmth": "mean warmth (004)", "attachment": "mean attachment, holy coldness (004)"}


SEED_MAX = 2**53 - 1  # the largest whole number every larger one is told apart from in a browser


# what the marks on every time axis are (plots.py draws them): the figures have no room for a key
MARKS_KEY = ("<small style='color:#555'>On every time axis, as in the report: the eras shaded "
             "(<span style='background:rgba(154,154,154,0.3);padding:0 3px'>chaos</span>, "
             "<span style='background:rgba(217,164,0,0.3);padding:0 3px'>Torah</span>, "
             "<span style='background:rgba(47,127,208,0.3);padding:0 3px'>Messiah</span>; named at the top of "
             "Correction); dotted lines, the first year of each event (named above Correction, read upward; a grey "
             "bar along the foot of those names, the years it lasts). A title's (000), (002) or (004) names the "
             "source text of its rule (<code>tikkun explain RULE</code> quotes it).</small>")

OWN_CONTROLS = {  # the tabs that do not use the sidebar's scenario: what they use instead
    "Claims": "<p><b>Claims</b> runs an experiment of docs/claims.md with the souls and seeds at the top of "
              "its tab, not the Run tab's scenario: that scenario and its knobs wait beside the Run and "
              "Genesis tabs, as they were left.</p>",
    "Sweep": "<p><b>Sweep</b> follows a folder that <code>tikkun sweep</code> writes: its runs are the "
             "sweep file's, not the Run tab's scenario: that scenario and its knobs wait beside the Run "
             "and Genesis tabs, as they were left.</p>",
}

# a knob's box: Panel's own leaves no room between a value's last digit and the box's arrows
KNOB_BOX_CSS = ":host(.slider-edit) .bk-input-group .bk-input { padding-right: 18px; }"
KNOB_BOX_WIDTH = 92  # px: "0.285714" in bold and the arrows
KNOB_WIDTH = 280  # px: a knob, its name and box above its slider


def knob_format() -> PrintfTickFormatter:
    """A knob's value as typed, to six significant digits (a fixed number of decimals showed alpha's
    0.468273 as 0.468 and 1e-9 as 0, and typing back what was shown changed the scenario). A new one
    for each widget: a Bokeh model belongs to one page."""
    return PrintfTickFormatter(format="%.6g")


SPEEDS: dict[str, float | None] = {"as fast as it runs": None, "1,000 years a second": 1000.0,
                                   "300 years a second": 300.0, "100 years a second": 100.0,
                                   "30 years a second": 30.0, "10 years a second": 10.0, "3 years a second": 3.0}


#: The page's question of 002 ("when a single soul ... is purified from all its filth ... all the
#: souls of its generation will be corrected"): the least cleansed soul made a complete shepherd
#: in a chosen year, to the end of its generation (a ``shepherds`` event; before the Messiah era
#: it lasts that long: MODEL.md r2), the run otherwise the scenario's.
ONE_SOUL = "one soul purified in year"


def one_soul_event(year: int) -> dict:
    """The event the page adds for :data:`ONE_SOUL`, as ``tikkun run --event`` takes it."""
    return {"kind": "shepherds", "year": int(year), "group": {"count": 1, "lowest": "cleansing"},
            "label": "one soul purified"}


def _get(sc, key: str):
    section, name = key.split(".")
    return getattr(getattr(sc, section), name)


def _population_line(sc) -> str:
    """The status line's note where the history runs at another number of souls than its
    calibration's (:func:`tikkun.explain.population_note`): a class at 20,000 souls sees
    another history, and should be told so beside the figures."""
    note = population_note(sc)
    return f"<br><small id='tk-population' style='color:#8a5a00'>note: {html.escape(note)}</small>" if note else ""


def knob_events(sc) -> dict[str, list[str]]:
    """For each knob's key, the scenario's events that set or scale it in their years, as text
    (``before the Torah, 0-2,447: set 0.00296``): there the event, not the knob, gives the value."""
    out: dict[str, list[str]] = {}
    for ev in sc.events:
        key = getattr(ev, "key", None)
        if ev.kind not in ("set", "scale") or key not in SLIDERS:
            continue
        last = (ev.until if ev.until is not None else sc.run.years) - 1
        what = f"set {ev.value:.3g}" if ev.kind == "set" else f"times {ev.factor:.3g}"
        out.setdefault(key, []).append(f"{ev.label or ev.kind}, {ev.year:,}-{last:,}: {what}")
    return out


def knob_note(sc) -> str:
    """HTML under the knobs: which knobs the scenario's events override, in which years."""
    found = knob_events(sc)
    if not found:
        return ""
    items = "".join(f"<li>{html.escape(SLIDERS[k][0].split(',')[0])}: {html.escape('; '.join(v))}</li>"
                    for k, v in found.items())
    return ("<small>In their years this scenario's events set these knobs' values, or multiply them "
            f"(the knob holds in the other years):<ul style='margin:2px 0;padding-left:16px'>{items}</ul></small>")


class Dashboard:
    """One browser session's page. ``max_souls``: the largest population a run may have."""

    def __init__(self, max_souls: int):
        self.max_souls = max_souls
        self.live: LiveRun | None = None
        self.vessels: dict[str, object] = {}  # genesis key -> GenesisResult, so a Reset does not run it again
        self._vessel_in: object | None = None  # handed over by a worker thread
        self._genesis_thread = None
        self._loading = False
        self._shown = None
        self._snapshot_year = -1
        self.base_raw: dict = {}
        self.base_origin = ""
        self.uploaded: tuple[str, dict, str] | None = None  # (label in the list, raw table, file name)
        self._knobs = None  # the scenario the knobs make, or None
        self._knobs_error = ""  # why the knobs make none
        self._run_changed: dict = {}  # the overrides of the run shown, as the knobs were when it was made
        self._previous = ""  # what the dashed lines of the run before are (HTML), once there is one
        self._genesis_key: str | None = None  # the vessel the genesis tab is about
        self._genesis_run: LiveRun | None = None  # a run computing the tab's vessel with its first year
        self.base = None

        # ---- the scenario and its knobs
        self.source = pn.widgets.Select(label="scenario", options=preset_names(), value=DEFAULT_PRESET, width=280,
                                        css_classes=["tk-scenario"])
        self.upload = pn.widgets.FileInput(accept=".toml", multiple=False, width=280)
        self.souls = pn.widgets.IntInput(label=f"souls (at most {max_souls:,})", value=2, step=1000, width=135,
                                         css_classes=["tk-souls"])
        self.seed = pn.widgets.IntInput(label="seed", value=0, width=135, css_classes=["tk-seed"])
        self.sliders = {k: pn.widgets.EditableFloatSlider(label=label, start=a, end=b, step=s, value=a, width=KNOB_WIDTH,
                                                          format=knob_format(), css_classes=[_css(k)])
                        for k, (label, a, b, s) in SLIDERS.items()}
        self.means = {q: pn.widgets.EditableFloatSlider(label=label, start=0.0, end=1.0, step=0.01, value=0.5,
                                                        width=KNOB_WIDTH, format=knob_format(),
                                                        css_classes=[f"tk-mean-{q}"])
                      for q, label in MEANS.items()}
        # six digits clear of the box's arrows: Panel exposes the slider's box and name only as private
        # parts (Panel < 2 is pinned; the browser test checks what they give)
        for knob in (*self.sliders.values(), *self.means.values()):
            knob._value_edit.stylesheets = [*knob._value_edit.stylesheets, KNOB_BOX_CSS]
            knob._value_edit.width = KNOB_BOX_WIDTH
            knob._label.width = KNOB_WIDTH - KNOB_BOX_WIDTH - 10  # a long name wraps rather than push the box out
        self.speed = pn.widgets.Select(label="speed", options=list(SPEEDS), value="as fast as it runs", width=175,
                                       css_classes=["tk-speed"])
        # no start=0 on these two: the browser would keep a -1 typed in while the value stayed the last
        # good one; the knobs' check (scenario) names it instead
        self.pause_after = pn.widgets.IntInput(label="pause after year", value=None, width=95,
                                               placeholder="never", css_classes=["tk-pause-after"])
        self.one_soul = pn.widgets.IntInput(label=ONE_SOUL, value=None, width=280, placeholder="never",
                                            css_classes=["tk-one-soul"])
        self.run_button = pn.widgets.Button(label="Run", color="primary", width=135, css_classes=["tk-run"])
        self.pause_button = pn.widgets.Button(label="Pause", width=135, css_classes=["tk-pause"])
        self.step_button = pn.widgets.Button(label="Step one year", width=135, css_classes=["tk-step"])
        self.reset_button = pn.widgets.Button(label="Reset", color="warning", width=135,
                                              css_classes=["tk-reset"])
        self.download = pn.widgets.FileDownload(callback=self._zip, filename="tikkun-run.zip", width=280,
                                                label="Download the run folder (.zip)", color="success",
                                                embed=False, disabled=True)  # until a run has its year 0
        self.error = pn.pane.HTML("", visible=False, sizing_mode="stretch_width")
        self.knob_note = pn.pane.HTML("", width=290, margin=(0, 10), css_classes=["tk-knob-note"])
        self.status = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["tk-status"])
        self.beat = pn.pane.HTML("<span data-beat='0'></span>", visible=False, css_classes=["tk-beat"])
        self._beats = 0
        self.marks_key = pn.pane.HTML(MARKS_KEY, sizing_mode="stretch_width", margin=(0, 10), css_classes=["tk-marks-key"])

        # ---- the figures
        self.live_figures = plots.LiveFigures()
        self._last_row: dict | None = None
        self.figures = figure_grid(self.live_figures.figures)
        self.genesis = GenesisView()
        self.genesis_button = pn.widgets.Button(label="Run the genesis of this scenario", width=260, color="primary",
                                                css_classes=["tk-genesis-run"])
        self.claims = ClaimsView(max_souls)
        self.sweep = SweepView()

        self.source.param.watch(lambda e: self._load_base(), "value")
        self.upload.param.watch(self._uploaded, "value")
        for w in (self.souls, self.seed, self.one_soul, *self.sliders.values(), *self.means.values()):
            w.param.watch(lambda e: self._changed(), "value")
        self.speed.param.watch(self._set_speed, "value")
        self.pause_after.param.watch(self._set_pause_after, "value")
        self.run_button.on_click(on_loop(self._run))
        self.pause_button.on_click(on_loop(self._pause))
        self.step_button.on_click(on_loop(self._step))
        self.reset_button.on_click(on_loop(self._reset))
        self.genesis_button.on_click(on_loop(self._run_genesis))
        self._load_base()

    # ---------------------------------------------------------------- the page
    def view(self):
        # the scenario's knobs are the Run and Genesis tabs'; beside Claims and Sweep, which have
        # their own, a line says so in their place (knobs that do nothing there were taken for theirs)
        self.knobs = pn.Column(
            self.source, pn.pane.HTML("<small>or a scenario file (.toml):</small>", margin=(0, 10)), self.upload,
            pn.Row(self.souls, self.seed),
            # the commands above the knobs: on a projector's 1280 x 720 Run is pressed with the
            # status line in view, no scrolling
            pn.Row(self.run_button, self.pause_button), pn.Row(self.step_button, self.reset_button),
            pn.Row(self.speed, self.pause_after), self.download, self.one_soul,
            *self.sliders.values(), *self.means.values(), self.knob_note, width=310, margin=0)
        self.knobs_elsewhere = pn.pane.HTML("", visible=False, width=290, margin=(10, 10), css_classes=["tk-knobs-elsewhere"])
        sidebar = pn.Column(
            pn.pane.HTML("<h2 style='margin:4px 0'>tikkun</h2><p style='margin:0'>the common soul, its breaking "
                         "and its correction</p>"),
            self.knobs, self.knobs_elsewhere, self.beat, width=310)
        tabs = (("Run", pn.Column(self.status, self.marks_key, self.figures, sizing_mode="stretch_width")),
                ("Genesis", pn.Column(self.genesis_button, self.genesis.view, sizing_mode="stretch_width")),
                ("Claims", self.claims.view),
                ("Sweep", self.sweep.view))
        self.tab_names = [name for name, _ in tabs]
        self.tabs = pn.Tabs(*tabs, dynamic=False, sizing_mode="stretch_width")
        self.tabs.param.watch(lambda e: self._tab_shown(e.new), "active")
        # room at the right: a legend beside its frame (the Sweep tab's) stood at the window's edge
        return pn.Row(sidebar, pn.Column(self.error, self.tabs, sizing_mode="stretch_width", margin=(5, 16, 5, 5)),
                      sizing_mode="stretch_width")

    def _tab_shown(self, index: int) -> None:
        """The sidebar beside tab ``index``: the scenario's knobs beside Run and Genesis, a line
        naming the tab's own controls beside Claims and Sweep."""
        own = OWN_CONTROLS.get(self.tab_names[index])
        self.knobs.visible = own is None
        self.knobs_elsewhere.object = own or ""
        self.knobs_elsewhere.visible = own is not None

    # ---------------------------------------------------------------- the scenario
    def _load_base(self) -> None:
        """Set the knobs to the chosen preset, or to the uploaded file chosen again in the list."""
        if self._loading:  # the list set by _uploaded, which sets the knobs itself
            return
        name = self.source.value
        if self.uploaded is not None and name == self.uploaded[0]:
            self._set_base(self.uploaded[1], self.uploaded[2])
            return
        self._set_base(_parse_toml(preset_text(name), f"preset {name}"), f"preset {name}")

    def _uploaded(self, event) -> None:
        data, name = event.new, self.upload.filename or "uploaded.toml"
        if data is None:  # b"": an empty file, a valid scenario of defaults (tikkun validate says so)
            return
        try:
            text = data.decode("utf-8")
            raw = _parse_toml(text, name)
            build_scenario(raw, name)  # the command line's validation and message
        except (UnicodeDecodeError, ScenarioError) as exc:
            self._show_error(f"{name}: cannot be read as UTF-8 text: {exc}" if isinstance(exc, UnicodeDecodeError)
                             else str(exc))
            # the refused file's name leaves the chooser: it is not loaded, and choosing it again once
            # mended is a change the browser reports
            self.upload.clear()
            return
        label = f"file: {name}"
        self.uploaded = (label, raw, name)
        self._loading = True
        try:
            self.source.options = [*preset_names(), label]
            self.source.value = label
        finally:
            self._loading = False
        self._set_base(raw, name)

    def _set_base(self, raw: dict, origin: str) -> None:
        try:
            base = build_scenario(raw, origin)
        except ScenarioError as exc:
            self._show_error(str(exc))
            return
        self.base_raw, self.base_origin, self.base = raw, origin, base
        self.knob_note.object = knob_note(base)
        self._loading = True
        try:
            self.souls.value = min(base.souls.count, self.max_souls)
            self.seed.value = base.run.seed
            for k, w in self.sliders.items():
                v = float(_get(base, k))
                w.end = max(w.end, v)
                w.value = v
            for q, w in self.means.items():
                a, b = getattr(base.souls, f"{q}_a"), getattr(base.souls, f"{q}_b")
                w.value = a / (a + b)
        finally:
            self._loading = False
        self._changed()

    def overrides(self) -> dict:
        """The knobs that differ from the scenario, as ``--set`` keys and values."""
        b = self.base
        out: dict = {}
        if self.souls.value != b.souls.count:
            out["souls.count"] = self.souls.value
        if self.seed.value != b.run.seed:
            out["run.seed"] = self.seed.value
        # a knob that reads as the scenario's value in its box (six digits) is the scenario's: the
        # mean warmth 2/7, shown 0.285714 and typed back so, is not a change of the scenario
        for k, w in self.sliders.items():
            if not _reads_as(w.value, _get(b, k)):
                out[k] = w.value
        for q, w in self.means.items():
            a, bb = getattr(b.souls, f"{q}_a"), getattr(b.souls, f"{q}_b")
            if not _reads_as(w.value, a / (a + bb)):
                out[f"souls.{q}_a"] = w.value * (a + bb)
                out[f"souls.{q}_b"] = (1.0 - w.value) * (a + bb)
        return out

    def changes(self) -> dict:
        """What the page changes in the scenario, as its status lines name it: the knobs'
        overrides and the year of the one soul purified."""
        out = self.overrides()
        if self.one_soul.value is not None:
            out[ONE_SOUL] = self.one_soul.value
        return out

    def scenario(self):
        """The scenario the knobs describe; ScenarioError with the command line's message if it is not one
        (or if the pause's year beside them is none: Run waits for it too)."""
        if self.base is None:
            raise ScenarioError("no scenario: choose a preset or a valid scenario file")
        pause = self.pause_after.value
        if pause is not None and pause < 0:
            raise ScenarioError(f"pause after year: {pause:,} is not a year (0 or later); leave it empty for never")
        for q, w in self.means.items():  # named by its knob, not by the Beta law's a or b it moves
            if w.value is None or not 0.0 < w.value < 1.0:
                raise ScenarioError(f"{MEANS[q]}: the mean of a Beta law, strictly between 0 and 1 "
                                    f"(got {'nothing' if w.value is None else _fmt(float(w.value))})")
        ov = self.overrides()
        souls = self.souls.value
        if souls is None:
            raise ScenarioError(f"souls: give a number of souls, from 1 to {self.max_souls:,} in this dashboard")
        if souls > self.max_souls:
            raise ScenarioError(f"souls: at most {self.max_souls:,} in this dashboard (got {souls:,}); "
                                f"tikkun serve --max-souls sets the cap")
        seed = self.seed.value
        if seed is None:
            raise ScenarioError(f"seed: give a whole number, from 0 to {SEED_MAX:,} in this dashboard")
        if seed > SEED_MAX:  # the browser has already rounded it: a seed typed above this is not the one sent
            raise ScenarioError(f"seed: at most {SEED_MAX:,} in this dashboard (a browser's numbers are whole only "
                                f"below 2**53; tikkun run --seed takes seeds up to 2**62)")
        raw = apply_overrides(self.base_raw, ov)
        year = self.one_soul.value
        if year is None:
            return build_scenario(raw, self.base_origin)
        horizon = build_scenario(raw, self.base_origin).run.years
        if not 0 <= year < horizon:
            raise ScenarioError(f"{ONE_SOUL}: {year:,} is not a year of the run (0 to {horizon - 1:,}); leave it "
                                "empty for none")
        return build_scenario({**raw, "events": [*raw.get("events", []), one_soul_event(year)]}, self.base_origin)

    def _changed(self) -> None:
        if self._loading:
            return
        try:
            self._knobs, self._knobs_error = self.scenario(), ""
        except ScenarioError as exc:
            self._knobs, self._knobs_error = None, str(exc)
            self._show_error(str(exc))
        else:
            self.error.visible = False
            self._describe_genesis(self._knobs)
            if self.live is None:  # no run on the page: the axes show its years and eras, ready
                self._clear_figures(self._knobs, waiting=False)
        self._status()

    def _show_error(self, message: str) -> None:
        """One message, as the command line prints it, in a red box above the tabs (never a traceback)."""
        lines = "<br>".join(html.escape(ln) for ln in message.splitlines())
        self.error.object = (f"<div id='tk-error' role='alert' style='color:#842029;background:#f8d7da;"
                             f"border:1px solid #f5c2c7;border-radius:4px;padding:8px 12px'>error: {lines}</div>")
        self.error.visible = True

    # ---------------------------------------------------------------- commands
    def _current(self):
        """The live run to command: the current one if its scenario is what the knobs say, else a new one."""
        try:
            sc = self.scenario()
        except ScenarioError as exc:
            self._show_error(str(exc))
            return None
        self.error.visible = False
        live = self.live
        if live is not None and live.scenario == sc and live.phase not in (Phase.FAILED, Phase.CLOSED):
            return live
        return self._new_run(sc)

    def _keep_as_previous(self) -> None:
        """The run shown becomes the run before: its C and G stay, dashed, under the next run's,
        and the status line says which run they are."""
        if self.live is not None and self._last_row is not None and self.live_figures.keep_as_previous():
            sc, row = self.live.scenario, self._last_row
            changed = ", ".join(f"{k} = {_fmt(v)}" for k, v in self._run_changed.items()) or "none"
            self._previous = (f"dashed: the run before ({html.escape(sc.name)}, {sc.souls.count:,} souls, seed "
                              f"{sc.run.seed}; changed from the scenario: {html.escape(changed)}), to year "
                              f"{int(row['year']):,}: C = {float(row['cleansing_mean']):.6g}, "
                              f"G = {float(row['weakest_link']):.4g}")

    def _new_run(self, sc) -> LiveRun:
        if self.live is not None:
            self._keep_as_previous()
            self.live.close()
        key = _vessel_key(sc)
        self.live = LiveRun(sc, vessel=self.vessels.get(key), on_vessel=self._vessel_ready,
                            years_per_second=SPEEDS[self.speed.value], pause_after=self.pause_after.value)
        self._run_changed = self.changes()
        self._clear_figures(sc)
        self._shown, self._snapshot_year = None, -1
        self.download.filename = f"{sc.name}-seed{sc.run.seed}.zip"
        self._describe_genesis(sc)
        return self.live

    def _run(self, _event=None) -> None:
        live = self._current()
        if live is None:
            return
        if live.phase is Phase.FINISHED:
            self._status("this run is finished; Reset (or change a knob) for a new one")
            return
        live.years_per_second = SPEEDS[self.speed.value]
        live.run()

    def _pause(self, _event=None) -> None:
        if self.live is not None:
            self.live.pause()

    def _step(self, _event=None) -> None:
        live = self._current()
        if live is not None and live.phase is not Phase.FINISHED:
            live.step()

    def _reset(self, _event=None) -> None:
        if self.live is not None:
            self._keep_as_previous()
            self.live.close()
            self._clear_figures(self.live.scenario, waiting=False)
        self.live = None
        self.download.disabled = True
        self._changed()

    def _set_speed(self, event) -> None:
        if self.live is not None:
            self.live.years_per_second = SPEEDS[event.new]

    def _set_pause_after(self, event) -> None:
        def bad(year):
            return year is not None and year < 0

        if self.live is not None and not bad(event.new):
            self.live.pause_after = event.new
        if bad(event.new) or bad(event.old):  # says why a year before 0 is none, or that the knobs are good again
            self._changed()

    # ---------------------------------------------------------------- the genesis
    def _describe_genesis(self, sc, again: bool = False) -> None:
        """The genesis tab about ``sc``'s vessel (the knobs' scenario); unchanged if it is already
        about that vessel (a knob that does not change the vessel does not reset the player)."""
        key = _vessel_key(sc)
        if key == self._genesis_key and not again:
            return
        self._genesis_key = key
        if sc.genesis is None:
            self.genesis_button.disabled = True
            self.genesis.clear("This scenario has no [genesis] section: its sparks' unity is drawn from "
                               "sparks.unity. The history preset has one.", note=NOTE_NONE)
        elif key in self.vessels:
            self.genesis_button.disabled = True
            self.genesis.show(self.vessels[key])
        else:
            self.genesis_button.disabled = False
            self.genesis.clear(f"The genesis of this scenario ({sc.genesis.n} x {sc.genesis.n} vessel, "
                               f"{len(sc.genesis.stages)} stages) runs with the first year of a run, or now "
                               f"with the button above.")

    def _vessel_ready(self, vessel) -> None:
        """From a worker thread: hand the vessel to the loop."""
        self._vessel_in = vessel

    def _run_genesis(self, _event=None) -> None:
        import threading

        try:
            sc = self.scenario()
        except ScenarioError as exc:
            self._show_error(str(exc))
            return
        if sc.genesis is None or (self._genesis_thread is not None and self._genesis_thread.is_alive()) or \
                (self._genesis_run is not None and _vessel_key(sc) == _vessel_key(self._genesis_run.scenario)):
            return
        self.genesis_button.disabled = True
        self.genesis.clear(f"running the genesis: a {sc.genesis.n} x {sc.genesis.n} vessel through "
                           f"{len(sc.genesis.stages)} stages ...", note=NOTE_RUNNING)

        def work():
            try:
                self._vessel_in = api.genesis(sc)
            except Exception as exc:
                log.exception("genesis failed")
                self._vessel_in = exc

        self._genesis_thread = threading.Thread(target=work, daemon=True, name="tikkun-dash-genesis")
        self._genesis_thread.start()

    # ---------------------------------------------------------------- the loop's callbacks
    def send_beat(self) -> None:
        """Change the page's hidden beat (every :data:`BEAT_MS`), so that an update Panel left
        queued is sent with it."""
        self._beats += 1
        self.beat.object = f"<span data-beat='{self._beats}'></span>"

    def poll(self) -> None:
        """Move the page to where the run is (on the server's loop, every :data:`POLL_MS`)."""
        vessel, self._vessel_in = self._vessel_in, None
        if isinstance(vessel, Exception):
            self.genesis.clear(f"error: {type(vessel).__name__}: {html.escape(str(vessel))}", note=NOTE_FAILED)
            self.genesis_button.disabled = False  # to try again
        elif vessel is not None:
            key = _vessel_key_of(vessel)
            self.vessels[key] = vessel
            if key == self._genesis_key:  # else the knobs have moved to another vessel meanwhile
                self.genesis.show(vessel)
                self.genesis_button.disabled = True
        self._follow_genesis_run()
        self.claims.poll()
        live = self.live
        if live is None:
            return
        # the phase before the rows: a run that is paused or finished now has all its rows in
        # take_rows, read after; its phase read after them could be one the thread reached since
        phase, message, pending = live.phase, live.message, live.pending_pause
        rows = live.take_rows()
        snap = live.snapshot()
        if rows:
            self._last_row = rows[-1]
        if rows:
            self.live_figures.add_rows(rows)
        if phase is Phase.FINISHED:
            self.live_figures.finish()
        if snap is not None and snap.year != self._snapshot_year:
            self._snapshot_year = snap.year
            self.live_figures.show_souls(snap)
        shown = (self._last_row["year"] if self._last_row else None, live.year, phase, message)
        if shown != self._shown:
            self._shown = shown
            self._status(phase=phase, message=message, pending=pending)
            self.download.disabled = live.state is None

    def _follow_genesis_run(self) -> None:
        """While a run computes the genesis tab's vessel with its first year, the tab says so and
        its button waits (a second genesis of the same vessel would only share the cores); a run
        that ends without it (it failed) gives the button back."""
        live = self.live
        key = self._genesis_key
        if (self._genesis_run is None and live is not None and live.alive and live.vessel is None
                and live.scenario.genesis is not None and _vessel_key(live.scenario) == key
                and key not in self.vessels and not (self._genesis_thread and self._genesis_thread.is_alive())):
            g = live.scenario.genesis
            self._genesis_run = live
            self.genesis_button.disabled = True
            self.genesis.clear(f"running the genesis with the run's first year: a {g.n} x {g.n} vessel through "
                               f"{len(g.stages)} stages ...", note=NOTE_RUNNING)
        run = self._genesis_run
        if run is not None and (run.vessel is not None or not run.alive):
            self._genesis_run = None
            if (_vessel_key(run.scenario) == key and key not in self.vessels and self._vessel_in is None
                    and run.vessel is None):
                self._describe_genesis(run.scenario, again=True)  # it failed: the button back
                if run.phase is Phase.FAILED:
                    self.genesis.caption.object += (f"<p style='color:#b00'>The run stopped before its vessel "
                                                    f"was made: {html.escape(run.message)}</p>")

    def _clear_figures(self, sc, waiting: bool = True) -> None:
        """Empty the figures for a run of ``sc`` (in a handler on the loop, the page's lock held);
        ``waiting`` False: no run follows (Reset)."""
        self.live_figures.start(sc, waiting=waiting)
        self._last_row = None

    def _status(self, note: str = "", phase=None, message=None, pending=None) -> None:
        """The status line; ``phase``, ``message`` and ``pending`` (its pause to come): the run's as
        :meth:`poll` read them before taking its rows (else read now)."""
        live = self.live
        if live is None:
            sc = self._knobs
            if sc is None:  # the error above says why; Run does nothing until it is mended
                self.status.object = ("<p id='tk-status'><span id='tk-year' data-year='-1' data-phase='not ready'>"
                                      "not ready</span>: the knobs do not make a scenario (the error above says "
                                      "why); Run waits until it is mended.</p>")
                return
            changed = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.changes().items()) or "none"
            self.status.object = (f"<p id='tk-status'><span id='tk-year' data-year='-1' data-phase='ready'>ready</span>: "
                                  f"{html.escape(sc.name)}, {sc.souls.count:,} souls, seed {sc.run.seed}, horizon "
                                  f"{sc.run.years:,} years; changed from the scenario: "
                                  f"<span id='tk-changed'>{html.escape(changed)}</span>. Press Run.{_population_line(sc)}"
                                  f"{self._previous_line()}</p>")
            return
        sc = live.scenario
        st = live.state
        row = self._last_row
        c = float(row["cleansing_mean"]) if row else (float(st.cleansing_mean) if st is not None else 0.0)
        g = float(row["weakest_link"]) if row else 0.0
        last = int(row["year"]) if row else -1  # the last year computed (years run - 1)
        shown = f"year {last:,}" if row else "year 0 not yet run"
        end = f"; the end of correction in year {live.end_year:,}" if live.end_year is not None else ""
        # before its first year a running run's message says what it waits on (the kernels compiling: minutes)
        if phase is None:
            phase, message, pending = live.phase, live.message, live.pending_pause
        told = phase in (Phase.PREPARING, Phase.FAILED, Phase.FINISHED) or (phase is Phase.RUNNING and not row)
        msg = message if told else phase.value
        if phase is Phase.RUNNING and live.rate is not None:
            msg += f", {live.rate:,.0f} years a second"
        if phase is Phase.RUNNING and pending is not None:
            msg += f"; pausing after year {pending:,}"
        colour = "#b00" if phase is Phase.FAILED else "#222"
        changed = ", ".join(f"{k} = {_fmt(v)}" for k, v in self._run_changed.items()) or "none"
        self.status.object = (
            f"<p id='tk-status' style='color:{colour}'><b><span id='tk-year' data-year='{last}' data-phase='{phase.value}'>"
            f"{shown}</span></b> (horizon {sc.run.years:,} years): C = <span id='tk-c'>{c:.6g}</span>, "
            f"G = {g:.4g}{end}. <i>{html.escape(msg)}</i>{(' ' + html.escape(note)) if note else ''}<br>"
            f"<small>{html.escape(sc.name)}, {sc.souls.count:,} souls, seed {sc.run.seed}; changed from the "
            f"scenario: <span id='tk-changed'>{html.escape(changed)}</span></small>{_population_line(sc)}"
            f"{self._next_run()}{self._previous_line()}</p>")

    def _previous_line(self) -> str:
        return f"<br><small id='tk-previous' style='color:#555'>{self._previous}</small>" if self._previous else ""

    def _next_run(self) -> str:
        """The line under a run's status when the knobs no longer describe that run: what Run
        would start (the run shown is not changed by them)."""
        sc = self._knobs
        if self.live is None or sc == self.live.scenario:
            return ""
        if sc is None:
            what = "the knobs now make no scenario (the error above says why); Run waits until it is mended"
        else:
            changed = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.changes().items()) or "none"
            what = (f"the knobs now differ from this run; Run starts a new one: {html.escape(sc.name)}, "
                    f"{sc.souls.count:,} souls, seed {sc.run.seed}; changed from the scenario: {html.escape(changed)}")
        return f"<br><small id='tk-next' style='color:#8a5a00'>{what}</small>"

    # ---------------------------------------------------------------- download
    def _zip(self):
        """The run so far as a zip of its run folder (FileDownload's callback)."""
        live = self.live
        if live is None or live.state is None:
            self._show_error("download: there is no run yet; press Run or Step one year first")
            return None
        sc = live.scenario
        # named by the last year computed, as the page says it (years run - 1)
        stem = f"{sc.name}-seed{sc.run.seed}-" + (f"year{live.year - 1}" if live.year else "before-year0")
        tmp = Path(tempfile.mkdtemp(prefix="tikkun-dash-"))
        try:
            folder = tmp / stem
            live.write_folder(folder)
            why = _add_report(folder)
            if why:
                self._show_error(f"download: the run folder has no report.html ({why})")
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in sorted(folder.rglob("*")):
                    if p.is_file():
                        zf.write(p, f"{stem}/{p.relative_to(folder).as_posix()}")
            buf.seek(0)
            self.download.filename = f"{stem}.zip"
            return buf
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def close(self) -> None:
        """The browser went away: end this page's run and remove its files."""
        if self.live is not None:
            self.live.close()
        self.claims.close()


def figure_grid(figures) -> pn.Column:
    """The first figure (the correction) on a row of its own, the others two a row where the tab
    is wide enough for two of :data:`FIGURE_MIN_WIDTH`, else one a row (in a 1,000 px window)."""
    return pn.Column(pn.pane.Bokeh(figures[0], sizing_mode="stretch_width"),
                     grid(*figures[1:], min_width=FIGURE_MIN_WIDTH), sizing_mode="stretch_width")


def on_loop(handler):
    """A button's click handler that runs ``handler()`` at the loop's next tick with the page's
    document lock held (``pn.state.execute(..., schedule=True)``): Panel hands a click to its
    handler without Bokeh's lock, and the handlers here change Bokeh models (figures' data)."""
    return lambda _event=None: pn.state.execute(handler, schedule=True)


def _add_report(folder: Path) -> str | None:
    """report.html beside the run's files, as ``tikkun report`` writes it, when this tikkun has
    :mod:`tikkun.report`; the reason as one line if it cannot be written. Its figures are drawn
    in this process (``workers=1``): the report's forked drawing processes are for a command
    line, not for a server with threads running."""
    try:
        from tikkun.report import REPORT_NAME, read_run_folder, render
    except ImportError:
        return None
    from tikkun.outputs.atomic import write_text

    try:
        write_text(folder / REPORT_NAME, render(read_run_folder(folder), workers=1))
    except Exception as exc:  # the folder still downloads; the page says why it has no report
        log.exception("report of %s", folder)
        return f"{type(exc).__name__}: {exc}"
    return None


def _css(key: str) -> str:
    """The CSS class of a knob's widget: ``light.alpha`` -> ``tk-light-alpha``."""
    return "tk-" + key.replace(".", "-").replace("_", "-")


def _fmt(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)


def _reads_as(value, scenario_value) -> bool:
    """Whether a knob's ``value`` reads as ``scenario_value`` in its box (six significant digits,
    :func:`knob_format`)."""
    if value is None or scenario_value is None:
        return value is scenario_value
    return value == scenario_value or f"{float(value):.6g}" == f"{float(scenario_value):.6g}"


def _vessel_key(sc) -> str:
    return "" if sc.genesis is None else f"{sc.run.seed}:{sc.genesis.model_dump_json()}"


def _vessel_key_of(vessel) -> str:
    return "" if vessel.config is None else f"{vessel.seed}:{vessel.config.model_dump_json()}"


def page(max_souls: int):
    """A new page for a new browser session (what ``pn.serve`` calls for each one)."""
    dash = Dashboard(max_souls)
    pn.state.add_periodic_callback(dash.poll, period=POLL_MS)
    pn.state.add_periodic_callback(dash.sweep.poll, period=SWEEP_POLL_MS)
    pn.state.add_periodic_callback(dash.send_beat, period=BEAT_MS)
    pn.state.on_session_destroyed(lambda session_context: dash.close())
    return dash.view()
