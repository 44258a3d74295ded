"""The rules of the model as text: equation, parameters, state, source (``tikkun explain``).

One :class:`Rule` for each rule of MODEL.md (a module of :mod:`tikkun.rules`, the creation of
the souls among them, or the genesis, or the clock). A rule names its scenario keys; their defaults, ranges
and meanings are read from the scenario's pydantic schema (:mod:`tikkun.scenario.schema`), so
the text cannot drift from the code, and ``docs/model.md`` is this text
(``tikkun explain --write docs/model.md``; a test checks that the file is current).

A parameter's **source** is the source of the rule that lists it: every key of the schema is
listed by at least one rule (a test fails for a key that is not, and for a key without a
description), and every rule cites the seed file and passage it expresses, paraphrased.
"""

from __future__ import annotations

import functools
import re

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal, Union

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .scenario.schema import GLOBAL_KEYS, Scenario, field_bounds, global_range_text, interval_text, number_text

#: Keys of the schema that label a scenario and parametrise no rule.
LABELS = ("name", "description")


@dataclass(frozen=True)
class Rule:
    """One rule of the model.

    name: what ``tikkun explain NAME`` takes; title: a line; module: where the code is;
    equation: the rule in symbols (lines of text); parameters: scenario keys or prefixes of
    keys (``"genesis"`` covers every ``genesis.`` key); reads / writes: fields of
    :class:`tikkun.state.State`; source: seed file and passage, paraphrased (at most a few
    words quoted; the words themselves are in :data:`PASSAGES`); note: what the code decides where the texts are silent, if anything.
    """

    name: str
    title: str
    module: str
    equation: str
    parameters: tuple[str, ...]
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    source: str
    note: str = ""


