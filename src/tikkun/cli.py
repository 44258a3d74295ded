"""The ``tikkun`` command line. Exit codes: 0 ok, 2 bad input, 1 anything else."""

from __future__ import annotations

import _thread
import atexit
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__

app = typer.Typer(
    add_completion=False,
    # click's own help: Typer's boxes name each flag's type ("--quiet <bool>"), as if it took a value
    rich_markup_mode=None,
    no_args_is_help=True,
    help="tikkun: the common soul, its breaking into 600,000 souls and sparks, and its correction.",
)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class BadInput(Exception):
    """Raised for input errors; main() turns it into exit code 2."""


#: The modules of each optional extra (pyproject.toml) that a command needs.
EXTRA_MODULES = {"sweep": ("distributed", "pandas", "SALib"), "dash": ("panel", "bokeh", "distributed", "pandas", "SALib")}


def _needs_extra(command: str, extra: str) -> None:
    """Refuse, before anything else, a command whose optional extra is not installed: one line
    naming it and how to install it, not an import error from deep inside."""
    import importlib.util

    missing = [m for m in EXTRA_MODULES[extra] if importlib.util.find_spec(m) is None]
    if missing:
        raise BadInput(f"tikkun {command} needs the extra tikkun[{extra}] ({', '.join(missing)} not installed): "
                       f'pip install "tikkun[{extra}]"')


def _environment_check() -> None:
    """Refuse a command that runs the kernels under an environment variable tikkun or Numba
    cannot use, before a bar or a folder appears (native/environment.py)."""
    from .native import environment

    environment.check()


def _bad_input_types():
    from .api import OutputError
    from .native.environment import SettingError
    from .outputs.run_folder import CheckpointError
    from .report.folder import ReportError
    from .scenario import ScenarioError
    from .sweep import SweepError

    return (ScenarioError, OutputError, CheckpointError, SweepError, ReportError, BadInput, SettingError)


