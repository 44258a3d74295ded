"""report.html: one self-contained file describing a run folder.

Every figure is a PNG inside the file (a ``data:`` URI); the page has no script, loads nothing
(its content security policy forbids any request but ``data:`` images), and opens offline.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import os
from pathlib import Path

import numpy as np

from .. import __version__
from ..outputs.atomic import write_bytes, write_text
from . import figures as F
from .folder import ReportError, RunFolder, check_shown_years, read_run_folder
from .genesis import read_stages, stage_figures, stage_names

REPORT_NAME = "report.html"
GENERATOR = "tikkun report"  # in the page's head: how a report tikkun wrote is told from a user's file

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;max-width:1060px;
margin:1.5em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}
.lead{color:#444;margin-top:0}nav{margin-top:.8em}nav a{margin-right:1em}
figure{margin:1em 0}figure img{max-width:100%;height:auto;display:block}
figcaption{color:#444;font-size:.92em;margin-top:.3em}
table{border-collapse:collapse;font-size:.92em}td,th{border-bottom:1px solid #ddd;padding:.2em .8em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}td{overflow-wrap:anywhere}
pre{background:#f6f6f6;padding:.8em;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85em}
.vessels{display:flex;flex-wrap:wrap;gap:.5em}.vessels figure{flex:0 1 auto;margin:0}
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _fmt(v) -> str:
    """A value of summary.json as text: numbers with separators, lists and tables spelled out,
    truth values as TOML writes them."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:,.6g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "; ".join(_fmt(x) for x in v) if v else "none"
    return "none" if v is None else str(v)


def _flat(d: dict, prefix: str = "") -> dict:
    """A scenario's tables as dotted keys (``souls.count``); lists, such as genesis' stages, whole."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _event_text(ev: dict) -> str:
    rest = ", ".join(f"{k} {_fmt(v)}" for k, v in ev.items() if k not in ("kind", "year", "label"))
    return f"{ev.get('kind')} at year {_fmt(ev.get('year'))}" + (f" ({rest})" if rest else "")


MAX_CHANGES = 12  # listed one by one; beyond them, their number


def changes_from_preset(scenario: dict) -> str | None:
    """What a run's resolved scenario (scenario.toml, parsed) changes in the shipped preset of its
    name, as one sentence: the keys whose values differ, the events added and those left out. A
    horizon other than the preset's is one change, compared as ``--years`` makes it (the events
    past it dropped, the spans cut at it). None where its name is no preset."""
    import tomllib

    from ..scenario import ScenarioError, load_scenario
    from ..scenario.loading import preset_names, scenario_to_toml

    name = scenario.get("name")
    if name not in preset_names():
        return None
    shipped = load_scenario(preset=name)
    years = scenario.get("run", {}).get("years")
    try:
        at_horizon = load_scenario(preset=name, years=years) if years != shipped.run.years else shipped
    except (ScenarioError, TypeError, ValueError):  # a horizon the preset's events do not allow
        at_horizon = shipped
    theirs_all = tomllib.loads(scenario_to_toml(at_horizon))
    ours, theirs = _flat(scenario), _flat(theirs_all)
    said = []
    if years != shipped.run.years:
        cut = at_horizon.events != shipped.events
        said.append(f"run.years {_fmt(shipped.run.years)} \u2192 {_fmt(years)}"
                    + (" (the preset's events past it dropped, its spans cut at it)" if cut else ""))
    if ("genesis" in scenario) != ("genesis" in theirs_all):  # the vessel added or taken away: one change
        said.append("[genesis] added" if "genesis" in scenario else "[genesis] left out")
    for k in sorted(set(ours) | set(theirs)):
        if k in ("events", "description", "run.years") or ours.get(k) == theirs.get(k):
            continue
        if k.startswith("genesis.") and ("genesis" in scenario) != ("genesis" in theirs_all):
            continue
        a, b = _fmt(theirs.get(k)), _fmt(ours.get(k))
        said.append(f"{k} changed" if len(a) + len(b) > 60 else f"{k} {a} \u2192 {b}")  # long values (a list of stages): named, not spelt out
    events, shipped_events = scenario.get("events", []), theirs_all.get("events", [])
    said += [f"event added: {_event_text(e)}" for e in events if e not in shipped_events]
    left_out = [e for e in shipped_events if e not in events]
    if left_out:
        n = len(shipped_events)
        said.append("its one event left out" if n == 1 else
                    f"{'' if len(left_out) == n else f'{len(left_out)} of '}its {n} events left out")
    if not said:
        return f"The preset {name} as shipped."
    more = f"; and {len(said) - MAX_CHANGES} more (the resolved scenario, below)" if len(said) > MAX_CHANGES else ""
    return f"Changed from the preset {name}: " + "; ".join(said[:MAX_CHANGES]) + more + "."


def years_shown_text(left: float, right: float, horizon: int) -> str:
    """What a page whose time axes show ``left`` to ``right`` of a run's ``horizon`` years says of them."""
    return (f"Years {left:,.0f} to {min(right, horizon - 1):,.0f} shown (of 0 to {horizon - 1:,}), "
            "the y axes scaled to them.")