RULES: tuple[Rule, ...] = (
    Rule(
        "genesis", "The vessel, its stages and its breaking (phase 1)", "tikkun.genesis",
        "F[phi] = sum_x [ A (phi^2 - 1)^2 / 4 + lam phi^2 / 2 + kappa / 2 |grad phi|^2 ]\n"
        "d phi / dt = M laplacian(A (phi^3 - phi) + lam phi - kappa laplacian(phi)) - u . grad(phi)\n"
        "unity  = 1 - mean(phi^2)            mixing = 1 - mean(coarse_w(phi)^2)\n"
        "spark j: iota_j = clip(1 - phi(x_j)^2, 0, 1), x_j uniform on the grid",
        ("genesis",), (), ("unity", "worlds"),
        "000, second essay: two qualities that repel each other come to a common boundary; "
        "stirring or fusing them only sets them side by side; struck by the most powerful light "
        "they melt into a mutual quality and break; that unity holds only while the upper light "
        "maintains it.",
        "The grid's composition phi runs from -1 (reception, Malchut) to +1 (bestowal, Bina); u is the "
        "stirring's velocity (0 unless a stage stirs). Each "
        "stage of the script (separate, approach, stir, fuse, strike, maintain, withdraw, shatter) "
        "relaxes the field under its light; the broken vessel gives every spark its unity and the "
        "worlds their first unity. In the history (MODEL.md, revision 2) the breaking is the light "
        "leaving: the strike unites the two qualities while its light holds them, the withdraw takes "
        "the light away and the united mixture comes apart, and the shatter cuts the sparks, each "
        "keeping the unity its place still had; a withdraw of 80 leaves them a mean unity of one half "
        "(docs/genesis.md; `tikkun explain history`)."),
    Rule(
        "creation", "The souls and their sparks at year 0", "tikkun.rules.population",
        "e0_i ~ Gamma(effort_shape, effort_scale)     w_i ~ Beta(warmth_a, warmth_b)\n"
        "a_i ~ Beta(attachment_a, attachment_b)       h_i ~ LogNormal(0, hbd_sigma)\n"
        "sparks of soul i: 1 + Poisson(sparks_extra_mean);  D_j ~ LogNormal(0, size_sigma);  s_j = 0\n"
        "iota_j from the genesis, else ~ sparks.unity;  special: the top special_share of souls by h_i",
        ("souls", "sparks.size_sigma", "sparks.unity"), (),
        ("effort", "effort0", "warmth", "attachment", "hbd", "steadiness", "regain", "holding", "special",
         "complete", "completed_year", "shepherd", "spark_start", "size", "size_total", "unity", "screen"),
        "002: one soul, divided as if by the bodies into 600,000 souls, each into several sparks; "
        "the division is only in their measure of mind (HBD: Chochma, Bina, Daat); the soul of Moses is found only in "
        "the wise, the prophets and the priests (the special souls).",
        "Every draw is an inverse CDF of a counter-based uniform of (seed, soul or spark, purpose), "
        "so a soul's values do not depend on the population's size."),
    Rule(
        "clock", "One step a year, until the horizon or the end of correction", "tikkun.engine.core",
        "t = 0, 1, ..., years - 1;  stop after year t if stop_at_end and G(t) = 1",
        ("run",), ("weakest_link",), ("year",),
        "002: the 6,000 years; the end cannot come while the smallest part of any spark is missing.",
        "The order of a year: at a generation's start its shepherds step down; events on souls; "
        "the judge; the good and pure; the year's globals (light, practice, worlds, holiness, "
        "inclusion, shocks); the warm network; then one pass over the souls: aim, shocks, light, "
        "screens, greater desire, shepherds; last, the weakest link and the end of correction."),
    Rule(
        "events", "Events by year: the history is a list of them", "tikkun.rules.events",
        "set:   p(t) = value           for year <= t < until\n"
        "scale: p(t) = factor * p(t)   for year <= t < until   (in the order listed)\n"
        "shepherds / complete / reset / policy: applied to a group of souls at the start of `year`",
        ("events",), ("cleansing", "hbd", "effort", "warmth", "attachment"),
        ("shepherd", "complete", "completed_year", "screen", "cleansing", "holding", "effort", "effort0", "regain",
         "steadiness", "warmth", "attachment", "hbd", "edge_weight"),
        "002: the redemptions before the Messiah belonged to their generation (the Torah to the "
        "generation of the desert), light pulses of one generation; one man's complete repentance "
        "(a shepherd, or a soul made complete); the end withheld while a tiny part of a spark "
        "is missing (complete, sparing the smallest spark); the latecomer who gains his world in "
        "an hour (a reset).",
        "The global keys an event may set or scale, each within its range: "
        + ", ".join(f"`{k}` {global_range_text(k)}" for k in GLOBAL_KEYS)
        + "; a group is explicit souls, a range, a random share, or the lowest or highest in a field."),
    Rule(
        "generations", "Generations, judges and eras", "tikkun.rules.generations",
        "at t = 0, length, 2 length, ...: judge = the eligible soul of highest (or lowest, or random) c_i\n"
        "J = kappa0 + (1 - kappa0) * c_judge     (c_judge frozen for the generation)\n"
        "era: chaos before torah_from, Torah before messiah_from, then Messiah;\n"
        "eligible: special souls before the Messiah era, every soul in it",
        ("generations.length", "generations.judge", "generations.torah_from", "generations.messiah_from",
         "light.kappa0"), ("cleansing", "special"), ("judge", "judge_cleansing"),
        "002: a generation follows its judge and receives from the holiness of its time; before "
        "the end, special vessels (Moses, Samuel) were needed to anoint judges, while King David's "
        "vessel is in every soul.",
        "Ties in cleansing go to the lowest index; a random judge is a counter-based draw."),
    Rule(
        "good_and_pure", "Toward the good and pure", "tikkun.rules.good_and_pure",
        "every R years, each soul with probability p_rewire:\n"
        "  its neighbour of lowest c_m  ->  a soul drawn with probability c_m / sum(c)  (not itself, not a duplicate)",
        ("network.good_and_pure", "network.rewire_every", "network.p_rewire"),
        ("cleansing", "neighbours", "warmth"), ("neighbours", "edge_weight"),
        "004, the question (not its answer): the two things to improve now are to connect to people who "
        "are good and pure and to attain warm connection with others; the answer calls warmth not the main "
        "part and does not return to the good and pure. The rewiring is the model's reading of the question."),
    Rule(
        "worlds", "The four worlds that carry the light", "tikkun.rules.worlds",
        "lam_w = lam * prod_{w' above w} u_w'       iota_eq(lam) = min(1, lam / A)\n"
        "u_w <- u_w + rho * (iota_eq(lam_w) - u_w)  (Atzilut, Beria, Yetzira, Assiya)\n"
        "W = prod_w u_w                             (W = light.conductance when the worlds are off)",
        ("worlds", "light.conductance"), ("worlds",), ("worlds",),
        "000, end of the second essay: the worlds of ABYA, in which Bina and Malchut act as one, "
        "conduct the light that corrects the broken soul; that unity holds only while the upper "
        "light maintains it.",
        "A is the genesis' threshold (1 without a genesis); the worlds start at the broken "
        "vessel's unity, or at worlds.initial_unity."),
    Rule(
        "network", "The warm network (Friedkin-Johnsen)", "tikkun.rules.network",
        "e_i <- theta_i * sum_m w_m e_m / sum_m w_m + (1 - theta_i) * e0_i,   theta_i = theta_max * w_i\n"
        "(m over the k souls i listens to; a soul with no warm neighbour keeps e0_i)",
        ("network.enabled", "network.kind", "network.k", "network.rewired_share", "network.theta_max"),
        ("effort", "effort0", "warmth", "neighbours", "edge_weight"), ("effort", "effort_next", "neighbours"),
        "004: warm relationships with others counter the cold ones in the world; a cold "
        "neighbour carries nothing.",
        "The graph is built once (small world: a ring lattice with a share of edges rewired); the "
        "out-degree k stays fixed so rewiring happens in place."),
    Rule(
        "aim", "Keeping and catching the aim", "tikkun.rules.aim",
        "start of year: a soul without aim catches it again with probability r_i\n"
        "on a greater desire: a holding soul keeps aim with probability p_i\n"
        "hold_i = 1 while the aim is held (its own effort corrects nothing without it)",
        ("souls.steadiness", "souls.regain"), ("holding", "regain", "steadiness"), ("holding",),
        "000, first essay: each moment brings a greater desire, and the goal must be caught anew; "
        "it is to be reached now, not later (regain r = 1).",
        "The regain draw comes before the light, so r = 1 loses no year."),
    Rule(
        "impurity", "Shocks of impurity and holy coldness", "tikkun.rules.impurity",
        "N(t) ~ Poisson(rate(t)) shocks this year (rate: impurity.rate, scheduled by events)\n"
        "each spark of a soul that is not complete keeps (1 - K (1 - a_i))^N of its screen\n"
        "the soul keeps its aim with probability (1 - K (1 - a_i))^N; a complete soul loses nothing",
        ("impurity",), ("attachment", "screen", "holding", "complete"), ("screen", "holding"),
        "004: the kelipa, in this generation the media, manifest throughout the world; one who "
        "believes that no one has any control except Hashem is protected from all harm, and so "
        "attaches his soul to Hashem with a sense of nullification; warmth against cold "
        "relationships is 'not the main part that we need right now' (the model: warmth does not "
        "shield). 002: the particular soul is permanently completed (a complete soul is beyond "
        "the shocks: MODEL.md, revision 2, gives to complete souls what 002 says of the particular "
        "soul, the middle of its three times; docs/rules.md).",
        "The shocks' count is one counter-based draw a year, common to every soul."),
    Rule(
        "light", "The corrective light", "tikkun.rules.light",
        "ell_i = alpha * lam * W * J * (1 + beta * C) * h_i * [ hold_i * P * e_i * (eps + c_i) + phi_s * shepherd ]\n"
        "(lam, P: this year's light and practice; W: the worlds; J: the judge; C: last year's mean cleansing)",
        ("light.alpha", "light.light", "light.beta", "light.eps"),
        ("effort", "hbd", "holding", "cleansing", "cleansing_mean", "judge_cleansing", "shepherds", "worlds"), (),
        "002: Torah and Mitzva cleanse the body, and the common soul shines on it in proportion "
        "to that cleansing; a late soul gains its world in an hour through what its generation "
        "can draw; souls differ only in their HBD, a speed.",
        "alpha is the one calibrated rate (docs/calibration.md). The light of a year is used "
        "at once and not kept in the state. The equation's other symbols are other rules' (`tikkun explain "
        "RULE`, with their parameters): P `practice` (light.practice), W `worlds`, J `generations` "
        "(light.kappa0), phi_s `shepherds` (light.phi_s), e_i `network`, hold_i `aim`, c_i and C `cleansing`, "
        "h_i `creation`."),
    Rule(
        "practice", "The practice of Torah and Mitzva", "tikkun.rules.practice",
        "own light of a holding soul: P * e_i * (eps + c_i)     (P: light.practice this year, by events)",
        ("light.practice",), ("effort", "cleansing"), (),
        "002: Torah and Mitzva cleanse the body; the giving of the Torah belonged to the "
        "generation of the desert (that before it few practised is the history's reading, "
        "calibrated: docs/calibration.md).",
        "The shepherds' light does not pass through P. The history sets P low before the exodus "
        "(year 2,448) and 1 from then on."),
    Rule(
        "inclusion", "A spark included in the whole", "tikkun.rules.inclusion",
        "u_j(t) = iota_j + (1 - iota_j) * C(t-1)     (off: u_j = iota_j)",
        ("sparks.inclusion",), ("unity", "cleansing_mean"), (),
        "002: each part holds the whole, for all souls are to unite into one; a good soul draws "
        "on all the holiness before and after it. 000: only what the light has united can be "
        "corrected.",
        "A spark with no unity of its own (iota = 0) corrects only through the others: nothing "
        "while C = 0, ever faster as they correct."),
    Rule(
        "cleansing", "Screens, cleansing, degrees and the weakest link", "tikkun.rules.cleansing",
        "s_j <- min(s_j + u_j * ell_i, D_j)          (u_j: the spark's included unity, rule inclusion)\n"
        "c_i = sum_j s_j / sum_j D_j          C = mean_i c_i          G = min_j s_j / D_j\n"
        "degree_j = floor(L s_j / D_j); entering a new degree below L is a greater desire\n"
        "complete_i: s_j = D_j for every spark j of soul i (completed_year_i: the year it happened)",
        ("sparks.degrees",), ("size", "unity", "screen", "size_total", "spark_start", "cleansing_mean"),
        ("screen", "cleansing", "complete", "completed_year", "cleansing_mean", "weakest_link"),
        "002: the soul shines in proportion to its cleansing; the end cannot come while the "
        "smallest part of any spark is missing. 000: each step brings a greater desire.",
        "A spark's screen s_j is the correction it has gained so far, from 0 up to its size D_j. "
        "Completion reveals nothing further, so it is not a greater desire."),
    Rule(
        "shepherds", "Shepherds", "tikkun.rules.shepherds",
        "auto: in the Messiah era a complete soul becomes a shepherd and stays one\n"
        "events: only the souls that shepherds events name (before the Messiah era, to the end of their generation)\n"
        "shepherd = 1 once any shepherd exists: every soul receives phi_s in its light",
        ("light.phi_s", "generations.shepherds"), ("complete", "shepherd"), ("shepherd", "shepherds"),
        "002: Moses equals the 600,000 as their faithful shepherd; one soul wholly purified "
        "corrects its whole generation through it; the Torah was given to the desert generation "
        "alone; the Messiah is ready in every generation.",
        "A shepherds event before the Messiah era makes its souls complete for good, and shepherds "
        "until their generation ends."),
    Rule(
        "illumination", "Illumination (reported, never fed back)", "tikkun.rules.illumination",
        "I_i = lam * W * [ (1 - omega) * c_i + omega * G ]",
        ("light.omega",), ("cleansing", "weakest_link", "worlds"), (),
        "002: while one soul is not wholly pure, the holiness of every soul falls short; one "
        "worthy of the Shechina went without it because his generation was not; at the end all "
        "are equal (no HBD here)."),
    Rule(
        "stages", "Stages and journeys of a soul (reported labels)", "tikkun.rules.stages",
        "stage: spark if floor(L c_i) < 1; particular until complete; common once complete\n"
        "journey: Moses below c = 1/3, Joshua below 2/3, Solomon below 1, David once complete",
        ("sparks.degrees",), ("cleansing", "complete"), (),
        "002: the three times of a person (a spark, a particular soul, the common soul); in the "
        "exodus the soul of Moses appears on him, in the conquest Joshua, in the Temple Solomon; "
        "whoever purifies his soul is called King David."),
)

RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}

#: Each rule's passages, word for word (the seed's number, the words): the sentences its source
#: paraphrases, as a reader can find them in the seed texts (scripts/check_passages.py checks
#: them against the texts, which are not in the repository).
PASSAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "genesis": (
        ("000", "Prior to the breaking there were two incompatible qualities that did not overlap and even repelled each other: reception and bestowal."),
        ("000", "we can mix liquids together by way of vibration, or cause metals to merge together by way of fusion."),
        ("000", "under the influence of the most powerful Light, which comes from Zivug AB-SAG, they receive a blow and break."),
        ("000", "This unity is possible only when the Upper Light maintains it and does not let it disappear."),
    ),
    "creation": (
        ("002", "there is indeed only one soul in the world"),
        ("002", "saying that there are 600,000 souls and sparks of souls appears as though it is divided by the force of the body of each person."),
        ("002", "any division among them is only in their HBD, according to their measures."),
        ("002", "the soul of Moses, which is found in only the wise disciples in the generation, as well as in prophets and priests."),
    ),
    "clock": (
        ("002", "all the journeys that the whole world has experienced during the 6,000 years should be experienced by each individual soul."),
        ("002", "when a tiny part of a tiny spark is missing, the end will not be able to appear."),
    ),
    "events": (
        ("002", "the giving of the Torah belonged specifically to the generation of the desert and to Moses."),
        ("002", "If even one man came before his Master in complete repentance, the Messiah King would come at once."),
        ("002", "he will buy his world in one hour due to the ability of that generation"),
    ),
    "generations": (
        ("002", "each generation behaves according to its judge, by the mind that judges it, since it receives from the Kedusha of that time."),
        ("002", "special Kelim [vessels] were required for anointment of their judges, such as the souls of Moses and Samuel."),
        ("002", "His Kli is within each and every soul from Israel."),
    ),
    "good_and_pure": (
        ("004", "there are two parts for us to improve upon at this time, to connect to people who are good and pure and to attain connection of warmth with other people."),
    ),
    "worlds": (
        ("000", "the Worlds of ABYA, which conduct Light through the quality of Malchut and Bina as one whole, are able to correct the broken soul of Adam"),
        ("000", "This unity is possible only when the Upper Light maintains it and does not let it disappear."),
    ),
    "network": (
        ("004", "a person needs to build warm relationships with other people to counter all of the cold relationships that there are in the world."),
    ),
    "aim": (
        ("000", "a moment later he will receive a greater desire to enjoy, and then he will have to \u201ccatch\u201d the goal once again."),
        ("000", "You have to attain it right here and now, and not a moment later."),
    ),
    "impurity": (
        ("004", "the kelipa of the shaar hanun detuma has become physically manifest throughout the world."),
        ("004", "when a person believes that no one has any control other than Hashem, he is protected from all harm."),
        ("004", "But that is not the main part that we need right now."),
        ("002", "It is permanently completed, but its flaw is with it."),
    ),
    "light": (
        ("002", "by the force of the Torah and the Mitzva [commandment], the body is cleansed, and to the extent of its cleansing, the common soul shines on him."),
        ("002", "any division among them is only in their HBD, according to their measures."),
    ),
    "practice": (
        ("002", "by the force of the Torah and the Mitzva [commandment], the body is cleansed"),
        ("002", "the giving of the Torah belonged specifically to the generation of the desert and to Moses."),
    ),
    "inclusion": (
        ("002", "the whole is found within each item, since in the end, all the souls will unite into one discernment, returning to their spiritual root."),
        ("002", "The good soul draws to it from all the discernments of Kedusha before it and after it"),
        ("000", "Spiritual unity is when each one helps the other and each enters inside the other."),
    ),
    "cleansing": (
        ("002", "to the extent of its cleansing, the common soul shines on him."),
        ("002", "when a tiny part of a tiny spark is missing, the end will not be able to appear."),
    ),
    "shepherds": (
        ("002", "Because he was their faithful shepherd, he had the same Kedusha that the whole generation merited."),
        ("002", "when a single soul from Israel is purified from all its filth, it will draw onto itself the whole of the soul of Atzilut, and through it, all the souls of its generation will be corrected."),
        ("002", "the Messiah is ready for each and every generation."),
    ),
    "illumination": (
        ("002", "while even a single soul is denied of complete purity, the extension of this Kedusha [Holiness] will be deficient in every soul from Israel."),
        ("002", "It was befitting for the Shechina [Divinity] to be upon him, but his generation was unworthy of it."),
        ("002", "all are equal servants in restoring the old glory, and in this there are no degrees between one another."),
    ),
    "stages": (
        ("002", "This is the meaning of the three times of a person"),
        ("002", "During the exodus from Egypt and the reception of the Torah, the soul of Moses appears on him; in the seven that they conquered, the soul of Joshua; and in the building of the Temple, the soul of King Solomon"),
        ("002", "anyone who cleanses and purifies his soul to be worthy of extending the revelation of Malchut in the world will truly be called King David."),
    ),
}