def _progress_bar(total_years: int, start_year: int, quiet: bool, last: dict | None = None):
    """The run's bar from ``start_year``; ``last``: the metrics of the year before it (a resume),
    which the bar shows until the first year is run."""
    if quiet:
        return None, None
    progress = Progress(
        TextColumn("year {task.fields[year]:>6}"),
        BarColumn(),
        # as the lines after the run give them: a weakest link of 1e-05 is no "0.00%"
        TextColumn("G {task.fields[g]:<9.4g} C {task.fields[c]:.4f}  complete {task.fields[done]:>9}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    last = last or {"weakest_link": 0.0, "cleansing_mean": 0.0, "complete": 0}
    task = progress.add_task("run", total=total_years, completed=start_year, year=start_year,
                             g=float(last["weakest_link"]), c=float(last["cleansing_mean"]), done=int(last["complete"]))

    def callback(state, row):
        progress.update(task, completed=state.year, year=row["year"], g=row["weakest_link"],
                        c=row["cleansing_mean"], done=row["complete"])

    return progress, callback


def _bar_done(progress) -> None:
    """A run that ended before its horizon (the end of correction) fills its bar: its years are done."""
    if progress is not None:
        for task in progress.tasks:
            progress.update(task.id, total=task.completed)


def kernels_compiled() -> bool | None:
    """Whether Numba's cache holds the yearly pass as this code compiles it (False on the first
    run after an install or an update, which compiles every kernel: minutes); None where that
    cannot be told (another Numba's cache machinery). Reads the cache's index only: nothing
    compiles."""
    from .engine.year_kernel import year_pass
    from .native.kernel_cache import cached

    return cached(year_pass)


def _say_if_compiling(quiet: bool) -> bool:
    """One line before a run whose kernels are not compiled yet: the bar stays at year 0 while
    they compile, and where the output is no terminal nothing else shows for minutes. Returns
    whether they are compiled now (the run's time then is mostly theirs)."""
    compiling = kernels_compiled() is False
    if compiling and not quiet:
        err.print("compiling the kernels for this machine (the first run after an install or an update: a few "
                  "minutes; later runs load them)", highlight=False)
    return compiling


def events_that_change_nothing(sc) -> list[tuple[int, object]]:
    """``(index, event)`` of each set or scale event whose parameter's schedule is the same
    without it: the value it sets is already there in its years, its factor is 1, or later
    events replace every year it changes. Such an event is allowed (a scenario may state what
    holds anyway), but a reader who added it to see its effect should be told."""
    import numpy as np

    from .scenario.schema import parameter_schedule

    full = parameter_schedule(sc)
    found = []
    for i, ev in enumerate(sc.events):
        if ev.kind in ("set", "scale"):
            without = parameter_schedule(sc.model_copy(update={"events": sc.events[:i] + sc.events[i + 1:]}))
            if np.array_equal(without[ev.key], full[ev.key]):
                found.append((i, ev))
    return found


def _say_notes(sc) -> None:
    from .explain import genesis_note, population_note

    for note in (population_note(sc), genesis_note(sc)):
        if note:
            err.print(f"note: {note}", markup=False, highlight=False)
    for i, ev in events_that_change_nothing(sc):
        what = f"{ev.kind} of {ev.key} at year {ev.year:,}" + (f" ({ev.label})" if ev.label else "")
        err.print(f"note: events[{i}], the {what}, changes no year's {ev.key}: it gives what is there already (a "
                  "value set, a factor of 1), or later events replace it", markup=False, highlight=False)


def _report(result, compiled: bool = False) -> None:
    """What a run gave, in a few lines; ``compiled``: its kernels were compiled during it."""
    s = result.summary
    end = s["end_year"]
    out.print(f"[bold]{result.scenario.name}[/]: {s['souls']:,} souls, {s['sparks']:,} sparks, "
              f"{s['years_run']:,} year{'' if s['years_run'] == 1 else 's'} in {s['wall_seconds']:.1f} s"
              + (" (most of it compiling the kernels, once)" if compiled else ""))
    out.print(f"stopped: {s['stop_message']}")
    if end is not None:
        out.print(f"end of correction: year {end:,}")
    else:
        left = s["souls"] - s["complete"]
        out.print(f"end of correction: not reached (G = {_short_of_one(s['weakest_link'])}, "
                  f"C = {_short_of_one(s['cleansing_mean'])}; "
                  f"{left:,} soul{'' if left == 1 else 's'} not complete)")
    if s.get("events_not_reached"):
        from .report.html import missed_events_text

        out.print(f"events never reached (the run ended first): {missed_events_text(s['events_not_reached'])}")
    saved = s.get("saved")
    if saved and saved["souls_not_reached"]:
        out.print("souls not kept (the run ended first) at year " + ", ".join(f"{y:,}" for y in saved["souls_not_reached"]))
    if result.folder is not None:
        out.print(f"outputs: {result.folder}")


def _short_of_one(x: float) -> str:
    """``x`` in 4 significant digits, or as many more as it takes not to print 1 for a value short
    of 1 (C of 0.99998 is not every soul complete)."""
    for digits in range(4, 18):
        text = f"{x:.{digits}g}"
        if x == 1.0 or float(text) != 1.0:
            return text
    return repr(x)


def _dropped_events(scenario: Path | None, preset: str | None, sets: dict, years: int) -> list[dict]:
    """The scenario's own events (its file or preset, with ``--set``) that ``--years`` drops: those
    from its year on, as summary.json names events (index, kind, label, year)."""
    from .scenario.loading import _parse_toml, apply_overrides, preset_text, read_scenario_file

    raw = (read_scenario_file(scenario) if scenario is not None else
           _parse_toml(preset_text("history" if preset is None else preset), "preset"))
    events = apply_overrides(raw, sets).get("events", []) if sets else raw.get("events", [])
    return [{"index": i, "kind": e.get("kind"), "label": e.get("label"), "year": e["year"]}
            for i, e in enumerate(events if isinstance(events, list) else [])
            if isinstance(e, dict) and isinstance(e.get("year"), int) and e["year"] >= years]


def _write_report(folder: Path, first: int | None = None, last: int | None = None) -> None:
    from . import api

    t0 = time.perf_counter()
    try:
        if first is None and last is None:
            path = api.report(folder)
        else:  # the years shown: the report package's own entry (tikkun.report's is the whole run)
            from .report import write_report

            path = write_report(folder, first=first, last=last)
    except KeyboardInterrupt:  # the run is whole: say so, and how to get its page (written atomically, so none)
        _exit_interrupted(f"interrupted while writing the report; the run is finished, its outputs in "
                          f"{escape(str(folder))}; tikkun report {escape(shlex.quote(str(folder)))} writes the report")
    out.print(f"report: {path} ({time.perf_counter() - t0:.1f} s)")


@app.command()
def run(
    scenario: Optional[Path] = typer.Argument(None, help="scenario TOML file (default: the history preset)"),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="run a shipped preset (see `tikkun presets`)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="run folder (default runs/<name>-<timestamp>)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="seed of the counter-based generator"),
    years: Optional[int] = typer.Option(None, "--years", help="horizon in years (events past it are dropped)"),
    souls: Optional[int] = typer.Option(None, "--souls", help="number of souls"),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="KEY=VALUE override, e.g. light.alpha=0.02 (repeatable)"),
    event: list[str] = typer.Option([], "--event", metavar="TABLE", help="an event appended to the scenario's, as a TOML inline table, "
                                    "e.g. '{kind = \"reset\", year = 500, group = {first = 0, count = 1}}' (repeatable)"),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help="save a resumable checkpoint every N years"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue the checkpointed run in this folder"),
    graph: Optional[Path] = typer.Option(None, "--graph", help="a network of your own: a .npy file of whole "
                                         "numbers (souls, k), row i the souls soul i listens to (network.kind = \"given\")"),
    souls_at: list[int] = typer.Option([], "--souls-at", metavar="YEAR", help="also keep the souls as they are at "
                                       "the end of YEAR, as souls_YEAR.parquet (repeatable)"),
    save_network: bool = typer.Option(False, "--save-network", help="also keep the graph at the end, after every "
                                      "rewiring, as network.npy (it can be given back with --graph)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar and no notes: only what the run gave"),
    no_report: bool = typer.Option(False, "--no-report", help="do not write report.html at the end"),
):
    """Run a scenario and write its run folder, then its report.html (see `tikkun report`)."""
    _environment_check()
    from . import api
    from .scenario import parse_event_options, parse_set_options

    if resume is not None:
        given = [name for name, v in (("SCENARIO", scenario), ("--preset", preset), ("--out", out_dir), ("--seed", seed),
                                      ("--years", years), ("--souls", souls), ("--checkpoint-every", checkpoint_every),
                                      ("--graph", graph), ("--set", set_ or None), ("--event", event or None),
                                      ("--souls-at", souls_at or None), ("--save-network", save_network or None))
                 if v is not None]
        if given:
            raise BadInput(f"--resume continues a run exactly as it was started (keeping what it kept); give it without "
                           f"{', '.join(given)}")
        from .outputs.run_folder import held, load_checkpoint, restore_scenario, scenario_file_differs

        meta, state, metrics = load_checkpoint(resume)  # checks the folder before the bar appears
        if scenario_file_differs(resume, meta["scenario"]):
            restore_scenario(resume, meta["scenario"], "--resume")  # its refusal, before the bar too
        with held(resume, "--resume"):  # and that no other process writes it (api.resume holds it for the run)
            pass
        from .scenario.loading import _parse_toml

        total = int(_parse_toml(meta["scenario"], "checkpoint")["run"]["years"])
        compiled = _say_if_compiling(quiet)
        last = {k: metrics[k][-1] for k in ("weakest_link", "cleansing_mean", "complete")} if len(metrics["year"]) else None
        progress, callback = _progress_bar(total, state.year, quiet, last)
        try:
            with progress or _nullcontext():
                result = api.resume(resume, progress=callback, folder_option="--resume")
                _bar_done(progress)
        except KeyboardInterrupt:
            _interrupted_run(resume, no_report=no_report)
        _report(result, compiled)
        if not no_report:
            _write_report(result.folder)
        return
    if years is not None and years <= 0:
        raise BadInput(f"--years: must be a positive number of years (got {years})")
    if souls is not None and souls <= 0:
        raise BadInput(f"--souls: must be a positive number of souls (got {souls})")
    sets, events, given, label = parse_set_options(set_), parse_event_options(event), None, ""
    if graph is not None:  # read and checked with the scenario here, before any folder is made
        sets, (given, label) = api.with_graph(sets, graph)
    from .scenario import ScenarioError

    try:
        sc = api.resolve_scenario(scenario, preset=preset, seed=seed, years=years, souls=souls,
                                  overrides=sets, events=events)
    except ScenarioError as exc:  # a key the reader set by an option: named by that option too
        # each value as typed, without separators
        told = [f"{option} {value} sets {key}" for option, value, key in
                (("--seed", seed, "run.seed"), ("--souls", souls, "souls.count"), ("--years", years, "run.years"))
                if value is not None and key in str(exc)]
        if told:
            raise ScenarioError(f"{exc}\n({'; '.join(told)})") from None
        raise
    if given is None:  # a run folder's scenario.toml runs with the graph the folder keeps
        given, label = api.graph_beside(scenario, sc)
        if given is not None and not quiet:
            out.print(f"{label}: the graph beside the scenario, as network.kind = \"given\" asks", markup=False,
                      highlight=False)
    sc, given = api.checked_graph(sc, given, label, souls_option="--souls ")
    from .records import SaveAt

    saveat = api.checked_saveat(SaveAt(souls=tuple(souls_at), network=save_network), sc)
    if not quiet:
        _say_notes(sc)
        dropped = _dropped_events(scenario, preset, sets, years) if years is not None else []
        if dropped:  # a run shorter than its scenario: what of the history it leaves out
            from .report.html import missed_events_text

            err.print(f"note: --years {years:,} drops the scenario's events from year {years:,} on: "
                      f"{missed_events_text(dropped)}", markup=False, highlight=False)
        for ev in events:  # --years drops events from its year on: the reader's own are named
            if years is not None and isinstance(ev.get("year"), int) and ev["year"] >= years:
                err.print(f"note: the --event at year {ev['year']:,} is dropped: --years {years:,} drops every event from "
                          f"year {years:,} on", markup=False, highlight=False)
    if checkpoint_every is not None and checkpoint_every <= 0:
        raise BadInput(f"--checkpoint-every: must be a positive number of years (got {checkpoint_every})")
    from .outputs.run_folder import missing_folders

    made = out_dir is None or not out_dir.exists()  # an empty folder the user made stays, whatever happens
    parents = missing_folders(out_dir.parent if out_dir is not None else Path("runs"))  # api.default_folder's root
    folder = out_dir if out_dir is not None else api.default_folder(sc)
    api.prepare_folder(folder, "--out")  # refuses a folder with anything in it, before any work
    compiled = _say_if_compiling(quiet)
    progress, callback = _progress_bar(sc.run.years, 0, quiet)
    try:
        with progress or _nullcontext():
            result = api.run(sc, out=folder, checkpoint_every=checkpoint_every, progress=callback, graph=given,
                             saveat=saveat, out_option="--out")
            _bar_done(progress)
    except KeyboardInterrupt:
        _interrupted_run(folder, checkpoint_every, made, parents, no_report)
    except api.OutputError:
        raise  # the folder is another run's (it claimed it first): nothing in it is this run's to remove
    except Exception:
        _failed_run(folder, made, parents, no_report)
        raise
    _report(result, compiled)
    if not no_report:
        _write_report(result.folder)


