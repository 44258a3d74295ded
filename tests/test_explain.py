"""tikkun explain: every rule and every key of the schema, with a description and a source;
docs/model.md is the command's text; the ranges it states are the ones the scenario enforces."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from tikkun import explain as ex
from tikkun.scenario import ScenarioError, load_scenario
from tikkun.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ("000", "002", "004")


def tikkun(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tikkun", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_every_key_has_a_description_and_a_source():
    problems = ex.problems()
    assert not problems, "\n".join(problems)


def test_the_check_names_the_key_and_what_it_lacks(monkeypatch):
    """The check above fails, naming the key, for a key without a description and for one no
    rule lists (the schema grows while the rules are written)."""

    class Extra(BaseModel):
        quiet: float = Field(1.0, ge=0)
        orphan: float = Field(2.0, description="a key no rule lists")

    class Grown(Scenario):
        extra: Extra = Extra()

    problems = ex.problems(Grown)
    assert "extra.quiet: no description in the schema (add description= to its Field)" in problems
    assert any(p.startswith("extra.orphan: no rule in tikkun/explain.py lists it, so it has no source")
               for p in problems)
    assert any(p.startswith("extra.quiet: no rule") for p in problems)
    monkeypatch.setattr(ex, "RULES", ex.RULES + (ex.Rule("ghost", "t", "m", "e", ("light.alfa",), ("hbd", "mood"), (),
                                                          ""),))
    problems = ex.problems()
    assert "rule ghost: parameter 'light.alfa' is no key of the schema" in problems
    assert "rule ghost: 'mood' is no field of tikkun.state.State" in problems
    assert "rule ghost: no source" in problems


def test_every_rule_cites_a_seed_and_its_module_exists():
    for r in ex.RULES:
        assert any(r.source.startswith(s) or f". {s}:" in r.source for s in SEEDS), r.name
        importlib.import_module(r.module)
        assert r.equation.strip() and r.title.strip()


def test_every_rule_module_is_explained():
    """One rule of MODEL.md is one module of tikkun/rules: a new module needs its rule here."""
    modules = {f"tikkun.rules.{p.stem}" for p in (ROOT / "src" / "tikkun" / "rules").glob("*.py")
               if p.stem != "__init__"}
    explained = {r.module for r in ex.RULES}
    assert modules <= explained, f"rules without an explanation: {sorted(modules - explained)}"


def test_parameters_walk_the_whole_schema():
    keys = [p.key for p in ex.parameters()]
    assert len(keys) == len(set(keys))
    for section in ("run", "souls", "sparks", "light", "network", "impurity", "generations", "worlds"):
        model = type(getattr(Scenario(), section))
        for name, field in model.model_fields.items():
            if isinstance(getattr(getattr(Scenario(), section), name), BaseModel):
                continue  # a nested choice (sparks.unity): its own keys follow
            assert f"{section}.{name}" in keys
    assert "events[scale].factor" in keys and "events[shepherds].group.highest" in keys
    assert "genesis.stages.kind" in keys and "sparks.unity[beta].a" in keys
    assert not [k for k in keys if k.endswith("].kind")]  # the kind names the bracket


def _bounds(r: str):
    """``(lo, lo_open, hi, hi_open)`` of a stated range (None where unbounded)."""
    def num(x):
        return 2 ** int(x[2:]) if x.startswith("2^") else float(x.replace("_", ""))

    if r[0] in "[(":
        lo, hi = r[1:-1].split(", ")
        return num(lo), r[0] == "(", num(hi), r[-1] == ")"
    if r.startswith(">="):
        return num(r[3:]), False, None, False
    return num(r[2:]), True, None, False


@pytest.mark.parametrize("p", [p for p in ex.parameters() if "." in p.key and "[" not in p.key
                               and not p.key.startswith(("genesis", "events"))
                               and p.range and p.range[0] in "[(>"], ids=lambda p: p.key)
def test_stated_range_is_the_range_the_scenario_enforces(p):
    """A value just outside the range explain states is refused, naming the key."""
    lo, lo_open, hi, hi_open = _bounds(p.range)
    whole = isinstance(p.default, int) and not isinstance(p.default, bool)
    step = 1 if whole else 1e-9
    outside = [lo if lo_open else lo - step * max(1, abs(lo))]
    if hi is not None:
        outside.append(hi if hi_open else hi + step * max(1, abs(hi)))
    for bad in outside:
        bad = int(bad) if whole else float(bad)
        with pytest.raises(ScenarioError, match=p.key.replace(".", r"\.")):
            load_scenario(preset="quick", overrides={p.key: bad})
    load_scenario(preset="quick", overrides={p.key: p.default})  # the stated default is accepted


def test_defaults_are_the_schemas():
    light = {p.key: p for p in ex.parameters() if p.key.startswith("light.")}
    assert light["light.alpha"].default == Scenario().light.alpha
    text = ex.rule_text("light")
    assert f"| `light.alpha` | {Scenario().light.alpha:g} |" in text
    assert "ell_i = alpha" in text and "002" in text


def test_events_name_every_global_key_an_event_may_change():
    import re

    from tikkun.scenario.schema import GLOBAL_KEYS, GLOBAL_OPEN

    text = ex.rule_text("events")
    table = ex.model_markdown()
    for key, (lo, hi) in GLOBAL_KEYS.items():
        listed = re.search(rf"`{re.escape(key)}` ([\[(])(\S+), (\S+?)([\])])", text)
        assert listed, key
        # the bounds read back are the field's, open where it is open
        assert (float(listed[2]), float(listed[3])) == (lo, hi), key
        assert (listed[1] == "(", listed[4] == ")") == GLOBAL_OPEN[key], key
        # the events' list and the table of docs/model.md write the range the same way
        assert f"| `{key}` | {listed[0].split(' ', 1)[1]} |" in table, key
    assert "`light.alpha` (0, 1e6]" in text  # alpha must stay above 0, as in its section
    assert "`light.eps` [0, 1000]" in text


def test_docs_model_md_is_current():
    path = ROOT / "docs" / "model.md"
    assert path.read_text() == ex.model_markdown(), "docs/model.md is stale: run `tikkun explain --write docs/model.md`"


def test_command_line(tmp_path):
    r = tikkun("explain", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines[:len(ex.RULES)]] == [x.name for x in ex.RULES]
    assert lines[len(ex.RULES)] == "", "the rules, then a blank line, then the sources and the questions"
    r = tikkun("explain", "questions", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ex.questions_text()
    r = tikkun("explain", "question", cwd=tmp_path)
    assert r.returncode == 2 and "did you mean 'questions'" in r.stderr
    r = tikkun("explain", "worlds", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ex.rule_text("worlds")
    r = tikkun("explain", "wolrds", cwd=tmp_path)
    assert r.returncode == 2 and "did you mean 'worlds'" in r.stderr
    r = tikkun("explain", "--write", "m.md", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "m.md").read_text() == ex.model_markdown()
    r = tikkun("explain", "light", "--write", "n.md", cwd=tmp_path)
    assert r.returncode == 2 and not (tmp_path / "n.md").exists()


def test_write_never_replaces_a_users_file(tmp_path):
    """--write replaces an earlier model text (docs/model.md is remade so) but refuses a file of
    the user's: exit code 2, the option named, the file as it was."""
    mine = tmp_path / "notes.md"
    mine.write_text("my own notes\n")
    r = tikkun("explain", "--write", "notes.md", cwd=tmp_path)
    assert r.returncode == 2 and "--write notes.md: exists and was not written by" in r.stderr, r.stderr
    assert mine.read_text() == "my own notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]
    (tmp_path / "m.md").write_text(ex.model_markdown().replace("light", "an older light"))
    r = tikkun("explain", "--write", "m.md", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "m.md").read_text() == ex.model_markdown(), r.stderr
    # a symbolic link, to a model text or to nothing, is kept: written over, it became a file
    (tmp_path / "to-m.md").symlink_to(tmp_path / "m.md")
    (tmp_path / "to-nothing.md").symlink_to(tmp_path / "gone" / "m.md")
    for link in ("to-m.md", "to-nothing.md"):
        r = tikkun("explain", "--write", link, cwd=tmp_path)
        assert r.returncode == 2 and f"--write {link}: is a symbolic link" in r.stderr, r.stderr
        assert (tmp_path / link).is_symlink()
    assert not (tmp_path / "gone").exists()