#: The seed texts the sources name, by their file's number.
SOURCES = (
    ("000", "two short essays: \"Don't Lose Aim Of The Goal\" and \"Unity That Cannot Be Broken\""),
    ("002", "the essay \"600,000 Souls\""),
    ("004", "a question and its answer, \"Improvement at this Critical Time\""),
)


@dataclass(frozen=True)
class Question:
    """A reader's question and where the model answers it (``tikkun explain questions``).

    texts: what the seeds say, quoted word for word; model: how the rules express it; measured:
    what the runs show, and where; rules, claims, mechanisms: the names ``tikkun explain``,
    docs/claims.md and docs/mechanisms.md give them; see: where a run shows it."""

    question: str
    texts: str
    model: str
    measured: str
    rules: tuple[str, ...]
    claims: tuple[str, ...]
    mechanisms: tuple[str, ...]
    see: str


QUESTIONS: tuple[Question, ...] = (
    Question(
        "What does one corrected soul do to the 600,000?",
        "002: \"when a single soul from Israel is purified from all its filth, it will draw onto itself the whole "
        "of the soul of Atzilut, and through it, all the souls of its generation will be corrected\"; \"Moses is "
        "equal to 600,000\".",
        "a complete soul becomes a shepherd (in the Messiah era by itself; before it only when an event names it). "
        "From the year any shepherd exists, every soul's light gains phi_s, whether one soul is a shepherd or "
        "600,000: one gives each soul what all would. That light needs neither the practice P nor the aim.",
        "in the history nearly every soul is complete long before the Messiah era (C is near 1), so what the "
        "shepherds' light corrects is the last sparks (the weakest link G): the mechanism shepherds (none at all) "
        "shows that without it three seeds of five do not end by year 6,000 (the other two end before the "
        "Messiah era), and the claim one-for-all what one shepherd does to the end. "
        "Early in the history, when almost no soul is complete, three runs show what one soul's correction does "
        "and what it rests on (20,000 souls, seconds each): `tikkun run --souls 20000 --years 1100 --out runs/none`; "
        "`tikkun run --souls 20000 --years 1100 --out runs/one --event '{kind = \"shepherds\", year = 1000, group = "
        "{count = 1, lowest = \"cleansing\"}, label = \"one soul purified\"}'` (the least cleansed soul purified "
        "at year 1,000, a shepherd to its generation's end); and that one again with `--set light.phi_s=0 --out "
        "runs/one-no-phi`. By year 1,039, the generation's last, 18,591 of the 20,000 souls are complete against 9 "
        "without the purified soul (C 0.985 against 0.004, seed 20; at 600,000 souls, "
        "the same commands without `--souls 20000`: 590,936 against 970, C 0.997 against 0.011), and with "
        "phi_s = 0, 10 (the purified soul and the 9): what one soul does is the shepherds' "
        "light phi_s, which the equations give every soul once any shepherd stands (by construction, as the claim "
        "one-for-all says); what the runs measure is how much that light corrects, and how soon. `tikkun compare "
        "runs/none runs/one runs/one-no-phi --year 1039 --from 950` draws the three together, from year 950.",
        ("shepherds", "light"), ("one-for-all",), ("shepherds",),
        "report.html, \"Shepherds and the network\" and \"Correction\" (G); the dashboard's \"one soul purified "
        "in year\" (the same event; at the page's smaller populations the history's years differ, as its status "
        "line says) and its knob phi_s, the light every soul receives while a shepherd stands",
    ),
    Question(
        "What does the Torah change?",
        "002: \"by the force of the Torah and the Mitzva [commandment], the body is cleansed, and to the extent of "
        "its cleansing, the common soul shines on him\"; \"the giving of the Torah belonged specifically to the "
        "generation of the desert and to Moses\".",
        "the practice P multiplies a soul's own light. The history sets P low before the giving of the Torah "
        "(the few who practised: a calibrated number, docs/calibration.md) and 1 from the exodus on. The era of "
        "Torah (from year 2,000) is MODEL.md's division of the 6,000 years, not the seeds'; the Torah is given at "
        "the exodus (2,448), an event.",
        "the mechanism torah keeps the few's practice to the end: C stays low until the Messiah era's shepherds "
        "shine on every soul, and no seed ends by year 6,000; of all the mechanisms switched off it moves C the "
        "most (docs/calibration.md, \"What the history shows\").",
        ("practice", "light", "events"), (), ("torah",),
        "report.html, \"Effort and aim\" (the practice P) and \"Correction\" (C rising after the exodus); "
        "the souls just before and after the giving: `tikkun run --souls-at 2447 --souls-at 2500` (then report.html's "
        "section of the souls kept); the dashboard's knob P (the practice after the Torah)",
    ),
    Question(
        "Why does one missing spark matter?",
        "002: \"when a tiny part of a tiny spark is missing, the end will not be able to appear\"; \"while even a "
        "single soul is denied of complete purity, the extension of this Kedusha [Holiness] will be deficient in "
        "every soul from Israel\".",
        "the weakest link G is the least corrected share of any spark of any soul, and the end of correction is "
        "G = 1: one spark not wholly corrected holds the end back. Every soul's illumination has the share "
        "omega of G in it, so while a spark is missing even a complete soul shines short of full, by omega (1 - G).",
        "the claim missing-spark completes every soul but the smallest spark: while the spark is missing the end "
        "does not come and the complete souls shine below full, but the light of that year or of a few more fills "
        "the spark, so the end waits only that long (the claim does not hold as stated: "
        "docs/claims-discussion.md). In the history, C is near 1 for millennia before the end: the end waits for "
        "the last sparks (G).",
        ("cleansing", "illumination", "clock"), ("missing-spark",), (),
        "report.html, \"Correction\": C against G, and G on a logarithmic scale",
    ),
    Question(
        "What does connecting to the good and pure do?",
        "004, the question: the two things to improve are \"to connect to people who are good and pure and to "
        "attain connection of warmth with other people\"; the answer calls warmth \"not the main part that we "
        "need right now\" and puts first attaching the soul to Hashem. What the good and pure do, the text "
        "does not say: the model's reading is below.",
        "every R years some souls replace their least cleansed neighbour by a soul drawn in proportion to its "
        "cleansing; a neighbour's effort reaches a soul through the warm network, in proportion to the "
        "neighbour's warmth. Attachment (holy coldness) shields from the shocks of impurity; warmth does not.",
        "the claim good-and-pure (rewiring on against off): with rewiring the end of correction comes sooner in "
        "every seed (in one, only with it by year 6,000); the mechanism good-and-pure is the same switch in the "
        "history. The claim warmth-and-coldness compares warmth and attachment under shocks: attachment wins "
        "only where shocks are frequent (it does not hold as stated: docs/claims-discussion.md).",
        ("good_and_pure", "network", "impurity"), ("good-and-pure", "warmth-and-coldness"), ("good-and-pure",),
        "report.html, \"Shepherds and the network\" (the souls rewired); the graph after every rewiring: "
        "`tikkun run --save-network` (network.npy, whom each soul listens to at the end); the dashboard's knobs "
        "of warmth and attachment",
    ),
)