def _resume_command(folder: Path, no_report: bool) -> str:
    """The command that goes on with the run in ``folder``, as a shell takes it: with
    ``--no-report`` if the run was started with it (the checkpoint does not keep that choice)."""
    return f"tikkun run --resume {escape(shlex.quote(str(folder)))}" + (" --no-report" if no_report else "")


def _failed_run(folder: Path, made: bool, parents: list[Path], no_report: bool = False) -> None:
    """After a run stopped by an error (its message follows): the API has removed what the run
    wrote unless a checkpoint lets it go on; remove the folders this command made if that left
    them empty, or say where the run can go on from."""
    from .outputs.run_folder import checkpoint_meta, remove_empty, remove_unfinished

    meta = checkpoint_meta(folder) if folder.is_dir() else None
    if meta is not None:
        err.print(f"{escape(str(folder))} holds a checkpoint of the run's first {meta['scalars']['year']:,} years; "
                  f"{_resume_command(folder, no_report)} goes on from there", highlight=False)
    elif remove_unfinished(folder, remove_folder=made) and made:
        remove_empty(list(parents))


#: Set by a command that said where its interruption left things; main() says "interrupted" otherwise.
_interruption_told = False


def _exit_interrupted(message: str) -> None:
    """Say ``message`` (what the interrupted command leaves) and exit with code 130."""
    global _interruption_told
    err.print(message, highlight=False)
    _interruption_told = True
    raise typer.Exit(130)


def _interrupted_run(folder: Path, checkpoint_every: int | None = None, made: bool = False,
                     parents: list[Path] = (), no_report: bool = False) -> None:
    """Say where an interrupted run (Ctrl-C, SIGTERM) can go on from; exit with code 130.
    ``parents``: the folders the run made above its own (:func:`tikkun.outputs.run_folder.missing_folders`)."""
    from .outputs.atomic import remove_leftovers
    from .outputs.run_folder import checkpoint_meta, remove_empty, remove_unfinished

    # a file it was writing when the interrupt came: atomic_path removes it as the interrupt
    # unwinds, but not one the interrupt catches between the file's creation and the cleanup's
    # reach (inside mkstemp, or in contextlib's own steps around the body)
    remove_leftovers(folder)
    meta = checkpoint_meta(folder)
    if meta is None and (folder / "summary.json").exists():  # stopped after its last write
        _exit_interrupted(f"interrupted: the run had finished; its outputs are in {escape(str(folder))}")
    elif meta is None:
        why = (f"the first comes after {checkpoint_every:,} years" if checkpoint_every else
               "--checkpoint-every N makes a run resumable")
        # nothing in it can be resumed: without its files the same command runs again
        if remove_unfinished(folder, remove_folder=made):
            what = "removed" if made else "emptied"
            if made:
                remove_empty(list(parents))
        else:
            what = "kept (it holds files the run did not write)"
        _exit_interrupted(f"interrupted: no checkpoint ({why}); {escape(str(folder))} {what}")
    _exit_interrupted(f"interrupted: {escape(str(folder))} holds a checkpoint of its first "
                      f"{meta['scalars']['year']:,} years; {_resume_command(folder, no_report)} goes on from there")


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="a finished run folder"),
    first: Optional[int] = typer.Option(None, "--from", min=0, metavar="YEAR",
                                        help="the yearly figures' first year (default 0): their y axes scale to the years shown"),
    last: Optional[int] = typer.Option(None, "--to", min=0, metavar="YEAR",
                                       help="the yearly figures' last year (default the run's last; "
                                       "a later one: the run's last)"),
):
    """Write RUN_DIR/report.html: one self-contained page of a finished run.

    Its yearly trajectories, souls at the end, vessel, scenario and summary, figures inside, no network needed.
    An earlier report there is replaced; the vessel's figures (genesis_<i>_<stage>.png) a run leaves to its
    report are drawn beside it; no other file is touched."""
    _write_report(run_dir, first, last)


