"""Check that every passage ``tikkun explain`` gives word for word is in the seed texts.

The seed texts are not in the repository; give their folder (files named by their number,
``000_*.txt``, ``002_*.txt``, ``004_*.txt``):

    python scripts/check_passages.py SEEDS_DIR

Each rule's passages (``tikkun.explain.PASSAGES``), each question's quotations (the words
between double quotes in ``QUESTIONS[i].texts``) and the quotations of the history's reasons
(between typographic quotes in ``HISTORY_REASONS``, under the seed each names first) are looked
for in the text of the seed they name, whitespace and the typographic apostrophe made plain on
both sides. Prints what is not found and exits 1 if anything is not.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tikkun.explain import HISTORY_REASONS, PASSAGES, QUESTIONS


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u2018", "'")).strip()


def main() -> int:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        print(__doc__.strip().splitlines()[0] + "\nusage: python scripts/check_passages.py SEEDS_DIR", file=sys.stderr)
        return 2
    seeds = {}
    for f in sorted(Path(sys.argv[1]).glob("[0-9][0-9][0-9]_*.txt")):
        if "reflowed" not in f.name:
            seeds[f.name[:3]] = plain(f.read_text(encoding="utf-8"))
    wanted = [(f"rule {rule}", n, words) for rule, passages in PASSAGES.items() for n, words in passages]
    for q in QUESTIONS:
        wanted += [(f"question {q.question!r}", q.texts[:3], words) for words in q.texts.split('"')[1::2]]
    for label, reason in HISTORY_REASONS.items():
        for words in re.findall("\u201c([^\u201d]+)\u201d", reason):
            seed = re.search(r"\b(000|002|004)\b", reason).group(1)
            wanted.append((f"history {label!r}", seed, words))
    missing = [(who, n, words) for who, n, words in wanted if n not in seeds or plain(words) not in seeds[n]]
    for who, n, words in missing:
        print(f"not in {n}: {who}: {words}")
    print(f"{len(wanted) - len(missing)} of {len(wanted)} passages found word for word")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