# ------------------------------------------------------------------ the schema's keys
@dataclass(frozen=True)
class Parameter:
    """A leaf key of the scenario schema: ``key`` (``light.alpha``,
    ``events[scale].factor``, ``sparks.unity[beta].a``), its default (``PydanticUndefined``
    when required), its range and its description."""

    key: str
    default: Any
    range: str
    description: str


def _models_in(annotation) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds: itself, the members of a union, the items of
    a list or tuple (Optional and Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if origin in (Union, types.UnionType, list, tuple):
        return [m for a in typing.get_args(annotation) if a is not Ellipsis for m in _models_in(a)]
    return []


def _union_tag(model: type[BaseModel]) -> str | None:
    """The ``kind`` a member of a discriminated union is chosen by, or None."""
    f = model.model_fields.get("kind")
    if f is not None and typing.get_origin(f.annotation) is Literal and len(typing.get_args(f.annotation)) == 1:
        return typing.get_args(f.annotation)[0]
    return None


def _range(field) -> str:
    """The values the schema accepts, from the field's type and its ge/gt/le/lt constraints."""
    ann = field.annotation
    options = [a for a in (typing.get_args(ann) if typing.get_origin(ann) in (Union, types.UnionType) else (ann,))
               if a is not type(None)]
    if len(options) == 1:
        ann = options[0]
    if typing.get_origin(ann) is Literal:
        return "one of " + ", ".join(str(v) for v in typing.get_args(ann))
    if ann is bool:
        return "true or false"
    if ann is str:
        return "text"
    if typing.get_origin(ann) in (list, tuple):
        return "a list"
    lo, hi, lo_open, hi_open = field_bounds(field)
    if lo is None and hi is None:
        return "any number" if ann in (int, float) else ""
    return interval_text(lo, hi, lo_open, hi_open)


def _default(field):
    return field.default if field.default_factory is None else field.default_factory()


def parameters(model: type[BaseModel] = Scenario, prefix: str = "") -> Iterator[Parameter]:
    """Every key of the schema under ``model``, in the schema's order.

    Sections are walked into. A field holding a choice of models (a union: the events, a
    spark unity distribution), a list of them (the genesis stages) or an optional one (the
    genesis) is a key of its own, then its members' keys follow, a union's named by their kind
    in brackets (``events[scale].factor``; the ``kind`` that names them is not repeated)."""
    tag_of_model = _union_tag(model)
    for name, field in model.model_fields.items():
        if name == "kind" and tag_of_model is not None and prefix.endswith(f"[{tag_of_model}]"):
            continue
        key = f"{prefix}.{name}" if prefix else name
        inner = _models_in(field.annotation)
        if not inner:
            yield Parameter(key, _default(field), _range(field), (field.description or "").strip())
            continue
        plain_section = len(inner) == 1 and field.annotation is inner[0]
        tags = [_union_tag(m) for m in inner]
        union = len(inner) > 1 and all(tags)
        if not plain_section:
            listed = typing.get_origin(field.annotation) in (list, tuple)
            if union:
                what = ("a list, each one of " if listed else "one of ") + ", ".join(tags)
            else:
                what = "a list" if listed else "a section, or none"
            yield Parameter(key, _default(field), what, (field.description or "").strip())
        for m, tag in zip(inner, tags):
            yield from parameters(m, f"{key}[{tag}]" if union else key)


def covers(pattern: str, key: str) -> bool:
    """Whether a rule's ``pattern`` (a key or a prefix of keys) covers ``key``."""
    return key == pattern or key.startswith(pattern + ".") or key.startswith(pattern + "[")


def rules_of(key: str) -> list[Rule]:
    """The rules that list ``key`` among their parameters."""
    return [r for r in RULES if any(covers(p, key) for p in r.parameters)]


def problems(schema: type[BaseModel] = Scenario) -> list[str]:
    """What keeps the text from covering ``schema``: a key without a description, a key no
    rule lists (so without a source), a rule pattern that matches no key, a state field that
    does not exist. Empty when all is well."""
    from .state import State

    out = []
    keys = list(parameters(schema))
    for p in keys:
        if not p.description:
            out.append(f"{p.key}: no description in the schema (add description= to its Field)")
        if p.key not in LABELS and not rules_of(p.key):
            out.append(f"{p.key}: no rule in tikkun/explain.py lists it, so it has no source "
                       "(add it to the parameters of the rule it belongs to)")
    fields = set(State.__dataclass_fields__)
    for r in RULES:
        for pattern in r.parameters:
            if not any(covers(pattern, p.key) for p in keys):
                out.append(f"rule {r.name}: parameter {pattern!r} is no key of the schema")
        for f in r.reads + r.writes:
            if f not in fields:
                out.append(f"rule {r.name}: {f!r} is no field of tikkun.state.State")
        if not r.source.strip():
            out.append(f"rule {r.name}: no source")
    return out


# ------------------------------------------------------------------ text
def _fmt_default(v) -> str:
    if v is PydanticUndefined:
        return "required"
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, BaseModel):
        d = v.model_dump(mode="json")
        if "kind" in d and len(d) > 1:
            kind = d.pop("kind")
            return f"{kind}(" + ", ".join(f"{k}={_fmt_default(x)}" for k, x in d.items()) + ")"
        return "{" + ", ".join(f"{k}={_fmt_default(x)}" for k, x in d.items()) + "}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt_item(x) for x in v) if v else "[]"
    if isinstance(v, (int, float)):
        return number_text(v)
    return str(v)