def test_the_list_names_every_seed_the_rules_cite(tmp_path):
    """A rule's source starts with a seed's number: the list says which text each number is."""
    cited = {s for r in ex.RULES for s in SEEDS if r.source.startswith(s) or f". {s}:" in r.source}
    listed = {line.split()[0] for line in ex.rule_list().splitlines()[len(ex.RULES):] if line.startswith("  ")}
    assert cited and cited <= listed, f"seeds cited but not named: {sorted(cited - listed)}"


def test_every_rule_gives_its_passages_word_for_word():
    """Each rule's source is a paraphrase; beside it, the sentences it paraphrases, word for word
    (scripts/check_passages.py checks them against the seed texts, which the repository does not
    hold): at least one a rule, each from a seed the source names, printed by `tikkun explain
    RULE` and under the rule by `tikkun explain NUMBER`, and in docs/model.md."""
    assert set(ex.PASSAGES) == set(ex.RULES_BY_NAME)
    model_md = (ROOT / "docs" / "model.md").read_text()
    for r in ex.RULES:
        passages = ex.PASSAGES[r.name]
        assert passages, r.name
        text = ex.rule_text(r.name)
        for number, words in passages:
            assert number in SEEDS and ex.cites(r, number), (r.name, number)
            assert len(words) <= 240, (r.name, words)  # a sentence, not a page
            assert f"- {number}: \u201c{words}\u201d" in text and words in model_md, (r.name, words)
            assert f"  \u201c{words}\u201d" in ex.source_text(number).split(f"\n{r.name}: ")[1].split("\n\n")[0], \
                (r.name, words)