def _marks_text(tl) -> str:
    """What the time figures mark in this run: its eras, and its events and end where it has them
    (each caption's key; :func:`eras_note` says once what the eras are)."""
    said = []
    if tl.eras:
        said.append("eras shaded")
    if tl.shown_marks:
        said.append("dotted lines: the scenario's events")
    if tl.shown_end is not None:
        said.append("dashed red: the end of correction")
    text = "; ".join(said)
    return text[:1].upper() + text[1:] + "." if said else ""


#: What a vessel's figure cannot show of its stage, after the stage's name.
STAGE_NOTES = {"shatter": " (the field the stage before left, cut into the souls' sparks: the cut is not drawn)"}

def eras_note(tl) -> str:
    """Above the first figure, where the time figures shade eras: what the eras of this run are,
    said once (a run of 400 years has only the era of chaos)."""
    names = [F.ERA_NAMES.get(n, n) for n, _, _ in tl.eras]
    what = f"the era of {names[0]}" if len(names) == 1 else f"the eras ({', '.join(names)})"
    return (f"The time figures shade {what}: MODEL.md's division of the years (the scenario's "
            "generations.torah_from and messiah_from), not the texts'; the events need not follow it.")


def missed_events_text(missed: list[dict]) -> str:
    """summary.json's ``events_not_reached`` as a reader names them: one name a label and year,
    as a chapter of the history may be several events (the exiles set their light and their
    shocks), e.g. ``first exile (3,338), long exile (3,830)``."""
    return ", ".join(dict.fromkeys(f"{e.get('label') or e.get('kind')} ({e.get('year'):,})" for e in missed))


def _first_year(years: np.ndarray, reached: np.ndarray) -> int | None:
    """The first of ``years`` where ``reached`` (bool, the same length) holds, None if none."""
    hit = np.flatnonzero(reached)
    return int(years[hit[0]]) if hit.size else None


def milestones(run: RunFolder) -> list[tuple[str, str]]:
    """What the run found, as the headline's rows: the year C first reaches one half, and the
    years by which half, 99% and all of the souls are complete (metrics.parquet), each "not
    reached" with the highest value the run had where it never came."""
    m = run.metrics
    years = np.asarray(m["year"], dtype=np.int64)
    if years.size == 0:
        return []
    c = np.asarray(m["cleansing_mean"], dtype=np.float64)
    done = np.asarray(m["complete"], dtype=np.float64)
    n = float(run.n_souls)
    half_c = _first_year(years, c >= 0.5)
    rows = [("C reaches one half", f"year {half_c:,}" if half_c is not None else
             f"not reached (at most {c.max():.4g})")]
    said = []
    for share, name in ((0.5, "half"), (0.99, "99%"), (1.0, "all")):
        year = _first_year(years, done >= share * n)
        said.append(f"{name} by year {year:,}" if year is not None else f"{name}: not reached")
    rows.append(("souls complete", "; ".join(said) + f" (at most {int(done.max()):,} of {int(n):,})"
                 if done.max() < n else "; ".join(said)))
    return rows