def _fmt_item(x) -> str:
    """A model in a list by its kind and what differs from its defaults: ``strike(duration=12000, light=1.5)``."""
    if not isinstance(x, BaseModel):
        return _fmt_default(x)
    kind = getattr(x, "kind", type(x).__name__)
    changed = {k: v for k, v in x.model_dump().items() if k != "kind" and v != _default(type(x).model_fields[k])}
    return kind + (f"({', '.join(f'{k}={_fmt_default(v)}' for k, v in changed.items())})" if changed else "")


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def rule_list() -> str:
    """The rules, one a line (``tikkun explain`` without an argument); then what the sources'
    numbers name, and the questions."""
    width = max(len(r.name) for r in RULES)
    lines = [f"{r.name:<{width}}  {r.title}" for r in RULES]
    lines += ["", "Each rule's source names a seed text by its number (tikkun explain NUMBER: the rules citing it):"]
    lines += [f"  {number}  {what}" for number, what in SOURCES]
    lines += ["", f"tikkun explain {QUESTIONS_TOPIC}: a reader's questions (one corrected soul and the 600,000, "
              "the Torah, one missing spark, the good and pure) and where the model answers them.",
              f"tikkun explain {HISTORY_TOPIC}: the default history (what `tikkun run` runs): the vessel, the eras, "
              "every event and why.",
              f"tikkun explain {CLAIMS_TOPIC}: the claims of the texts, as experiments (their verdicts: "
              "docs/claims.md)."]
    return "\n".join(lines) + "\n"


def cites(rule: "Rule", number: str) -> bool:
    """Whether a rule's source names the seed text ``number`` (``"002"``)."""
    # a number of its own: not the thousands of "600,000" or "6,000"
    return re.search(rf"(?<![\d,]){re.escape(number)}(?!\d)", rule.source) is not None


def source_text(number: str) -> str:
    """``tikkun explain NUMBER``: what the seed text is, and every rule whose source cites it,
    with the passage the rule paraphrases."""
    what = dict(SOURCES)[number]
    lines = [f"{number}: {what}", "", "The rules that cite it (tikkun explain RULE for each):", ""]
    for r in RULES:
        if cites(r, number):
            lines += [f"{r.name}: {r.title}", f"  {r.source}"]
            lines += [f"  \u201c{words}\u201d" for n, words in PASSAGES[r.name] if n == number]
            lines += [""]
    return "\n".join(lines)


#: What ``tikkun explain`` takes, besides a rule's name, for :func:`questions_text`.
QUESTIONS_TOPIC = "questions"


@functools.cache
def _history_population() -> tuple[int, float]:
    """The ``history`` preset's souls and share of special souls (the dashboard asks at each
    change of its status line: read once)."""
    from .scenario.loading import _parse_toml, build_scenario, preset_text

    preset = build_scenario(_parse_toml(preset_text("history"), "preset history"), "preset history")
    return preset.souls.count, preset.souls.special_share


def population_note(sc: Scenario) -> str | None:
    """What a reader of the ``history`` preset run at another number of souls should know, or
    None: its numbers (MODEL.md's calibration) are for the texts' 600,000 souls, and two of its
    figures depend on how many there are (the end waits for the largest sparks, the judges are
    chosen among the special souls, a share of them). Said by ``tikkun run`` and the dashboard before a run."""
    if sc.name != "history":
        return None
    calibrated, share = _history_population()
    n = sc.souls.count
    if n == calibrated:
        return None
    # the special souls as the population makes them (rules.population: the top share by hbd, rounded)
    special, full = round(sc.souls.special_share * n), round(share * calibrated)
    end = ("the end comes sooner (the largest sparks, which it waits for, are smaller among fewer)"
           if n < calibrated else "the end moves (the largest of more sparks decide it)")
    judges = (f"each generation's judge is chosen among {special:,} special soul{'' if special == 1 else 's'}, "
              f"not {full:,}" if special else
              f"no soul is special (the history has {full:,}), so no generation has a judge before the Messiah era")
    return (f"the history is calibrated for {calibrated:,} souls (docs/calibration.md); at {n:,} {end} and {judges}: "
            "its years are not the history's")