def test_every_question_points_to_what_exists():
    """The rules, claims, mechanisms, report sections and dashboard knobs a question names are the
    ones `tikkun explain`, docs/claims.md, docs/mechanisms.md, the report and the dashboard have."""
    from tikkun.dash.app import ONE_SOUL, SLIDERS
    from tikkun.experiments import EXPERIMENTS
    from tikkun.report.figures import SECTIONS

    claims_md = (ROOT / "docs" / "claims.md").read_text()
    mechanisms_md = (ROOT / "docs" / "mechanisms.md").read_text()
    sections = {s.title for s in SECTIONS}
    text = ex.questions_text()
    assert len(ex.QUESTIONS) >= 4
    for q in ex.QUESTIONS:
        assert q.question in text and q.texts in text
        assert q.texts[:3] in SEEDS, q.question  # the seed quoted is named first
        for r in q.rules:
            assert r in ex.RULES_BY_NAME, (q.question, r)
        for c in q.claims:
            assert c in EXPERIMENTS and f"\n## {c}\n" in claims_md, (q.question, c)
        for m in q.mechanisms:
            assert f"\n| {m} |" in mechanisms_md, (q.question, m)
        quoted = [w for w in q.see.split('"')[1::2]]  # the report's sections and the dashboard's controls
        assert quoted and set(quoted) <= sections | {ONE_SOUL}, (q.question, quoted)
        if "knob phi_s" in q.see:
            assert SLIDERS["light.phi_s"][0].startswith("phi_s"), q.question
        for doc in (w.strip(".,;:()") for w in (q.model + " " + q.measured).split() if w.startswith("docs/")):
            assert (ROOT / doc).is_file(), (q.question, doc)