def _headline(run: RunFolder) -> str:
    s = run.summary
    end = s.get("end_year")
    rows = [
        ("end of correction", f"year {end:,}" if end is not None else "not reached"),
        *milestones(run),
        ("stopped", s.get("stop_message", s.get("stop_reason", ""))),
        ("years run", _fmt(s.get("years_run"))),
        ("souls, sparks", f"{_fmt(s.get('souls'))}, {_fmt(s.get('sparks'))}"),
        ("complete souls at the end", _fmt(s.get("complete"))),
        ("collective correction C at the end", _fmt(s.get("cleansing_mean"))),
        ("weakest link G at the end", _fmt(s.get("weakest_link"))),
        ("seed", _fmt(s.get("seed"))),
    ]
    if s.get("events_not_reached"):
        rows.append(("events never reached (the run ended first)",
                     missed_events_text(s["events_not_reached"])))
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                               for k, v in rows) + "</table>"


def _near(v: float, digits: int, text) -> str:
    """``text(v, digits)`` with as many more digits as it takes not to show a value as one of
    the bounds 0 and 1 it is not (C = 1, or all complete, is the end of correction)."""
    while digits < 12 and v not in (0.0, 1.0) and text(v, digits) in (text(0.0, digits), text(1.0, digits)):
        digits += 1
    return text(v, digits)


def near_number(v: float) -> str:
    """``v`` in 4 significant digits, more where 4 would show 0 or 1 it is not."""
    return _near(v, 4, lambda x, d: f"{x:.{d}g}")


def near_share(v: float) -> str:
    """``v`` as a percentage with one decimal, more where that would show 0% or 100% it is not."""
    return _near(v, 1, lambda x, d: f"{x:.{d}%}")