@app.command()
def compare(
    run_dirs: list[Path] = typer.Argument(..., metavar="RUN_DIR", help="2 to 7 finished run folders; the first is the one the others are compared with"),
    out_file: Optional[str] = typer.Option(None, "--out", metavar="FILE", help="the page to write (default: "
                                           "comparison.html here); it replaces only an earlier comparison"),
    year: Optional[list[int]] = typer.Option(None, "--year", min=0, metavar="YEAR", help="a year whose C, G and complete souls the "
                                             "table gives, repeatable (default: the last year every run recorded)"),
    first: Optional[int] = typer.Option(None, "--from", min=0, metavar="YEAR",
                                        help="the figures' first year (default 0): their y axes scale to the years shown"),
    last: Optional[int] = typer.Option(None, "--to", min=0, metavar="YEAR",
                                       help="the figures' last year (default the longest run's last; "
                                       "a later one: the longest run's last)"),
):
    """Compare finished runs in one self-contained page: what differs, their numbers, their trajectories together.

    E.g. a run with an event and one without: `tikkun compare runs/without runs/with`."""
    from .report import write_comparison

    # taken as text: a path ending in a slash names a folder, which Path would turn into a file's name
    if out_file is not None and out_file.endswith(("/", os.sep)):
        raise BadInput(f"--out {out_file}: names a folder; give a file's name, e.g. {Path(out_file) / 'comparison.html'}")
    t0 = time.perf_counter()
    path = write_comparison(run_dirs, out=None if out_file is None else Path(out_file), years=year or None,
                            first=first, last=last)
    out.print(f"comparison: {path} ({time.perf_counter() - t0:.1f} s)")


@app.command()
def explain(
    rule: Optional[str] = typer.Argument(None, help="a rule's name, `questions`, `history`, `claims`, or a seed "
                                         "text's number, e.g. 002 (without one: the list of rules)"),
    write_to: Optional[str] = typer.Option(None, "--write", metavar="FILE",
                                           help="write every rule's text, as Markdown, to this file "
                                           "(docs/model.md is made this way); it replaces only an earlier such text"),
):
    """The rules of the model: equations, parameters, state and sources in the texts.

    With a rule's name: its equation, parameters (defaults, ranges), the state it reads and writes, its source."""
    from . import explain as ex
    from .outputs.atomic import write_text

    # taken as text: a path ending in a slash names a folder, which Path would turn into a file's name
    write = None if write_to is None else Path(write_to)
    if write is not None:
        if rule is not None:
            raise BadInput("--write writes every rule; give no RULE with it")
        if write.is_dir() or write_to.endswith(("/", os.sep)):
            raise BadInput(f"--write {write_to}: names a folder; give a file's name, e.g. {write / 'model.md'}")
        blocked = _file_on_path(write.parent)
        if blocked is not None:
            raise BadInput(f"--write {write}: cannot be written: {blocked} is a file")
        if write.is_symlink():  # replaced by the text, the link would be lost (a link to nothing does not exist)
            raise BadInput(f"--write {write}: is a symbolic link; give a file's own path or a new name")
        if write.exists() and not ex.written_by_explain(write):  # a user's own file: never written over
            raise BadInput(f"--write {write}: exists and was not written by `tikkun explain --write`; "
                           "give a new file's name (only an earlier model text is replaced)")
        from .outputs.run_folder import missing_folders, remove_empty

        missing = missing_folders(write.parent)
        try:
            write_text(write, ex.model_markdown())
        except OSError as exc:  # a file where a folder of the path should be, no permission, a full disk, ...
            remove_empty(missing)  # the folders made on the way: nothing half-made is left
            raise BadInput(f"--write {write}: cannot be written ({exc.strerror or exc})") from None
        out.print(f"wrote {write}")
        return
    if rule is None:
        print(ex.rule_list(), end="")
        return
    topics = {ex.QUESTIONS_TOPIC: ex.questions_text, ex.HISTORY_TOPIC: ex.history_text, ex.CLAIMS_TOPIC: ex.claims_text}
    if rule in topics:
        print(topics[rule](), end="")
        return
    if rule in dict(ex.SOURCES):
        print(ex.source_text(rule), end="")
        return
    if rule not in ex.RULES_BY_NAME and rule.replace("-", "_") in ex.RULES_BY_NAME:
        rule = rule.replace("-", "_")  # spelt as the claims are (good-and-pure)
    if rule not in ex.RULES_BY_NAME:
        raise BadInput(ex.unknown_rule_message(rule))
    print(ex.rule_text(rule), end="")


@app.command()
def genesis(
    scenario: Optional[Path] = typer.Argument(None, help="scenario TOML file with a [genesis] section (default: the history preset)"),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="a shipped preset"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="output folder (default runs/<name>-genesis-<timestamp>)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="seed of the counter-based generator"),
    set_: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="KEY=VALUE override, e.g. genesis.n=128 (repeatable)"),
):
    """Run phase 1 alone: the vessel, its stages and its breaking."""
    _environment_check()
    from . import api
    from .scenario import parse_set_options

    sc = api.resolve_scenario(scenario, preset=preset, seed=seed, overrides=parse_set_options(set_))
    if sc.genesis is None:
        raise BadInput("genesis: the scenario has no [genesis] section; add one (see docs/genesis.md)")
    from .explain import genesis_note
    from .outputs.run_folder import missing_folders, remove_empty, remove_unfinished

    note = genesis_note(sc)
    if note:
        err.print(f"note: {note}", markup=False, highlight=False)

    made = out_dir is None or not out_dir.exists()  # an empty folder the user made stays, whatever happens
    parents = missing_folders(out_dir.parent if out_dir is not None else Path("runs"))  # api.default_folder's root
    folder = out_dir if out_dir is not None else api.default_folder(sc.model_copy(update={"name": f"{sc.name}-genesis"}))
    api.prepare_folder(folder, "--out")
    api.claim(folder, sc, "--out")  # its first file, scenario.toml: a second command into the folder is refused
    try:
        result = api.genesis(sc, out=folder)
    except BaseException:  # Ctrl-C, SIGTERM or a failure: what it wrote goes, the folder as it was found
        if remove_unfinished(folder, remove_folder=made) and made:
            remove_empty(parents)
        raise
    r = result.records
    out.print(f"genesis: {len(sc.genesis.stages)} stages on a {sc.genesis.n} x {sc.genesis.n} vessel, "
              f"{result.n_steps:,} steps; final unity {result.final_unity:.5f}, mixing {r['mixing'][-1]:.5f}")
    out.print(f"outputs: {folder}")