@pytest.mark.parametrize("number", ["000", "002", "004"])
def test_a_seed_texts_number_lists_every_rule_whose_source_cites_it(number):
    """`tikkun explain 002`: the rules whose source names the text, found here by reading each
    rule's source for the number, none left out and none added."""
    text = ex.source_text(number)
    assert text.startswith(f"{number}: {dict(ex.SOURCES)[number]}")
    listed = {line.split(":")[0] for line in text.splitlines()[4:] if line and not line.startswith(" ")}
    expected = {r.name for r in ex.RULES if number in r.source.replace("6,000", "").replace("600,000", "")}
    assert listed == expected and listed
    for r in ex.RULES:
        assert (f"{r.name}: {r.title}" in text) == (r.name in expected)


@pytest.mark.slow
def test_the_one_soul_runs_at_600000_give_the_numbers_the_question_states(tmp_path):
    """The first question's numbers at the texts' 600,000 souls, which its text states beside
    those of its 20,000-soul commands: the same two commands without `--souls 20000` (1,100
    years each) give the complete souls and C at the end of the shepherd's generation."""
    import re
    import shlex

    import pyarrow.parquet as pq

    q = ex.QUESTIONS[0]
    runs = [shlex.split(c) for c in re.findall(r"`(tikkun run [^`]*)`", q.measured) if "--souls 20000" in c]
    stated = re.search(r"By year (\d[\d,]*\d), the generation's last, .*?; at 600,000 souls, the same commands "
                       r"without `--souls 20000`: (\d[\d,]*\d) against (\d[\d,]*\d), C ([\d.]+) against ([\d.]+)\)",
                       q.measured)
    year = int(stated.group(1).replace(",", ""))
    assert len(runs) == 2 and sum("--event" in r for r in runs) == 1
    got = {}
    for args in runs:
        at = args.index("--souls")
        args = args[:at] + args[at + 2:]  # the history's own 600,000
        folder = args[args.index("--out") + 1]
        r = subprocess.run([sys.executable, "-m", "tikkun", *args[1:], "--no-report", "-q"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr
        m = pq.read_table(tmp_path / folder / "metrics.parquet").to_pandas().set_index("year")
        assert len(m) == 1100 and int(m["complete"].max()) <= 600_000
        got["one" if "--event" in args else "none"] = (int(m.loc[year, "complete"]),
                                                       round(float(m.loc[year, "cleansing_mean"]), 3))
    assert got["one"] == (int(stated.group(2).replace(",", "")), float(stated.group(4)))
    assert got["none"] == (int(stated.group(3).replace(",", "")), float(stated.group(5)))


def test_a_write_that_fails_leaves_no_folder_it_made(tmp_path, monkeypatch, capsys):
    """A full disk (or any failure after the folders of --write's path were made): exit code 2,
    the option named, and the folders made on the way gone; a folder that was there stays."""
    import errno
    import sys

    from tikkun import cli
    from tikkun.outputs import atomic

    def full_disk(path, text, **kw):
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # as write_text makes them, before the bytes
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "write_text", full_disk)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kept").mkdir()
    monkeypatch.setattr(sys, "argv", ["tikkun", "explain", "--write", "kept/new/sub/m.md"])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    assert "--write kept/new/sub/m.md: cannot be written (No space left on device)" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["kept"]


def test_the_first_questions_recipe_gives_the_numbers_it_says(tmp_path):
    """`tikkun explain questions` gives three command lines for "one corrected soul" and what they
    show by year 1,039: run as written, they give those numbers (and the phi_s = 0 run shows the
    effect is the shepherds' light)."""
    import re
    import shlex

    import pandas as pd

    q = ex.QUESTIONS[0]
    commands = [c for c in re.findall(r"`(tikkun run [^`]*)`", q.measured) if "--souls 20000" in c]
    assert len(commands) == 2, commands
    plain, one = commands
    no_phi = one.replace("--out runs/one ", "--out runs/one-no-phi ") + " --set light.phi_s=0"
    assert "`--set light.phi_s=0 --out runs/one-no-phi`" in q.measured
    for command in (plain, one, no_phi):
        r = subprocess.run([sys.executable, "-m", "tikkun", *shlex.split(command)[1:], "-q", "--no-report"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (command, r.stderr)
    at = {}
    for name in ("none", "one", "one-no-phi"):
        m = pd.read_parquet(tmp_path / "runs" / name / "metrics.parquet")
        at[name] = m[m.year == 1039].iloc[0]
    assert (int(at["one"].complete), int(at["none"].complete), int(at["one-no-phi"].complete)) == (18_591, 9, 10)
    assert "18,591 of the 20,000 souls are complete against 9" in q.measured and "with phi_s = 0, 10" in q.measured
    c = f"C {at['one'].cleansing_mean:.3f} against {at['none'].cleansing_mean:.3f}"
    assert c == "C 0.985 against 0.004" and c in q.measured
    compare = re.search(r"`(tikkun compare [^`]*)`", q.measured).group(1)
    r = subprocess.run([sys.executable, "-m", "tikkun", *shlex.split(compare)[1:]], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and (tmp_path / "comparison.html").is_file(), r.stderr


def test_a_rule_may_be_named_as_the_claims_are_spelt():
    hyphen = subprocess.run([sys.executable, "-m", "tikkun", "explain", "good-and-pure"], capture_output=True,
                            text=True, timeout=300)
    underscore = subprocess.run([sys.executable, "-m", "tikkun", "explain", "good_and_pure"], capture_output=True,
                                text=True, timeout=300)
    assert hyphen.returncode == 0 and hyphen.stdout == underscore.stdout
    assert hyphen.stdout.startswith("## good_and_pure: ")


def test_explain_history_is_the_preset_with_a_reason_for_each_event(tmp_path):
    """`tikkun explain history` shows the history preset as shipped (read here from its TOML file,
    not through the scenario's code): the vessel's stages in order, every event with its years
    and what it sets, each with a reason whose quotations are passages explain gives word for
    word (scripts/check_passages.py checks those against the texts)."""
    import re
    import tomllib

    raw = tomllib.loads((ROOT / "src" / "tikkun" / "scenario" / "presets" / "history.toml").read_text())
    r = tikkun("explain", "history", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ex.history_text(), r.stderr
    text = r.stdout
    kinds = [st["kind"] for st in raw["genesis"]["stages"]]
    vessel = next(line for line in text.splitlines() if line.startswith("**The vessel**")).split("): ", 1)[1]
    assert re.sub(r" \([^)]*\)", "", vessel.split(". ")[0]).split(", ") == kinds, vessel
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| years")]
    for e in raw["events"]:
        span = f"{e['year']:,} on" if "until" not in e else f"{e['year']:,}-{e['until'] - 1:,}"
        what = f"`{e['key']}` = {e['value']}" if e["kind"] == "set" else f"`{e['key']}` x {e['factor']}"
        assert [row for row in rows if row.startswith(f"| {span} | {e['label']} |") and what in row], (e, rows)
    assert len(rows) == len({(e["year"], e.get("until"), e["label"]) for e in raw["events"]})
    passages = [words for ps in ex.PASSAGES.values() for _, words in ps]
    for label, reason in ex.HISTORY_REASONS.items():
        for quoted in re.findall("\u201c([^\u201d]+)\u201d", reason):
            assert any(quoted in words for words in passages), (label, quoted)
    # a label the preset gains without a reason is a failure, not a row without one
    assert {e["label"] for e in raw["events"]} == set(ex.HISTORY_REASONS)


def test_explain_claims_lists_every_experiment(tmp_path):
    """`tikkun explain claims`: every claim of MODEL.md's table, in its order, with the command
    that runs it; a misspelt topic is named with the topics."""
    from tikkun.experiments import EXPERIMENTS

    r = tikkun("explain", "claims", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ex.claims_text(), r.stderr
    heads = [line[3:] for line in r.stdout.splitlines() if line.startswith("## ")]
    assert heads == list(EXPERIMENTS)
    for name, x in EXPERIMENTS.items():
        assert f"`tikkun experiment {name}`" in r.stdout and x.claim in r.stdout
    r = tikkun("explain", "claim", cwd=tmp_path)
    assert r.returncode == 2 and "did you mean 'claims'" in r.stderr and "'history'" in r.stderr