def _kept_table(run: RunFolder) -> str:
    """A row a year kept and one for the run's end (souls.parquet), as the figure draws them:
    the complete souls and the mean and quartiles of cleansing."""
    rows = []
    end_year = int(np.max(run.metrics["year"]))
    kept = [(f"{y:,}", t) for y, t in run.kept if y < end_year] + [(f"the end ({end_year:,})", run.souls)]
    for year, t in kept:
        c = np.asarray(t["cleansing"], dtype=np.float64)
        done = int(np.count_nonzero(t["complete"]))
        q = np.quantile(c, (0.25, 0.5, 0.75)) if c.size else (np.nan,) * 3
        cells = [year, f"{done:,} ({near_share(done / max(c.size, 1))})",
                 near_number(c.mean()) if c.size else "none", *(near_number(v) for v in q)]
        rows.append("<tr>" + "".join(f'<td class="n">{html.escape(v)}</td>' for v in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("year", "complete souls", "C (mean cleansing)", "cleansing, 25%",
                                            "median", "75%"))
    missed = (run.summary.get("saved") or {}).get("souls_not_reached") or []
    note = (f"<p>Asked for and never reached (the run ended first): year "
            f"{html.escape(', '.join(f'{y:,}' for y in missed))}.</p>" if missed else "")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{note}"


#: Above the headline: the two measures the headline and every figure use.
TERMS = ("C, the collective correction, is the mean cleansing of the souls: each soul's corrected share of "
         "its sparks, 0 to 1. G, the weakest link, is the least corrected share of any spark of any soul: the "
         "end of correction is G = 1. A reader's questions (one corrected soul and the 600,000, the Torah, "
         "one missing spark, the good and pure) and where these figures answer them:")


def _summary_value(key: str, v) -> str:
    """A summary.json value as text; the events never reached one a scenario's event, by its
    place in the scenario's list (an exile is two events under one label: its light and its shocks)."""
    if key == "events_not_reached" and isinstance(v, list) and all(isinstance(e, dict) for e in v) and v:
        return "; ".join(f"event {_fmt(e.get('index'))}: {e.get('label') or e.get('kind')} "
                         f"({e.get('kind')}, year {_fmt(e.get('year'))})" for e in v)
    return _fmt(v)


def _summary_table(summary: dict) -> str:
    return "<table>" + "".join(
        f'<tr><th>{html.escape(str(k))}</th><td class="n">{html.escape(_summary_value(k, v))}</td></tr>'
        for k, v in summary.items()) + "</table>"


def render(run: RunFolder, workers: int | None = None, first: int | None = None, last: int | None = None) -> str:
    """The HTML text of the report of ``run``; its figures are drawn by ``workers`` processes
    (:func:`tikkun.report.figures.draw_all`). ``first``, ``last``: the years the time figures
    show, their y axes scaled to them (default all)."""
    tl = dataclasses.replace(F.timeline(run), first=int(first or 0), last=None if last is None else int(last))
    pngs = F.draw_all(run, tl, F.figure_names(run), workers)
    parts: list[tuple[str, str, str]] = []  # (id, title, body)
    marks = _marks_text(tl)
    years = years_shown_text(tl.left, tl.right, tl.horizon) if tl.windowed else ""
    if years:
        marks = f"{years} {marks}"
    for k, sec in enumerate(F.SECTIONS):
        body = (f"<p>{html.escape(eras_note(tl))}</p>" if k == 0 and tl.eras else "") + (
                f"<figure>{_img(pngs[sec.id], sec.title)}"
                f"<figcaption>{html.escape(sec.caption)} {html.escape(marks)}</figcaption></figure>")
        parts.append((sec.id, sec.title, body))
    if "other" in pngs:
        parts.append(("other", "Other recorded columns",
                      f"<figure>{_img(pngs['other'], 'other columns')}"
                      f"<figcaption>Columns of metrics.parquet that no section above draws.{' ' + years if years else ''}"
                      "</figcaption></figure>"))
    parts.append(("souls", "The souls at the end",
                  f"<figure>{_img(pngs['souls'], 'souls at the end')}<figcaption>"
                  "From souls.parquet: the distribution of cleansing, the years in which souls completed, "
                  "and both against hbd, the measure of mind (a speed, never the end state)."
                  "</figcaption></figure>"))
    if "kept" in pngs:
        parts.append(("kept", "The souls at the years kept", _kept_table(run) +
                      f"<figure>{_img(pngs['kept'], 'souls at the years kept')}<figcaption>From the "
                      "souls_&lt;year&gt;.parquet files (<code>--souls-at YEAR</code>) and souls.parquet: cleansing "
                      "across the souls at the end of each year kept and at the run's end.</figcaption></figure>"))
    if "genesis" in pngs:
        vessels = "".join(
            f'<figure>{_img(png, f"stage {i}, {kind}")}<figcaption>stage {i}: {html.escape(kind)}'
            f'{html.escape(STAGE_NOTES.get(kind, ""))}</figcaption></figure>'
            for i, kind, png in run.vessel_pngs)
        body = (f"<figure>{_img(pngs['genesis'], 'genesis measures')}<figcaption>From "
                "genesis.parquet: unity (every point holds both qualities) and mixing (coarse blocks hold "
                "both) of the vessel through each stage, and the light held.</figcaption></figure>"
                + (f'<p>The vessel at the end of each stage (blue: reception, phi = -1; white: the melted, '
                   f'mutual quality; red: bestowal, +1):</p><div class="vessels">{vessels}</div>' if vessels else ""))
        parts.append(("genesis", "The vessel: genesis", body))
    parts.append(("summary", "Summary", "<p>summary.json as the run wrote it.</p>" + _summary_table(run.summary)))
    parts.append(("scenario", "The resolved scenario",
                  "<p>scenario.toml as the run wrote it: <code>tikkun run scenario.toml</code> reproduces the run.</p>"
                  f"<pre>{html.escape(run.scenario_text)}</pre>"))
    title = f"tikkun report: {run.name}"
    # the description is the scenario's own text: a run may have changed what it says (souls.count)
    years = run.scenario.get("run", {}).get("years")
    this = (f"This run: {run.n_souls:,} souls" + (f", a horizon of {years:,} years" if years else "")
            + f", seed {_fmt(run.summary.get('seed'))}.")
    desc = run.scenario.get("description", "").strip()
    desc = f"{desc}{'' if desc.endswith(('.', '!', '?')) else '.'} {this}" if desc else this
    # against this version's presets only: another version's may differ from the one the run had
    changed = changes_from_preset(run.scenario) if run.summary.get("tikkun_version") == __version__ else None
    if changed:
        desc = f"{desc} {changed}"
    lead = (f"<p class=\"lead\">{html.escape(desc)}</p><p>{html.escape(TERMS)} <code>tikkun explain questions</code>.</p>"
            f"{_headline(run)}")
    return page(GENERATOR, title, lead, parts, f"the run folder {run.folder.name}")


def page(generator: str, title: str, lead: str, parts: list[tuple[str, str, str]], source: str) -> str:
    """One self-contained page: ``lead`` (HTML) under the title, a link to each of ``parts``
    (``(id, title, HTML body)``), the parts, and a last line naming ``source``; the generator's
    tag in its head (:func:`written_by`) and a content security policy that lets it load nothing."""
    nav = "".join(f'<a href="#{i}">{html.escape(t)}</a>' for i, t, _ in parts)
    sections = "".join(f'<section id="{i}"><h2>{html.escape(t)}</h2>{b}</section>' for i, t, b in parts)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
        f"<meta name=\"generator\" content=\"{generator} {html.escape(__version__)}\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"{lead}<nav>{nav}</nav>{sections}"
        f"<p class=\"lead\">Written by tikkun {html.escape(__version__)} from {html.escape(source)}.</p></body></html>\n")


