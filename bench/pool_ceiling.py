"""How far ranking can take the answer: for the sets about the default articles and the documentation sets, how many
answerable questions have a gold sentence among the fused best 1, 4 and 8 (the 8 are what the reranker reads), among
every candidate retrieval found (each signal's best 30), and first in the bot's order before abstention.

hit1 cannot pass the share held by the 8, nor hit3 either, whatever the reranker does; the gap between "first" and
"8" is the reranker's to close. A gold sentence is one holding a gold phrase, as each set's scorer decides (the dev
scorer's normalised substring for the default articles; bench/docsets/score.py `holds`, in the gold page, for
documentation).

    .venv/bin/python bench/pool_ceiling.py [SET ...]    # default: dev, unseen*, and every documentation set
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "docsets"))

from quality import DOCSETS, UNSEEN, Dev, QuestionSet  # noqa: E402
from score import holds  # noqa: E402

from bot.search.answer.select import Candidate  # noqa: E402
from bot.search.engine import Answering, Engine  # noqa: E402
from bot.search.models.embedding import Embedder, default_model  # noqa: E402

DEPTHS = (1, 4, 8)
COLUMNS = (*(f"fused best {k}" for k in DEPTHS), "all found", "first")


def gold_test(questions: QuestionSet, row: dict, engine: Engine) -> Callable[[Candidate], bool]:
    """Whether a candidate is a gold sentence of `row`, by its set's own scorer."""
    if isinstance(questions, Dev):
        phrases = [questions.scorer.normalize(gold["contains"]) for gold in row["gold"]]
        return lambda c: any(phrase and phrase in questions.scorer.normalize(c.text) for phrase in phrases)
    return lambda c: any(
        engine.article(c.article).file == gold["article"] and holds(c.text, gold["phrase"]) for gold in row["gold"]
    )


def counts(questions: QuestionSet, embedder: Embedder) -> list[int]:
    """[answerable questions, then one count per COLUMNS]."""
    engine = questions.engine(embedder)
    fused = engine.answering_with(Answering(rerank=False))
    found = [0] * (len(COLUMNS) + 1)
    for row in questions.rows:
        if not row["answerable"]:
            continue
        is_gold = gold_test(questions, row, engine)
        pool = [is_gold(c) for c in fused.candidates(row["q"])[1]]
        ordered = engine.candidates(row["q"])[1]
        found[0] += 1
        for i, k in enumerate(DEPTHS, start=1):
            found[i] += any(pool[:k])
        found[len(DEPTHS) + 1] += any(pool)
        found[len(DEPTHS) + 2] += bool(ordered) and is_gold(ordered[0])
    return found


def main(names: Sequence[str]) -> None:
    chosen = names or ["dev", *UNSEEN, *DOCSETS]
    embedder = Embedder(default_model())
    groups: dict[str, list[int]] = {}
    print("set: answerable, " + ", ".join(COLUMNS))
    for name in chosen:
        questions = Dev() if name == "dev" else (UNSEEN.get(name) or DOCSETS[name])()
        row = counts(questions, embedder)
        print(f"{name}: " + ", ".join(map(str, row)), flush=True)
        total = groups.setdefault("documentation" if name in DOCSETS else "default articles", [0] * len(row))
        total[:] = [a + b for a, b in zip(total, row)]
    for group, total in groups.items():
        shares = ", ".join(f"{column} {n} ({n / total[0]:.3f})" for column, n in zip(COLUMNS, total[1:]))
        print(f"{group}: {total[0]} answerable; {shares}")


if __name__ == "__main__":
    main(sys.argv[1:])
