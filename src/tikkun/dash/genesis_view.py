"""The genesis panel: the vessel's field at the end of each stage, stepped through as an image,
with its unity and mixing over the genesis' time (MODEL.md, phase 1; 000, second essay)."""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.models import BoxAnnotation, ColorBar, ColumnDataSource, FixedTicker, LabelSet, LinearColorMapper, Range1d
from bokeh.plotting import figure

from tikkun.report.genesis import VESSEL_CMAP

from .layout import grid
from .plots import empty_note

IMAGE_WIDTH = 460  # px, the vessel's figure with its colour bar; the curves beside it, or under it when narrow
# why the figures are empty, in their frames as the Run tab's say it
NOTE_NOT_YET = "no genesis yet: press the button above, or Run"
NOTE_NONE = "this scenario has no genesis"
NOTE_RUNNING = "running the genesis ..."
NOTE_FAILED = "the genesis failed: see above"
# the stages are named in a band above the curves (unity and mixing are at most 1); the lines
# between stages stop under it, so no line runs through a name
BAND_FOOT = 1.005


def _palette(n: int = 256) -> tuple[str, ...]:
    """The report's colour map for the vessel (blue at -1, reception; red at +1, bestowal),
    sampled as matplotlib draws it, so the page and the genesis PNGs agree colour for colour."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[VESSEL_CMAP].resampled(n)
    return tuple(to_hex(cmap(i)) for i in range(n))


#: phi = -1 (reception) at the first colour, +1 (bestowal) at the last (MODEL.md, phase 1)
PHI_PALETTE = _palette()


def stage_spans(records: dict[str, np.ndarray], kinds: list[str]) -> list[tuple[int, int]]:
    """``(first, last)`` record index of each stage, in script order: the records of a stage are
    the run of rows carrying its name (a stage of zero duration has one record; a stage with
    none gets the span of the record before it)."""
    stage = [str(s) for s in records["stage"]]
    spans, i = [], 0
    for kind in kinds:
        j = i
        while j < len(stage) and stage[j] == kind:
            j += 1
        spans.append((i, j - 1) if j > i else (max(i - 1, 0), max(i - 1, 0)))
        i = j
    return spans


class GenesisView:
    """A vessel (:class:`tikkun.genesis.GenesisResult`) shown stage by stage."""

    def __init__(self):
        self.result = None
        self._spans: list[tuple[int, int]] = []
        self.image_source = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []})
        self.curves = ColumnDataSource({"step": [], "time": [], "unity": [], "mixing": []})
        self.caption = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["tk-genesis-caption"])
        self.player = pn.widgets.Player(label="stage", start=0, end=1, value=0, interval=1500, loop_policy="loop",
                                        show_value=False, show_loop_controls=False, width=300, disabled=True,
                                        visible=False, visible_buttons=["first", "previous", "pause", "play",
                                                                        "next", "last"], css_classes=["tk-player"])
        self.player.param.watch(lambda e: self._show(e.new), "value")
        mapper = LinearColorMapper(palette=PHI_PALETTE, low=-1.0, high=1.0)
        img = figure(title="The vessel's field phi", height=400, width=IMAGE_WIDTH - 10, match_aspect=True,
                     tools="save", toolbar_location="above", name="genesis-image",
                     x_range=Range1d(0, 1), y_range=Range1d(1, 0))  # row 0 at the top, as the PNGs' imshow
        img.image("image", x="x", y="y", dw="dw", dh="dh", source=self.image_source, color_mapper=mapper)
        img.add_layout(ColorBar(color_mapper=mapper, title="phi: -1 reception, +1 bestowal", width=12,
                                title_text_font_size="9pt", ticker=FixedTicker(ticks=[-1, -0.5, 0, 0.5, 1])), "right")
        img.xaxis.axis_label = "x (grid cells)"
        img.yaxis.axis_label = "y (grid cells)"
        self.image = img
        cur = figure(title="Unity and mixing through the genesis", height=400, sizing_mode="stretch_width",
                     x_range=Range1d(0, 1), y_range=Range1d(-0.02, 1.1), tools="save", toolbar_location="above",
                     name="genesis-curves")
        cur.line("step", "unity", source=self.curves, line_width=2, color="#1f77b4",
                 legend_label="unity, 1 - mean(phi^2)")
        cur.line("step", "mixing", source=self.curves, line_width=2, color="#ff7f0e",
                 legend_label="mixing, 1 - mean(coarse phi^2)")
        cur.scatter("step", "unity", source=self.curves, size=4, color="#1f77b4")
        cur.scatter("step", "mixing", source=self.curves, size=4, color="#ff7f0e")
        cur.xaxis.axis_label = "recorded step of the solver (stages marked above)"
        cur.yaxis.axis_label = "unity, mixing (0 to 1)"
        legend = cur.legend[0]
        cur.center.remove(legend)  # under the frame: never over a curve, whatever the stages' lengths
        legend.update(orientation="horizontal", label_text_font_size="9pt", padding=2, margin=2,
                      visible=False)  # shown with the curves: before them it has no swatches
        cur.add_layout(legend, "below")
        self.legend = legend
        self.boundaries = ColumnDataSource({"x": []})  # where a stage ends and the next begins
        cur.segment(x0="x", x1="x", y0=-0.02, y1=BAND_FOOT, source=self.boundaries, line_color="#555555",
                    line_width=1, line_alpha=0.7)
        self.now = BoxAnnotation(left=0, right=0, top=BAND_FOOT, fill_color="#444444", fill_alpha=0.12)
        cur.add_layout(self.now)
        self.stage_labels = LabelSet(x="x", y="y", text="text", source=ColumnDataSource({"x": [], "y": [], "text": []}),
                                     text_font_size="8pt", text_color="#333333", x_offset=2)
        cur.add_layout(self.stage_labels)
        self.curve_fig = cur
        self.notes = {f.name: empty_note(f, NOTE_NOT_YET) for f in (img, cur)}
        self.view = pn.Column(
            self.caption, self.player,
            grid(pn.Column(pn.pane.Bokeh(img), css_classes=["tk-genesis-image"]), cur, min_width=IMAGE_WIDTH),
            sizing_mode="stretch_width")

    def _empty(self, note: str | None) -> None:
        """Say ``note`` in both figures and hide the legend, or (None) the reverse."""
        for n in self.notes.values():
            n.update(text=note or "", visible=note is not None)
        self.legend.visible = note is None

    def clear(self, message: str, note: str = NOTE_NOT_YET) -> None:
        """No vessel shown: ``message`` above the figures, ``note`` in their frames."""
        self.result = None
        self._empty(note)
        self.image_source.data = {"image": [], "x": [], "y": [], "dw": [], "dh": []}
        self.curves.data = {"step": [], "time": [], "unity": [], "mixing": []}
        self.stage_labels.source.data = {"x": [], "y": [], "text": []}
        self.boundaries.data = {"x": []}
        self.image.title.text = "The vessel's field phi"  # not the stage of a vessel no longer shown
        self.now.left, self.now.right = 0, 0
        self.player.visible = False
        self.player.disabled = True
        self.caption.object = f"<p>{message}</p>"

    def show(self, result) -> None:
        """Show a finished genesis from its first stage."""
        self.result = result
        kinds = [k for k, _ in result.stage_fields]
        self._spans = stage_spans(result.records, kinds)
        rec = result.records
        n_rec = len(rec["time"])
        self.curves.data = {"step": np.arange(n_rec), "time": np.asarray(rec["time"], float),
                            "unity": np.asarray(rec["unity"], float), "mixing": np.asarray(rec["mixing"], float)}
        # in the band, from the line where each stage begins, alternately high and low: short
        # stages sit side by side
        self.stage_labels.source.data = {"x": [a - 0.5 for a, _ in self._spans], "text": kinds,
                                         "y": [1.055 if j % 2 == 0 else 1.015 for j in range(len(kinds))]}
        # between a stage's last record and the next stage's first (none before the first stage)
        self.boundaries.data = {"x": [a - 0.5 for a, _ in self._spans[1:]]}
        self.curve_fig.x_range.start, self.curve_fig.x_range.end = -0.5, n_rec + 1.5  # room for the last label
        n = result.field.shape[0]
        self.image.x_range.start, self.image.x_range.end = 0, n
        self.image.y_range.start, self.image.y_range.end = n, 0  # row 0 (y = 0) at the top
        self.player.end = max(len(kinds) - 1, 1)
        self.player.disabled = len(kinds) < 2
        self.player.visible = True
        self._empty(None)
        if self.player.value != 0:
            self.player.value = 0  # shows stage 0 through the watcher
        else:
            self._show(0)

    def _show(self, i: int) -> None:
        r = self.result
        if r is None or not r.stage_fields:
            return
        i = min(int(i), len(r.stage_fields) - 1)
        kind, phi = r.stage_fields[i]
        n = phi.shape[0]
        self.image_source.data = {"image": [np.asarray(phi, dtype=np.float32)], "x": [0], "y": [0], "dw": [n], "dh": [n]}
        first, last = self._spans[i]
        self.now.left, self.now.right = first - 0.5, last + 0.5
        rec = r.records
        u, m, t = float(rec["unity"][last]), float(rec["mixing"][last]), float(rec["time"][last])
        self.image.title.text = f"phi after stage {i + 1} of {len(r.stage_fields)}: {kind}"
        self.caption.object = (
            f"<p id='tk-genesis-caption'><b>Stage {i + 1} of {len(r.stage_fields)}: <span id='tk-genesis-stage'>{kind}</span></b> "
            f"(ends at time {t:,.1f}): unity <b>{u:.4f}</b>, mixing <b>{m:.4f}</b>. "
            f"A {n} x {n} vessel, phi from -1 (reception) to +1 (bestowal); after the last stage each spark "
            f"keeps the unity of its place (final unity {r.final_unity:.4f}).</p>")