def genesis_note(sc: Scenario) -> str | None:
    """What a reader of a genesis script that does not end in ``shatter`` should know, or None:
    the sparks are cut from the vessel all the same (MODEL.md, Shatter: drawn from the final
    field), as the script's last stage leaves it, unbroken by the script. Said by
    ``tikkun run`` and ``tikkun genesis`` before the vessel is made."""
    if sc.genesis is None or sc.genesis.stages[-1].kind == "shatter":
        return None
    last = sc.genesis.stages[-1].kind
    return (f"genesis.stages ends with {last!r}, not 'shatter' (000: \"they receive a blow and break\"): the sparks are cut all the "
            f"same, from the vessel as the {last} leaves it; add {{kind = \"shatter\"}} as the last stage to "
            "say so")


#: What ``tikkun explain`` takes for :func:`history_text` and :func:`claims_text`.
HISTORY_TOPIC = "history"
CLAIMS_TOPIC = "claims"

#: Why each event of the ``history`` preset is there, by its label: the passage it expresses and
#: whether its number is calibrated or chosen (a test checks every label of the preset has one).
HISTORY_REASONS: dict[str, str] = {
    "before the Torah": "002: \u201cby the force of the Torah and the Mitzva [commandment], the body is "
                        "cleansed\u201d; before the Torah was given (the exodus, 2,448) few practised, and from then "
                        "on P is 1 (the default). Calibrated with light.alpha so that C at year 2,448 lies between "
                        "0.02 and 0.1 (docs/calibration.md)",
    "exodus": "002: \u201cthe giving of the Torah belonged specifically to the generation of the desert and to "
              "Moses\u201d: a redemption before the Messiah era is one generation's, a pulse of light for 40 years",
    "conquest": "002: the soul of Joshua \u201cin the seven that they conquered\u201d: a pulse of one generation",
    "temple": "002: the soul of King Solomon \u201cin the building of the Temple\u201d: a pulse of one generation",
    "first exile": "the light hidden below the threshold A = 1, so the four worlds sink (000: the unity holds only "
                   "while the Upper Light maintains it; W falls toward 0.95^15 = 0.46), and the kelipa's shocks "
                   "(004) at 0.05 a year (MODEL.md's starting values). Chosen, with reasons: docs/calibration.md",
    "long exile": "as the first exile, from the second Temple's fall to the last centuries. Chosen, with reasons: "
                  "docs/calibration.md",
    "the media": "004: \u201cthe kelipa of the shaar hanun detuma has become physically manifest throughout the "
                 "world\u201d (in this generation, the media): the light returns, the shocks come at 0.1 a year, "
                 "twice the exiles' rate (MODEL.md's starting values; chosen, docs/calibration.md)",
}


@functools.cache
def _preset(name: str) -> Scenario:
    from .scenario.loading import _parse_toml, build_scenario, preset_text

    return build_scenario(_parse_toml(preset_text(name), f"preset {name}"), f"preset {name}")


def _years(year: int, until: int | None) -> str:
    return f"{year:,} on" if until is None else f"{year:,}-{until - 1:,}"


def _event_does(e) -> str:
    if e.kind == "set":
        return f"`{e.key}` = {e.value!r}"  # as shipped, every digit: the shortest text that reads back the same
    if e.kind == "scale":
        return f"`{e.key}` x {e.factor!r}"
    return e.kind  # an event on souls


def history_text() -> str:
    """``tikkun explain history``: the default history (the ``history`` preset, MODEL.md
    revision 2, "The default history"), read from the preset: the vessel's stages, the eras,
    every event with its years, what it sets and why (:data:`HISTORY_REASONS`), in Markdown."""
    sc = _preset("history")
    g = sc.generations
    stages = []
    for st in sc.genesis.stages:
        extra = [f"{st.duration:,g}"] if st.duration else []
        extra += [f"light {st.light:g}"] if st.kind == "strike" else []
        stages.append(f"{st.kind}" + (f" ({', '.join(extra)})" if extra else ""))
    lines = [
        "# The default history (the `history` preset; MODEL.md revision 2, \u201cThe default history\u201d)", "",
        f"`tikkun run` runs it: seed {sc.run.seed}, {sc.souls.count:,} souls, up to {sc.run.years:,} years. The "
        "defaults `tikkun explain RULE` prints are the schema's, for a scenario that sets nothing; the history "
        "sets what follows (src/tikkun/scenario/presets/history.toml).", "",
        f"**The vessel** ({sc.genesis.n} x {sc.genesis.n}, `tikkun explain genesis`): " + ", ".join(stages)
        + ". The breaking is the light leaving (revision 2): the withdraw's length is chosen so that the sparks "
        "keep a mean unity of one half (docs/genesis.md).", "",
        f"**The eras** (`tikkun explain generations`): chaos before year {g.torah_from:,}, the Torah to "
        f"{g.messiah_from:,}, then the Messiah era; generations of {g.length} years, each following its judge "
        f"(the {g.judge} cleansing among the eligible souls); shepherds `{g.shepherds}` (in the Messiah era a "
        "complete soul becomes one).", "",
        "**The events** (`tikkun explain events`), in the order they are applied:", "",
        "| years | event | sets | why |", "|---|---|---|---|",
    ]
    rows: list[tuple[tuple, list[str]]] = []  # events of one label and span in one row
    for e in sc.events:
        span = (e.year, getattr(e, "until", None), e.label)
        if rows and rows[-1][0] == span:
            rows[-1][1].append(_event_does(e))
        else:
            rows.append((span, [_event_does(e)]))
    for (year, until, label), does in rows:
        lines.append(f"| {_years(year, until)} | {label} | {'; '.join(does)} | {_cell(HISTORY_REASONS[label])} |")
    lines += ["", f"**Calibrated** (docs/calibration.md: a calibration, not a prediction): `light.alpha` = "
              f"{sc.light.alpha:g} and the practice before the Torah, so that C at year 2,448 and the end year of "
              "seed 20 fall in MODEL.md's windows. **Chosen**, with reasons there: the withdraw's duration, the "
              "exiles' light and the shocks' rates. Every other number is MODEL.md's default.", "",
              "Each mechanism of the history switched off in turn, over seeds 20-24, with its effect and spread: "
              "docs/mechanisms.md (`python scripts/mechanisms.py`). The claims tested on it: `tikkun explain "
              "claims`.", ""]
    return "\n".join(lines)


