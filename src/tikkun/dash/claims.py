"""The claims panel: pick an experiment of MODEL.md's claims, run it small, see its figure
and verdict. The same code as ``tikkun experiment NAME``
(:func:`tikkun.experiments.core.run`), started from a worker thread of the server on a Dask
local cluster of one worker process, into a folder of the session's own that also holds the
cluster's scratch folder."""

from __future__ import annotations

import atexit
import contextlib
import html
import logging
import secrets
import shutil
import struct
import tempfile
import threading
from pathlib import Path

import panel as pn
import tornado.web

log = logging.getLogger(__name__)

#: a claim's souls by default: its own (docs/claims.md's), at most this many, so that its ten
#: runs on the page's one worker take a minute or two, not the half hour of 600,000 souls
DEFAULT_SOULS_CAP = 60_000
DEFAULT_SEEDS = "20, 21"
EXIT_WAIT = 20.0  # s: how long a server that stops waits for a running experiment to end
#: the shown experiments' figures by a token of their own, served at FIGURE_PATH/<token>.png: a
#: link opens one at full size in a new tab (the page shows it at the tab's width, where a 1,000
#: px window makes its legend unreadable; browsers refuse to open a data: URL in a new tab)
FIGURES: dict[str, bytes] = {}
FIGURE_PATH = "claim-figure"
#: the views holding an experiment folder, stopped by :func:`stop_experiments`
_HOLDING: set[ClaimsView] = set()
_HOLDING_LOCK = threading.Lock()


def stop_experiments() -> None:
    """The server stops: end every running experiment and remove every page's folder.

    Called when the server's loop returns, while the interpreter still runs: at its shutdown
    (atexit, the fallback) Dask's thread pools take no more work and its cluster's close fails
    with errors in the log."""
    with _HOLDING_LOCK:
        views = list(_HOLDING)
    for view in views:
        view._remove_at_exit()


class FigureHandler(tornado.web.RequestHandler):
    """``GET FIGURE_PATH/<token>.png``: a figure the claims tab shows, or 404."""

    def get(self, token: str) -> None:
        png = FIGURES.get(token)
        if png is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "no-store")
        self.write(png)


def figure_route() -> tuple[str, type]:
    """The server's route to :class:`FigureHandler` (``pn.serve``'s ``extra_patterns``)."""
    return (rf"/{FIGURE_PATH}/([A-Za-z0-9_-]+)\.png", FigureHandler)


def load_experiments():
    """``tikkun.experiments.EXPERIMENTS`` (name -> Experiment), or the reason it cannot be had."""
    try:
        from tikkun.experiments import EXPERIMENTS
    except ImportError as exc:
        return None, (f"The claims need tikkun.experiments and its packages, which this installation "
                      f"cannot import ({exc}). Install them with pip install \"tikkun[dash]\".")
    return EXPERIMENTS, None


