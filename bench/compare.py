"""Two saved `bench/quality.py` runs side by side, set by set and summed: questions right at rank 1, with the gold
within the first three, wrongly refused and rightly refused, as counts, and U, the questions whose first reply is
right (the gold sentence first, or "not in the articles" when the articles do not answer it). U weighs wrong
refusals against right abstentions with one number; hit3 beside it shows what refusing costs the reader.

    .venv/bin/python bench/quality.py --modes reranked > before.txt   # then, with the change, > after.txt
    .venv/bin/python bench/compare.py before.txt after.txt --apart eventletdoc,unseen20

A run saved in parts (`--sets`) is given as its files joined by commas. Sets named in --apart (written blind for
the change, say) are summed on their own; SciFact has no answerable/unanswerable split and is shown as it is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402
from quality_tables import saved_run  # noqa: E402

COUNTED = (("hit1", "right at rank 1", True), ("hit3", "hit3", True), ("wrong_abstain", "wrong refusals", True), ("abstain", "right abstentions", False))


def read(files: str, mode: str) -> dict[str, float]:
    """`set:metric` -> value of one mode's row, from one or more saved runs."""
    values: dict[str, float] = {}
    for file in files.split(","):
        header, rows = saved_run(Path(file).read_text(encoding="utf-8"))
        if mode not in rows:
            sys.exit(f"{file}: no '{mode}' row")
        values |= dict(zip(header, map(float, rows[mode])))
    return values


def sizes() -> dict[str, tuple[int, int]]:
    """Answerable and unanswerable questions of every registered set that has both."""
    sets = [quality.Dev(), *(s() for s in quality.UNSEEN.values()), *(s() for s in quality.DOCSETS.values()), quality.WikiQA()]
    return {s.name: (sum(r["answerable"] for r in s.rows), sum(not r["answerable"] for r in s.rows)) for s in sets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--mode", default="reranked")
    parser.add_argument("--apart", default="", help="comma-separated sets summed on their own (blind ones)")
    args = parser.parse_args()
    before, after = read(args.before, args.mode), read(args.after, args.mode)
    apart = set(filter(None, args.apart.split(",")))
    totals = {False: [[0, 0] for _ in COUNTED], True: [[0, 0] for _ in COUNTED]}
    for name, (answerable, unanswerable) in sorted(sizes().items()):
        if f"{name}:hit1" not in before or f"{name}:hit1" not in after:
            continue
        cells = []
        for i, (metric, label, of_answerable) in enumerate(COUNTED):
            n = answerable if of_answerable else unanswerable
            pair = [round(run[f"{name}:{metric}"] * n) for run in (before, after)]
            totals[name in apart][i][0] += pair[0]
            totals[name in apart][i][1] += pair[1]
            cells.append(f"{label} {pair[0]}->{pair[1]}")
        print(f"{name:14} " + "  ".join(cells) + ("  (apart)" if name in apart else ""))
    for kept_apart in (False, True) if apart else (False,):
        sums = totals[kept_apart]
        u = [sums[0][k] + sums[3][k] for k in (0, 1)]
        print(("apart " if kept_apart else "total ") + "  ".join(f"{label} {a}->{b}" for (_, label, _), (a, b) in zip(COUNTED, sums)) + f"  U {u[0]}->{u[1]} ({u[1] - u[0]:+d})")
    for key in ("wikiqa:f1", "scifact:ndcg", "dev:hit1", "dev:hit3", "dev:abstain"):
        if key in before and key in after:
            print(f"{key} {before[key]:.3f} -> {after[key]:.3f}")


if __name__ == "__main__":
    main()
