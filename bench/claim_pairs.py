"""How often "also in" merges two sentences that state the same claim, on bench/sets/claim-pairs.jsonl.

Each pair is two sentences from two articles, labelled same (one claim in other words), related
(same subject, another claim; code lines and boilerplate too) or contradicting (one denies or reverses
the other). A pair is merged when select.group_duplicates puts the two in one group, weighing terms by
the IDF of the corpus the pair comes from (python documentation pairs: the git documentation's).
Prints, per label, how many pairs merge, and the merge rule's precision (same / merged), with and
without the claim-shape test (negations, opposites, numbers, code). Contradicting pairs must never merge.

    .venv/bin/python bench/claim_pairs.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.search.answer.select import (  # noqa: E402
    MERGE_SIMILARITY,
    Candidate,
    group_duplicates,
    similarity,
)
from bot.search.engine import Engine  # noqa: E402
from bot.search.index.tokens import tokenize  # noqa: E402

CORPORA = {
    "default": REPO / "corpus",
    "gitdoc": REPO / "bench" / "gitdoc" / "corpus",
    "pythondoc": REPO / "bench" / "gitdoc" / "corpus",
    "wikiqa": REPO.parent / "shared" / "data" / "wikiqa" / "corpus",
}


def main() -> None:
    pairs = [json.loads(line) for line in open(REPO / "bench" / "sets" / "claim-pairs.jsonl", encoding="utf-8")]
    engines = {name: Engine.from_dir(folder) for name, folder in CORPORA.items() if folder.is_dir()}
    merged: dict[str, Counter[str]] = {"with the claim-shape test": Counter(), "weight alone (before)": Counter()}
    for pair in pairs:
        engine = engines[pair["corpus"]]
        a = Candidate(0, 1.0, pair["a"], 1)
        b = Candidate(1, 0.9, pair["b"], 2)
        if len(group_duplicates([a, b], engine._idf)) == 1:
            merged["with the claim-shape test"][pair["label"]] += 1
        if similarity(frozenset(tokenize(pair["a"])), frozenset(tokenize(pair["b"])), engine._idf) >= MERGE_SIMILARITY:
            merged["weight alone (before)"][pair["label"]] += 1
    totals = Counter(pair["label"] for pair in pairs)
    for rule, counts in merged.items():
        together = sum(counts.values())
        precision = counts["same"] / together if together else 1.0
        shown = ", ".join(f"{label} {counts[label]}/{totals[label]}" for label in ("same", "related", "contradicting"))
        print(f"{rule}: merged {shown}; precision {precision:.2f}")


if __name__ == "__main__":
    main()