def claims_text() -> str:
    """``tikkun explain claims``: every claim of MODEL.md's table as an experiment: what the
    texts say, the passage, the arms and how to run it; the verdicts are measured
    (docs/claims.md), not stated here."""
    from .experiments import EXPERIMENTS

    lines = ["# The claims of the texts, as experiments", "",
             "Each claim is an experiment whose arms differ in one thing, run over seeds; `tikkun experiment NAME` "
             "runs one and gives a verdict measured from the runs (`holds`, `does not hold` or `not tested`). The "
             "verdicts, their numbers and spread for seeds 20-24: docs/claims.md (why three do not hold: "
             "docs/claims-discussion.md).", ""]
    for x in EXPERIMENTS.values():
        lines += [f"## {x.name}", "", f"- **The claim.** {x.claim}", f"- **Source.** {x.source}",
                  "- **Arms.** " + "; ".join(f"`{a.name}`" for a in x.arms)
                  + f" (on the `{x.base}` preset, {x.souls:,} souls, {x.years:,} year{'' if x.years == 1 else 's'})",
                  f"- **Run it.** `tikkun experiment {x.name}`", ""]
    return "\n".join(lines)


def questions_text() -> str:
    """A reader's questions, each with what the texts say, how the model expresses it, what the
    runs measure and where to look (``tikkun explain questions``), in Markdown."""
    lines = ["# Questions, and where the model answers them", "",
             "Each question: what the seed texts say (quoted), how the rules express it, what the runs "
             "measure, and where to look. A rule: `tikkun explain RULE`; a claim: its section in docs/claims.md "
             "(`tikkun experiment NAME` runs it); a mechanism: its row in docs/mechanisms.md (the history with "
             "that one thing switched off). C is the mean cleansing of the souls, G the weakest link (the least "
             "corrected share of any spark); both run from 0 to 1.", ""]
    for q in QUESTIONS:
        lines += [f"## {q.question}", "",
                  f"- **The texts.** {q.texts}",
                  f"- **The model.** {q.model[0].upper()}{q.model[1:]}",
                  f"- **Measured.** {q.measured[0].upper()}{q.measured[1:]}",
                  "- **Where.** rules: " + ", ".join(f"`{r}`" for r in q.rules)
                  + ("; claims: " + ", ".join(f"`{c}`" for c in q.claims) if q.claims else "")
                  + ("; mechanisms: " + ", ".join(f"`{m}`" for m in q.mechanisms) if q.mechanisms else "")
                  + f"; in a run: {q.see}.", ""]
    return "\n".join(lines)


def rule_text(name: str) -> str:
    """The whole text of one rule, in Markdown (``tikkun explain NAME``)."""
    r = RULES_BY_NAME[name]
    keys = [p for p in parameters() if any(covers(pat, p.key) for pat in r.parameters)]
    lines = [f"## {r.name}: {r.title}", "", f"Code: `{r.module}`", "", "```"]
    lines += r.equation.splitlines()
    lines += ["```", "", f"**Source.** {r.source}", ""]
    lines += ["**In the texts**, word for word:", ""] + [f"- {n}: \u201c{words}\u201d" for n, words in PASSAGES[r.name]]
    lines += [""]
    if r.note:
        lines += [r.note, ""]
    lines += [f"- **Reads** (state): {', '.join(f'`{f}`' for f in r.reads) or 'nothing'}.",
              f"- **Writes** (state): {', '.join(f'`{f}`' for f in r.writes) or 'nothing (reported or used within the year)'}.",
              "", "| parameter | default | range | meaning |", "|---|---|---|---|"]
    lines += [f"| `{p.key}` | {_cell(_fmt_default(p.default))} | {_cell(p.range)} | {_cell(p.description)} |"
              for p in keys]
    if r.name == "events":
        lines += ["", "The global parameters a `set` or `scale` event may change, and the range each must keep "
                  "in every year (a `set` value, and what a `scale` makes of the year's value):", "", "| key | range |", "|---|---|"]
        ranges = {q.key: q.range for q in parameters()}  # an event's range is its key's own
        lines += [f"| `{k}` | {ranges[k]} |" for k in GLOBAL_KEYS]
    return "\n".join(lines) + "\n"


def model_markdown() -> str:
    """docs/model.md: every rule's text, after a list of the rules."""
    head = [
        MODEL_MARKDOWN_HEAD.rstrip("\n"),
        "",
        "Generated by `tikkun explain --write docs/model.md` from the code (`src/tikkun/explain.py` and",
        "the scenario schema): do not edit by hand; a test checks that this file is current.",
        "`tikkun explain RULE` prints one rule. The sources are the three seed texts: **000** (keeping",
        "aim of the goal; unity through the breaking), **002** (the essay on 600,000 souls), **004**",
        "(warmth, purity and holy coldness). A parameter's source is the source of the rule that lists it;",
        "ranges are those the scenario validates, in interval notation. The defaults are the schema's;",
        "the default history (`tikkun run`) sets more: `tikkun explain history` lists it, event by event.",
        "",
        "| rule | what it is | code |",
        "|---|---|---|",
    ]
    head += [f"| [{r.name}](#{_anchor(f'{r.name}: {r.title}')}) | {r.title} | `{r.module}` |"
             for r in RULES]
    return "\n".join(head) + "\n\n" + "\n".join(rule_text(r.name) for r in RULES)


#: The first line of :func:`model_markdown`: ``explain --write`` replaces a file only if it starts so.
MODEL_MARKDOWN_HEAD = "# The model, rule by rule\n"


def written_by_explain(path: Path) -> bool:
    """Whether ``path`` holds an earlier ``explain --write`` (its first line), so that writing
    over it loses nothing of a user's."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(MODEL_MARKDOWN_HEAD)) == MODEL_MARKDOWN_HEAD.encode()
    except OSError:
        return False


def _anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    keep = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return keep.replace(" ", "-")


def unknown_rule_message(name: str) -> str:
    import difflib

    topics = (QUESTIONS_TOPIC, HISTORY_TOPIC, CLAIMS_TOPIC)
    close = difflib.get_close_matches(name, [*RULES_BY_NAME, *topics], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    texts = ", ".join(n for n, _ in SOURCES)
    return (f"no rule {name!r}{hint}; the rules: {', '.join(RULES_BY_NAME)} (or {', '.join(map(repr, topics))}, "
            f"or a seed text: {texts})")


__all__ = ["RULES", "RULES_BY_NAME", "Rule", "Parameter", "QUESTIONS", "Question", "SOURCES", "parameters", "problems",
           "questions_text", "history_text", "claims_text", "rule_list", "rule_text", "source_text", "cites",
           "model_markdown", "rules_of", "covers", "unknown_rule_message"]