def _sweep_progress(quiet: bool, what: Callable[[], str] = lambda: "runs"):
    """A Rich bar of runs done, failed and left, with what the workers are doing; ``what()``
    names the runs at each report."""
    if quiet:
        return None, None
    from .sweep.driver import NO_WORKERS_WARN, no_workers_message

    progress = Progress(
        TextColumn("{task.fields[what]}"), BarColumn(),
        TextColumn("done {task.fields[done]}  failed {task.fields[failed]}  left {task.fields[left]}  {task.fields[note]}"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        # a log (no terminal) gets the bar's last state once: wide, so that a log shows it uncut
        console=err if err.is_terminal else Console(stderr=True, soft_wrap=True, width=200), transient=False)
    task = progress.add_task("sweep", total=None, done=0, failed=0, left="?", note="", what=what())
    shown, current = set(), [what()]

    def callback(p):
        if what() != current[0]:  # another sweep's runs (the next claim): its own count and clock
            current[0] = what()
            progress.reset(task, total=None, completed=0, done=0, failed=0, left="?", note="", what=current[0])
        if "bar" not in shown:  # shown from the first report on, after the input was checked
            shown.add("bar")
            progress.start()
        if p.dashboard and "dashboard" not in shown:
            shown.add("dashboard")
            progress.console.print(f"Dask dashboard: {p.dashboard}")
        threads = p.numba_threads[0] if len(p.numba_threads) == 1 else None
        waiting = "waiting for a worker" + (f" ({p.no_workers:.0f} s)" if p.no_workers >= NO_WORKERS_WARN else "")
        if p.no_workers >= NO_WORKERS_WARN and p.left and "alone" not in shown:
            # a line of its own, once: a log (output to a file) shows no bar, and a bar's end is cut on a narrow terminal
            shown.add("alone")
            progress.console.print(no_workers_message(p.no_workers, p.scheduler or "SCHEDULER_ADDRESS", p.workers_left),
                                   highlight=False)
        if p.connecting:  # no cluster yet: no worker can have joined it
            waiting = p.connecting
        note = (waiting if p.left else "") if not p.workers else f"{p.workers} worker{'s' if p.workers > 1 else ''}" + (
            "" if threads is None else " x all cores' Numba threads (NUMBA_NUM_THREADS not set)" if threads == 0 else
            f" x {threads} Numba thread{'s' if threads > 1 else ''}")
        if p.compiling:
            note += f", {len(p.compiling)} compiling the kernels"
            if not err.is_terminal and "compiling" not in shown:
                # a log shows no bar until the end: a first run's minutes of compiling would be silent
                shown.add("compiling")
                progress.console.print("the workers are compiling the kernels (a few minutes the first time; "
                                       "then they are cached)", highlight=False)
        progress.update(task, total=p.total, completed=p.done + p.failed, done=p.done, failed=p.failed, left=p.left,
                        note=note, what=what())
        if p.last is not None and p.last["status"] == "failed":
            progress.console.print(f"[red]failed[/] {escape(p.last['run_id'])}: {escape(_one_line(p.last['error']))}",
                                   highlight=False)

    return progress, callback


def _one_line(error) -> str:
    """A failed run's message on one line: a scenario's problems after its first line, joined
    ("light.beta: Input should be greater than or equal to 0"), as docs/sweeps.md shows them."""
    from .sweep.spec import problems_only

    text = str(error or "").strip()
    if text.split("\n", 1)[0].endswith("invalid scenario"):
        return problems_only(text)
    return "; ".join(text.splitlines())


def _as_given(path: Path) -> Path:
    """A path a sweep made absolute, as its messages show it (:func:`tikkun.sweep.driver.shown`)."""
    from .sweep.driver import shown

    return shown(path)


def _sweep_report(result) -> None:
    runs = result.runs
    done = int((runs["status"] == "done").sum())
    reused = int(runs["reused"].sum())
    runs_said = f"{len(runs)} run{'' if len(runs) == 1 else 's'}"
    out.print(f"[bold]{runs_said}[/]: {done} done ({reused} from an earlier sweep), {len(result.failed)} failed")
    folder = _as_given(result.folder)
    out.print(f"tables: {folder / 'sweep.parquet'}, {folder / 'sweep-metrics.parquet'}")
    for row in result.failed.head(10).itertuples():
        out.print(f"[red]failed[/] {escape(row.run_id)}: {escape(_one_line(row.error))}", highlight=False)


def _run_sweep_command(fn, quiet: bool, **kwargs):
    from .sweep import SweepInterrupted

    progress, callback = _sweep_progress(quiet)
    try:
        try:
            return fn(progress=callback, **kwargs)
        finally:
            if progress is not None and progress.live.is_started:  # started by the first report, if one came
                progress.stop()
    except SweepInterrupted as exc:
        # runs under way are cancelled, but one may still finish on its worker (a local cluster's as it
        # stops; an external cluster's workers go on): it is kept
        _exit_interrupted(f"interrupted: {exc.done} runs done, {exc.failed} failed, {exc.left} left in {escape(str(_as_given(exc.folder)))} "
                          "(a run still under way on a worker may finish, and is kept); run the same command again "
                          "to go on")


@app.command()
def sweep(
    sweep_file: Path = typer.Argument(..., help="sweep file (TOML): base, seeds, set, grid, variants"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler tcp://HOST:PORT (default: DASK_SCHEDULER_ADDRESS, else a local cluster)"),
    workers: Optional[int] = typer.Option(None, "--workers", help="worker processes of the local cluster (default: one per core)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="sweep folder (default sweeps/<sweep file name>); run again to go on"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
):
    """Run every run of a sweep file on Dask; write each run folder and the sweep's tables."""
    _environment_check()
    _needs_extra("sweep", "sweep")
    from . import sweep as sweeps

    spec = sweeps.load_sweep(sweep_file)  # a bad file is told before the progress bar appears
    result = _run_sweep_command(sweeps.run_sweep, quiet, sweep=spec, out=out_dir, scheduler=scheduler, workers=workers)
    _sweep_report(result)
    if len(result.failed):
        raise typer.Exit(1)


@app.command()
def sensitivity(
    sweep_file: Path = typer.Argument(..., help="sweep file with a [sensitivity] table of parameter ranges"),
    method: Optional[str] = typer.Option(None, "--method", "-m", help="morris (default) or sobol"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler tcp://HOST:PORT (default: DASK_SCHEDULER_ADDRESS, else a local cluster)"),
    workers: Optional[int] = typer.Option(None, "--workers", help="worker processes of the local cluster (default: one per core)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="folder (default sweeps/<sweep file name>-<method>)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
):
    """Global sensitivity (SALib) of the end year and of C at chosen years; a table and a figure."""
    _environment_check()
    _needs_extra("sensitivity", "sweep")
    from . import sweep as sweeps
    from .sweep.sensitivity import read_plan

    spec = sweeps.load_sweep(sweep_file)  # a bad file or [sensitivity] table is told before the progress bar
    read_plan(spec, method)
    result = _run_sweep_command(sweeps.sensitivity, quiet, sweep=spec, method=method, out=out_dir,
                                scheduler=scheduler, workers=workers)
    cols = ["mu", "mu_star", "mu_star_conf", "sigma"] if result.plan.method == "morris" else ["S1", "S1_conf", "ST", "ST_conf"]
    table = Table("output", "parameter", *cols)
    for row in result.indices.itertuples(index=False):
        table.add_row(row.output, row.parameter, *(f"{getattr(row, c):.4g}" for c in cols))
    out.print(table)
    for note in result.notes:
        out.print(f"note: {escape(note)}")
    out.print(f"outputs: {_as_given(result.folder / 'sensitivity.parquet')}, {_as_given(result.figure)}")


@app.command()
def validate(scenario: Optional[Path] = typer.Argument(None, help="scenario TOML file"),
             preset: Optional[str] = typer.Option(None, "--preset", "-p",
                                                  help="a shipped preset instead (see `tikkun presets`)")):
    """Check a scenario file (or a preset); print what it resolves to, or every problem with its key.

    Each key is checked first; the checks between keys (a graph's degree against the souls, the
    events against the horizon) follow once every key is valid."""
    from . import api
    from .scenario import ScenarioError, load_scenario

    if scenario is None and preset is None:
        raise BadInput("validate: give a scenario file, or --preset NAME (see `tikkun presets`)")
    sc = load_scenario(scenario, preset=preset)
    what = f"preset {preset}" if scenario is None else str(scenario)
    out.print(f"[green]ok[/]: {escape(what)} ({escape(sc.name)}: {sc.souls.count:,} souls, {sc.run.years:,} years, "
              f"{len(sc.events)} event{'' if len(sc.events) == 1 else 's'})")
    if scenario is not None and sc.network.enabled and sc.network.kind == "given":
        try:  # the graph `tikkun run` would take beside it, checked as it checks it
            given, label = api.graph_beside(scenario, sc)
            if given is not None:
                api.checked_graph(sc, given, label, souls_option="--souls ")
            how = (f"tikkun run {scenario} takes {label.removeprefix('graph ')}, beside it, unless --graph gives "
                   "another" if given is not None else f"tikkun run {scenario} --graph FILE.npy")
        except ScenarioError as exc:
            how = f"tikkun run {scenario} --graph FILE.npy (the graph beside it would be refused: {exc})"
        out.print(f'network.kind = "given": run it with its graph ({sc.network.k} columns, {sc.souls.count:,} rows): '
                  f"{how}", markup=False, highlight=False)


@app.command()
def presets():
    """List the scenarios shipped with tikkun."""
    from .scenario import load_scenario, preset_names

    table = Table("preset", "souls", "years", "description")
    for name in preset_names():
        sc = load_scenario(preset=name)
        table.add_row(name, f"{sc.souls.count:,}", f"{sc.run.years:,}", sc.description)
    out.print(table)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (default: this machine only)"),
    port: int = typer.Option(8050, "--port", help="port to listen on"),
    max_souls: int = typer.Option(600_000, "--max-souls", help="the largest population a run on the page may have"),
    show: bool = typer.Option(False, "--show", help="open the page in a browser"),
):
    """Open the dashboard: pick a scenario, move its knobs and watch the years go by in a browser."""
    _needs_extra("serve", "dash")
    from .dash import ServeError, serve as serve_dashboard

    _environment_check()  # the page's runs would each fail on it

    try:
        serve_dashboard(host=host, port=port, max_souls=max_souls, show=show,
                        echo=lambda line: err.print(escape(line), highlight=False))
    except ServeError as exc:
        raise BadInput(str(exc)) from None


@app.command()
def version(
    code: bool = typer.Option(False, "--code", help="also the digest of the code and the model's revision, "
                              "as a run's summary.json records them (tikkun_version, tikkun_code, model_revision)"),
):
    """Print the version (with --code: what a run's summary.json records of the code that made it)."""
    if not code:
        out.print(__version__)
        return
    from .outputs.provenance import provenance

    for key, value in provenance().items():
        out.print(f"{key} {value}", highlight=False)


def _file_on_path(path: Path) -> Path | None:
    """The nearest of ``path`` and its parents that exists, if it is not a folder."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p if p.exists() and not p.is_dir() else None


def _check_folder_option(option: str, folder: Path) -> None:
    """:class:`BadInput` unless ``folder`` is a folder or can be made one (no file on its path)
    and can be written into: checked before the runs, which take hours at the texts' scale."""
    p = _file_on_path(folder)
    if p is not None:
        where = "exists and is not a folder" if p == folder else f"cannot be made: {p} is a file"
        raise BadInput(f"{option} {folder}: {where}")
    import tempfile

    above = next((q for q in (folder.absolute(), *folder.absolute().parents) if q.exists()), None)
    try:  # a file made and removed at once where the first folder would go (its mode, a read-only mount, ...)
        with tempfile.TemporaryFile(dir=above):
            pass
    except OSError as exc:
        raise BadInput(f"{option} {folder}: cannot be written ({exc.strerror or exc})") from None


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@app.command()
def experiment(
    name: Optional[str] = typer.Argument(None, help="the claim, e.g. one-for-all (see `tikkun experiment --list`)"),
    all_: bool = typer.Option(False, "--all", help="every claim; writes claims.md with the table of verdicts"),
    list_: bool = typer.Option(False, "--list", help="list the claims (with a NAME: that claim) and exit"),
    seeds: int = typer.Option(5, "--seeds", help="seeds 20, 21, ... (the spread over them is reported)"),
    souls: Optional[int] = typer.Option(None, "--souls", help="population (default: each claim's own, see its JSON)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="a Dask scheduler tcp://HOST:PORT (default: this machine)"),
    workers: Optional[int] = typer.Option(None, "--workers", help="worker processes on this machine (default: one per core)"),
    out_dir: Path = typer.Option(Path("claims"), "--out", "-o", help="where NAME.json and NAME.png go; with --all, claims.md goes here and each claim's files to claims/ inside it"),
    runs_dir: Path = typer.Option(Path("runs/experiments"), "--runs", help="the sweeps' run folders"),
):
    """Test a claim of the texts: its arms over seeds, a measured verdict, a figure."""
    _environment_check()
    from .experiments import EXPERIMENTS

    if name is not None and name not in EXPERIMENTS:
        import difflib

        close = difflib.get_close_matches(name, EXPERIMENTS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise BadInput(f"unknown claim {name!r}{hint}; allowed: {', '.join(EXPERIMENTS)}")
    if list_:  # with a name, that claim alone
        for exp in EXPERIMENTS.values() if name is None else [EXPERIMENTS[name]]:
            out.print(f"[bold]{exp.name}[/]: {exp.claim} ({exp.source})")
        return
    _needs_extra("experiment", "sweep")
    if all_ and name is not None:
        raise BadInput(f"give one claim's name or --all, not both (got {name} and --all)")
    if not all_ and name is None:
        raise BadInput("give one claim's name or --all (see `tikkun experiment --list`)")
    from .sweep.spec import MAX_RUNS

    if not 0 < seeds <= MAX_RUNS:  # each seed is a run of each arm: more is a count's extra zeros
        raise BadInput(f"--seeds: must be a positive number of seeds, at most {MAX_RUNS:,} (got {seeds:,})")
    if souls is not None and souls <= 0:
        raise BadInput(f"--souls: must be a positive number of souls (got {souls})")
    # the folders are checked before the runs, which may take hours, not after them
    _check_folder_option("--out", out_dir)
    if all_:
        _check_folder_option("--out", out_dir / "claims")  # --all writes each claim's files there
    _check_folder_option("--runs", runs_dir)
    for folder in (out_dir, runs_dir):  # a run's outputs are its own: a claim's files do not go among them
        if (folder / "scenario.toml").is_file():
            option = "--out" if folder == out_dir else "--runs"
            raise BadInput(f"{option} {folder}: a run's folder (it holds scenario.toml); choose another {option}")
    from .experiments import claims, core

    # the files a run would replace must be an earlier run's (nothing a user made is lost)
    theirs = core.outputs_not_ours(EXPERIMENTS if all_ else [name], out_dir / "claims" if all_ else out_dir)
    if all_ and claims.claims_md_not_ours(out_dir):
        theirs.insert(0, out_dir / "claims.md")
    if theirs:
        raise BadInput(f"--out {out_dir}: {', '.join(str(p) for p in theirs)} "
                       f"{'exists' if len(theirs) == 1 else 'exist'} and {'was' if len(theirs) == 1 else 'were'} not written by "
                       "`tikkun experiment`; choose another --out (tikkun never replaces a file it did not make)")

    seed_list = list(range(20, 20 + seeds))

    def line(rec):
        colour = {"holds": "green", "does not hold": "red"}.get(rec["verdict"], "yellow")  # yellow: not tested
        from .experiments.claims import seconds_text

        out.print(f"[bold]{rec['name']}[/]: [{colour}]{rec['verdict']}[/] ({rec['summary']}; {rec['seconds']:.0f} s, "
                  f"its runs {seconds_text(rec['run_seconds'])})")  # runs reused from --runs: their own time
        note = EXPERIMENTS[rec["name"]].scale_note(souls)
        if note:
            out.print(f"  [dim]{note}[/]")

    names = iter(EXPERIMENTS if all_ else [name])
    under_way = [next(names)]  # the claim whose runs the bar shows

    def done(rec):
        line(rec)
        under_way[0] = next(names, None)

    from .sweep import SweepInterrupted

    progress, callback = _sweep_progress(False, lambda: f"runs of {under_way[0]}")
    try:
        try:
            if all_:
                records = claims.run_all(EXPERIMENTS.values(), seeds=seed_list, souls=souls, out=out_dir,
                                         runs=runs_dir, scheduler=scheduler, workers=workers, progress=callback,
                                         on_done=done)
            else:
                rec = core.run(EXPERIMENTS[name], seeds=seed_list, souls=souls, out=out_dir, runs=runs_dir,
                               scheduler=scheduler, workers=workers, progress=callback)
        finally:
            if progress is not None and progress.live.is_started:
                progress.stop()
    except SweepInterrupted as exc:
        _exit_interrupted(f"interrupted: {under_way[0]}: {exc.done} runs done, {exc.failed} failed, {exc.left} left in "
                          f"{escape(str(_as_given(exc.folder)))}; the same command again goes on from there (finished runs are "
                          "kept, claims already measured are measured again from their runs)"
                          if all_ else
                          f"interrupted: {exc.done} runs done, {exc.failed} failed, {exc.left} left in "
                          f"{escape(str(_as_given(exc.folder)))}; the same command again goes on from there (finished runs are "
                          "kept)")
    except KeyboardInterrupt:  # between the runs (a claim measured, its figure, claims.md): each file whole or none
        _exit_interrupted(f"interrupted while measuring {under_way[0] or 'the claims'}; its runs are kept in "
                          f"{escape(str(runs_dir))}, and the same command again goes on from there")
    if all_:
        table = Table("claim", "verdict", "seconds")
        for rec in records:
            table.add_row(rec["name"], rec["verdict"], f"{rec['seconds']:.0f}")
        out.print(table)
        out.print(f"claims: {out_dir / 'claims.md'}")
        return
    line(rec)
    out.print(f"outputs: {out_dir / (name + '.json')}, {out_dir / (name + '.png')}")


class Terminated(KeyboardInterrupt):
    """The interrupt SIGTERM raises: handled as Ctrl-C's everywhere, told apart only to be sent again."""


def _interrupt_on_terminate(signum, frame):
    """SIGTERM (a job's time limit, ``timeout``, a container stopped) ends a command as Ctrl-C
    does: a half-written output is removed, a sweep says what is left, the dashboard's pages
    remove their folders (``atexit``). Without it Python dies at once and leaves them."""
    raise Terminated


def _resend_swallowed_interrupt(unraisable) -> None:
    """``sys.unraisablehook``: an interrupt that landed in a weakref callback or a finalizer is
    printed as "Exception ignored" and lost, and the command would run on (a signal's handler runs
    wherever the main thread is). Send it again, to land at the next step of the command itself;
    anything else goes to Python's own hook."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        signum = signal.SIGTERM if issubclass(unraisable.exc_type, Terminated) else signal.SIGINT
        # From another thread, a moment later: sent from here it would land in this hook and be lost again.
        resend = threading.Timer(0.01, _thread.interrupt_main, (signum,))
        resend.daemon = True
        resend.start()
        return
    sys.__unraisablehook__(unraisable)


def _install_interrupts() -> None:
    """SIGTERM as Ctrl-C, and no interrupt lost in a callback (main thread only: signals)."""
    signal.signal(signal.SIGTERM, _interrupt_on_terminate)
    sys.unraisablehook = _resend_swallowed_interrupt


def main() -> None:
    """Entry point: map input errors to exit code 2 with one clear message."""
    global _interruption_told
    _interruption_told = False  # a command of this call says it, or main() does
    if threading.current_thread() is threading.main_thread():
        _install_interrupts()
    try:
        _main()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while an error was being told (its types are imported then)
        err.print("interrupted")
        sys.exit(130)


def entry() -> None:
    """The command's entry point (the ``tikkun`` script and ``python -m tikkun``): :func:`main`,
    then the process ends without Python's teardown of its modules.

    By the end every output is written and closed (atomically), the atexit handlers have run
    (Dask's, the dashboard's removals) and the standard streams are flushed: what the teardown of
    NumPy, Numba, pyarrow, pandas and matplotlib would add is time only (measured in
    docs/performance.md, "Measured effects"). Where a thread that is not a daemon still runs,
    the exit is Python's own, which waits for it. Tests call :func:`main`, which returns."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:  # after the command's own handlers: it is whole, there is nothing to tell
        code = 130
    _exit_now(code)


def _exit_now(code) -> None:
    """End the process with ``code`` (a ``SystemExit``'s: None is 0, text is told and is 1)
    after the atexit handlers and a flush of the standard streams; Python's own exit where a
    thread that is not a daemon is still running (its exit joins such threads first)."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    try:
        atexit._run_exitfuncs()  # as Python's exit runs them; the module has no public name for it
    except KeyboardInterrupt:
        code = 130
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (``| head``), a stream closed
            pass
    os._exit(code)


def repeated_option(argv: list[str]) -> str | None:
    """The message for an option of one value given more than once in ``argv`` (the parser keeps
    the last silently: ``--preset quick --preset history`` ran the history), or None. Options
    that may repeat (``--set``, ``--event``, ``--year``, ...) and flags are left alone."""
    cmd, rest = typer.main.get_command(app), list(argv)
    while rest and hasattr(cmd, "commands"):  # down to the command the words name
        word = next((t for t in rest if not t.startswith("-")), None)
        if word not in cmd.commands:
            return None
        cmd, rest = cmd.commands[word], rest[rest.index(word) + 1:]
    options = {name: prm for prm in cmd.params if getattr(prm, "param_type_name", "") == "option"
               for name in (*prm.opts, *prm.secondary_opts)}
    given: dict[str, list[str]] = {}
    i = 0
    while i < len(rest):
        tok = rest[i]
        if tok == "--":
            break
        name = tok.split("=", 1)[0] if tok.startswith("--") else tok
        prm = options.get(name)
        i += 1
        if prm is None:
            continue
        takes_value = not (prm.is_flag or prm.count)
        value = tok.split("=", 1)[1] if "=" in tok else (rest[i] if takes_value and i < len(rest) else None)
        if takes_value and "=" not in tok:
            i += 1
        if takes_value and not prm.multiple:
            given.setdefault(prm.opts[0], []).append(f"{name} {value}")
    for option, uses in given.items():
        if len(uses) > 1:
            return f"{option}: given {len(uses)} times ({', '.join(uses)}); give it once"
    return None


def _typed_values(argv: list[str], opts) -> list[str]:
    """The values ``argv`` gives the option named ``opts`` (``--seed abc``, ``--seed=abc``)."""
    values = []
    for i, tok in enumerate(argv):
        name, eq, value = tok.partition("=")
        if name in opts and tok.startswith("--") and eq:
            values.append(value)
        elif tok in opts and i + 1 < len(argv):
            values.append(argv[i + 1])
    return values


def _main() -> None:
    twice = repeated_option(sys.argv[1:])
    if twice is not None:
        err.print(f"[red]error:[/] {escape(twice)}", highlight=False)
        sys.exit(2)
    try:
        code = app(standalone_mode=False)  # a command's typer.Exit(code) comes back as its return value
        if code == 130 and not _interruption_told:  # Typer turns an interrupt into 130, silently
            err.print("interrupted")
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C or SIGTERM that Typer did not turn into Exit(130)
        err.print("interrupted")
        sys.exit(130)
    except _bad_input_types() as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except typer.BadParameter as exc:
        # The parser's own (a value its type refuses) names the option: "Invalid value for '--seed': ..."
        named = getattr(exc, "param", None) is not None or getattr(exc, "param_hint", None) is not None
        message = exc.format_message() if named else str(exc)
        typed = _typed_values(sys.argv[1:], getattr(getattr(exc, "param", None), "opts", ()))
        if typed and message.startswith("Invalid value for '") and "': " in message:  # the value as typed
            head, why = message.split("': ", 1)
            message = f"{head}' ({', '.join(repr(v) for v in typed)}): {why}"
        err.print(f"[red]error:[/] {escape(message)}", highlight=False)
        sys.exit(2)
    except Exception as exc:
        from .api import interrupt_behind

        if interrupt_behind(exc) is not None:  # an interrupt that came out of a library as its own error
            err.print("interrupted")
            sys.exit(130)
        # Usage errors of the option parser (click's API, vendored by newer Typer releases).
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(2)
        err.print(f"[red]error:[/] {type(exc).__name__}: {escape(str(exc))}")
        sys.exit(1)


if __name__ == "__main__":
    main()
