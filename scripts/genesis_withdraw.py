"""The withdraw's duration against the unity the sparks keep: the table of docs/genesis.md,
"The withdraw's duration is chosen, not calibrated".

For each duration of the ``withdraw`` stage, the history's genesis script (``separate``,
``approach`` 100, ``strike`` at light 1.5 for 12,000, ``withdraw``, ``shatter``) on the
default 256 x 256 vessel is run with the seed, and the broken vessel is cut into sparks with
the entity ids 0 .. sparks - 1 (:func:`tikkun.genesis.shatter_unity`). Prints the table as
Markdown: the vessel's unity and mixing, the sparks' mean, 10th percentile and median unity,
and the share of sparks below 0.05. A few seconds on 2 cores.

    python scripts/genesis_withdraw.py [--seed 20] [--sparks 400000] [--durations 0 20 40 60 80 100 200]
"""

from __future__ import annotations

import argparse

import numpy as np

from tikkun.genesis import run_genesis, shatter_unity
from tikkun.scenario.genesis import GenesisConfig, Stage


def script(withdraw: float) -> tuple[Stage, ...]:
    """The history's genesis with a withdraw of ``withdraw`` time units."""
    return (Stage(kind="separate"), Stage(kind="approach", duration=100.0),
            Stage(kind="strike", duration=12_000.0, light=1.5), Stage(kind="withdraw", duration=float(withdraw)),
            Stage(kind="shatter"))


def row(withdraw: float, seed: int, sparks: int) -> dict:
    result = run_genesis(GenesisConfig(stages=script(withdraw)), seed)
    unity = shatter_unity(result.field, np.arange(sparks, dtype=np.int64), seed).astype(np.float64)
    return {"withdraw": withdraw, "unity": result.final_unity, "mixing": float(result.records["mixing"][-1]),
            "mean": float(unity.mean()), "p10": float(np.percentile(unity, 10)),
            "median": float(np.median(unity)), "below": float(np.mean(unity < 0.05))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--sparks", type=int, default=400_000)
    ap.add_argument("--durations", type=float, nargs="+", default=[0, 20, 40, 60, 80, 100, 200])
    args = ap.parse_args(argv)
    print("| withdraw | vessel's unity | mixing | sparks' mean unity | 10th percentile | median | sparks below 0.05 |")
    print("|---|---|---|---|---|---|---|")
    for w in args.durations:
        r = row(w, args.seed, args.sparks)
        print(f"| {w:g} | {r['unity']:.3f} | {r['mixing']:.3f} | {r['mean']:.3f} | {r['p10']:.3f} | "
              f"{r['median']:.3f} | {100 * r['below']:.1f}% |")


if __name__ == "__main__":
    main()