def write_report(folder, out=None, first: int | None = None, last: int | None = None) -> Path:
    """Write the report of the run ``folder`` to ``out`` (default ``folder/report.html``),
    atomically; returns its path. ``first``, ``last``: the years the time figures show (``--from``,
    ``--to``; default all). An earlier report there is replaced; a report written into its run
    folder also writes there the vessel's figures (``genesis_<i>_<stage>.png``) that the folder's
    ``genesis_stages.npz`` gives and it lacks (a name already taken is left as it is: the page
    holds the figures drawn from the stages); no other file is touched. Raises
    :class:`~tikkun.report.folder.ReportError` for a folder that is not a finished run, years it
    cannot show or vessel's stages it cannot read, before anything is written."""
    check_shown_years(first, last)
    run = read_run_folder(folder)
    target = Path(out) if out is not None else run.folder / REPORT_NAME
    if target.is_symlink():  # replaced by the page, the link would be lost (a link to nothing does not exist)
        raise ReportError(f"{target}: is a symbolic link; give a file's own path or a new name")
    if target.exists() and not written_by(target, GENERATOR):
        raise ReportError(f"{target}: exists and is not a report tikkun wrote; move it away first "
                          "(tikkun replaces only its own reports)")
    recorded = np.asarray(run.metrics["year"])
    final = int(recorded.max()) if recorded.size else 0
    if first and int(first) >= final:  # from 0, the default, every run has years to show
        raise ReportError(f"--from {first}: the run does not go past it; give a year from 0 to {final - 1:,} "
                          f"(its last is {final:,})")
    stages = read_stages(run.folder)
    if stages is not None and [(i, kind) for i, kind, _ in run.vessel_pngs] != stage_names(stages):
        # a run leaves its vessel's figures to its report (or some are missing): drawn from its stages
        drawn = tuple(stage_figures(stages))
        if target.parent.resolve() == run.folder.resolve():  # beside the report, as the README lists them
            for i, kind, png in drawn:
                path = run.folder / f"genesis_{i}_{kind}.png"
                if not os.path.lexists(path):  # a file (or folder) of that name there is kept as it is
                    _written(path, write_bytes, png)
        run = dataclasses.replace(run, vessel_pngs=drawn)
    _written(target, write_text, render(run, first=first, last=last))
    return target


def _written(path: Path, write, content) -> None:
    """``write(path, content)``; a folder one may not write into (or a full disk) is a
    ReportError naming the file, not the temporary name the atomic write failed on."""
    try:
        write(path, content)
    except OSError as exc:
        raise ReportError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def written_by(path: Path, generator: str) -> bool:
    """Whether ``path`` is a page of ``generator`` (its head's generator tag), so that writing
    over it loses nothing of a user's."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2048)
    except OSError:
        return False
    return f'<meta name="generator" content="{generator} '.encode() in head