def parse_seeds(text: str) -> list[int]:
    """``"20, 21"`` -> ``[20, 21]``; ValueError naming the field otherwise."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        seeds = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"seeds: give whole numbers separated by commas, e.g. 20, 21 (got {text!r})") from None
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"seeds: give one or more seeds, each 0 or more (got {text!r})")
    twice = next((x for i, x in enumerate(seeds) if x in seeds[:i]), None)
    if twice is not None:  # two runs of one seed would be one run: the experiment refuses it
        raise ValueError(f"seeds: seed {twice} is given twice; give each seed once (got {text!r})")
    return seeds


def size_note(record: dict, experiments: dict) -> str:
    """HTML under a verdict: the souls and seeds it stands on, and, where the population is not
    the claim's own, that docs/claims.md's verdict is measured at that one and why (a history
    of fewer souls ends sooner: a claim about its end may not be tested at all)."""
    exp = experiments.get(record.get("name"))
    souls = (record.get("shared") or {}).get("souls.count")
    seeds = ", ".join(str(s) for s in record.get("seeds") or [])
    if exp is None or souls is None:
        return ""
    line = f"at {souls:,} souls, seeds {seeds}"
    if souls == exp.souls:
        return f"<p id='tk-claim-size' style='margin:0'><small>{html.escape(line)}: the claim's own size</small></p>"
    return (f"<p id='tk-claim-size' style='margin:0;color:#8a5a00'><small>{html.escape(line)}: not the claim's own "
            f"{exp.souls:,} souls, at which docs/claims.md gives its verdict ({html.escape(exp.why_size)})</small></p>")


class ClaimsView:
    """Pick, run and show one experiment at a time; ``max_souls`` caps the population."""

    def __init__(self, max_souls: int):
        self.max_souls = max_souls
        self.experiments, why_not = load_experiments()
        self._folder: Path | None = None  # made by the first experiment run (most pages run none)
        self._lock = threading.Lock()  # the folder's removal: the page's close against its worker's end
        self._running = False  # an experiment's worker has not yet ended
        self._closed = False
        self._thread: threading.Thread | None = None
        self._client = None  # the running experiment's Dask client, closed if the server stops
        self._done: tuple | None = None  # (record, png path) or (None, message), from the worker
        self.status = pn.pane.HTML("", sizing_mode="stretch_width")
        self._token: str | None = None  # the shown figure's in FIGURES
        self.figure = pn.pane.PNG(None, sizing_mode="stretch_width", css_classes=["tk-claim-figure"])
        self.figure_link = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["tk-claim-figure-link"])
        self.verdict = pn.pane.HTML("", sizing_mode="stretch_width")
        if self.experiments is None:
            self.view = pn.Column(pn.pane.Alert(why_not, alert_type="warning"), sizing_mode="stretch_width")
            return
        names = list(self.experiments)
        self.select = pn.widgets.Select(label="experiment", options=names, value=names[0], width=240,
                                        css_classes=["tk-claim"])
        self.souls = pn.widgets.IntInput(label="souls", value=1, step=1000, width=100,
                                         css_classes=["tk-claim-souls"])  # the claim's own: _describe
        self.seeds = pn.widgets.TextInput(label="seeds", value=DEFAULT_SEEDS, width=100, css_classes=["tk-claim-seeds"])
        self.button = pn.widgets.Button(label="Run the experiment", color="primary", width=170,
                                        css_classes=["tk-claim-run"])
        self.button.on_click(lambda _e: pn.state.execute(self._run, schedule=True))
        self.claim = pn.pane.HTML("", sizing_mode="stretch_width")
        self.select.param.watch(lambda e: self._describe(), "value")
        self._describe()
        self.view = pn.Column(
            pn.Row(self.select, self.souls, self.seeds, self.button),
            self.claim, self.status, self.verdict, self.figure_link, self.figure, sizing_mode="stretch_width")

    def _describe(self) -> None:
        exp = self.experiments[self.select.value]
        arms = ", ".join(a.name for a in exp.arms)
        souls = min(exp.souls, DEFAULT_SOULS_CAP, self.max_souls)
        self.claim.object = (f"<p><b>{html.escape(exp.name)}</b>: {html.escape(exp.claim)} "
                             f"<i>({html.escape(exp.source)})</i><br>arms: {html.escape(arms)}; "
                             f"docs/claims.md measures it with {exp.souls:,} souls over {exp.years:,} years "
                             f"({html.escape(exp.why_size)})"
                             + (f"; here {souls:,} by default"
                                if souls < exp.souls else "") + "</p>")
        self.souls.value = souls
        if not self._running:  # the last experiment's time, verdict and figure are not this one's
            self.status.object, self.verdict.object = "", ""
            self._show_figure(None)

    def _run(self, _event=None) -> None:
        if self._running:
            return
        try:
            seeds = parse_seeds(self.seeds.value)
            if self.souls.value is None:
                raise ValueError(f"souls: give a number of souls, from 1 to {self.max_souls:,} in this dashboard")
            souls = int(self.souls.value)
            if not 0 < souls <= self.max_souls:
                raise ValueError(f"souls: between 1 and {self.max_souls:,} in this dashboard (got {souls:,})")
        except (TypeError, ValueError) as exc:
            self.status.object = f"<p class='tk-error' style='color:#b00'>error: {html.escape(str(exc))}</p>"
            # nothing ran: a verdict left under the error would read as the answer to these values
            self.verdict.object = ""
            self._show_figure(None)
            return
        exp = self.experiments[self.select.value]
        self.status.object = (f"<p>running <b>{html.escape(exp.name)}</b>: {len(exp.arms)} arms x {len(seeds)} seeds "
                              f"of {souls:,} souls ...</p>")
        self.verdict.object = ""
        self._show_figure(None)
        self.button.disabled = True
        self.select.disabled = True  # the verdict shown at the end is this claim's: no other is chosen meanwhile
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="tikkun-dash-claims-"))
            with contextlib.suppress(ImportError):
                # Dask's exit handlers (they close its clusters) are registered when it is first
                # imported: registered after them, this one runs before them (atexit runs the
                # last registered first) and ends the experiment while its cluster still stands
                import distributed  # noqa: F401
            atexit.register(self._remove_at_exit)  # a server stopped before the page closes leaves nothing behind
            with _HOLDING_LOCK:
                _HOLDING.add(self)
        self._running = True
        self._thread = threading.Thread(target=self._work, args=(exp, seeds, souls, self._folder), daemon=True,
                                        name="tikkun-dash-claim")
        self._thread.start()

    def _work(self, exp, seeds: list[int], souls: int, folder: Path) -> None:
        from tikkun.experiments.core import run
        from tikkun.sweep.driver import connect

        out = folder / "out"
        runs = Path(tempfile.mkdtemp(prefix=f"{exp.name}-", dir=folder))  # a fresh sweep folder each time
        try:
            # the cluster's dask-scratch-space in the session's folder, removed with it
            with connect(workers=1, scratch=folder, dashboard=False) as client:
                with self._lock:  # a server stopping while the cluster started: it saw no client to close
                    if self._closed:
                        return
                    self._client = client
                record = run(exp, seeds=seeds, souls=souls, out=out, runs=runs, client=client)
            self._done = (record, out / f"{exp.name}.png")
        except Exception as exc:  # one line on the page; the traceback in the server's log
            if self._closed:  # the server stops (its cluster closed under it): not a failure to report
                log.debug("experiment %s stopped with the server", exp.name, exc_info=True)
            elif isinstance(exc, ValueError):  # it refused its input (SweepError, ScenarioError): its message
                log.warning("experiment %s refused: %s", exp.name, exc)
            else:
                log.exception("experiment %s failed", exp.name)
            self._done = (None, str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}")
        finally:
            self._client = None
            self._finish()

    def _finish(self) -> None:
        """The worker's end: the folder goes now if the page closed while it ran."""
        with self._lock:
            self._running = False
            if self._closed:
                self._remove()

    def poll(self) -> None:
        """Show a finished experiment (called on the server's loop)."""
        done, self._done = self._done, None
        if done is None:
            return
        self.button.disabled = self.select.disabled = False
        record, what = done
        if record is None:
            self.status.object = f"<p class='tk-error' style='color:#b00'>error: {html.escape(what)}</p>"
            return
        self.status.object = (f"<p><b>{html.escape(str(record.get('name', '')))}</b> finished in "
                              f"{record.get('seconds', 0):.0f} s</p>")
        colour = {"holds": "#2a7d2a", "does not hold": "#b35900"}.get(str(record["verdict"]), "#555555")  # grey: not tested
        self.verdict.object = (f"<p id='tk-verdict'>verdict: <b style='color:{colour}'>{html.escape(str(record['verdict']))}"
                               f"</b>. {html.escape(str(record['summary']))}</p>{size_note(record, self.experiments)}")
        self._show_figure(what.read_bytes())

    def _show_figure(self, png: bytes | None) -> None:
        """Show ``png`` with its link at full size, or (None) neither; the last one is no longer served."""
        if self._token is not None:
            FIGURES.pop(self._token, None)
            self._token = None
        self.figure.object = png
        self.figure_link.object = ""
        if png is not None:
            # the tab's width, but never wider than the PNG: enlarged it only blurs
            self.figure.max_width = struct.unpack(">I", png[16:20])[0]  # IHDR's width
            self._token = secrets.token_urlsafe(16)
            FIGURES[self._token] = png
            self.figure_link.object = (f"<a id='tk-claim-figure-link' href='{FIGURE_PATH}/{self._token}.png' "
                                       f"target='_blank' rel='noopener'>open the figure at full size</a> "
                                       f"(a new tab)")

    def close(self) -> None:
        """The page closed: remove its experiment folder, now or, while an experiment runs, when
        its worker ends (removed now, the experiment's writes would make it again)."""
        with self._lock:
            self._closed = True
            if not self._running:
                self._remove()
        if self._token is not None:
            FIGURES.pop(self._token, None)

    def _remove_at_exit(self) -> None:
        """The server stops: end a running experiment (its Dask client closed), wait for its
        worker to end (its last writes would make the folder again), then remove the folder."""
        with self._lock:  # from here on the worker starts no experiment (it checks under the lock)
            self._closed = True
            thread, client = self._thread, self._client
        if thread is not None and thread.is_alive():
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close(timeout=5)
            thread.join(EXIT_WAIT)  # its cluster closes as it leaves `connect`
        with self._lock:
            if thread is None or not thread.is_alive():
                self._remove()
            # else the worker, still writing, removes the folder as it ends (_finish: closed);
            # removed now, its writes would make parts of it again, left behind

    def _remove(self) -> None:
        """Remove the folder (the lock held)."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            atexit.unregister(self._remove_at_exit)
            with _HOLDING_LOCK:
                _HOLDING.discard(self)
            self._folder = None
