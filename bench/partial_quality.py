"""How a partially embedded engine answers, against BM25 alone and the complete engine.

    nice -n 15 taskset -c 1 .venv/bin/python bench/partial_quality.py

The default articles (corpus/) and the answerable questions of bench/sets/default-unseen*.jsonl; hit1 is
the share whose first sentence is from the gold article and holds the gold words, over all of them and
over those whose gold sentence is not embedded yet ("not yet"). Partial engines search by meaning the
first `covered` sentences (the corpus's order, as a build embeds them) and weigh the rest as the bot does
(their relative BM25 stands in for the missing cosine: fuse.fuse, rerank.features) or with a cosine of 0,
reranked by the shipped reranker or ordered by the fused score. This is a report, not a test.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.search.answer import retrieve  # noqa: E402
from bot.search.engine import Answering, Engine  # noqa: E402
from bot.search.index.nearest import Nearest  # noqa: E402
from bot.search.models.embedding import Embedder, default_model  # noqa: E402
from bot.search.models.reranker import Reranker, default_reranker  # noqa: E402

SHARES = (0.25, 0.5, 0.75)


def questions() -> list[dict]:
    found = []
    for path in sorted((ROOT / "bench" / "sets").glob("default-unseen*.jsonl")):
        found += [q for q in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if q["answerable"]]
    return found


def is_gold(question: dict, file: str, text: str) -> bool:
    return any(file == gold["article"] and gold["contains"] in text for gold in question["gold"])


def hit1(engine: Engine, asked: list[dict]) -> float:
    right = 0
    for question in asked:
        hits = engine.ask(question["q"]).hits
        right += bool(hits) and is_gold(question, hits[0].article.file, hits[0].text)
    return right / max(1, len(asked))


def first_gold(engine: Engine, question: dict) -> int:
    """The index position of the question's first gold sentence (its vector is made in that order)."""
    for doc, sentence_id in enumerate(engine.indexed.tolist()):
        sentence = engine.sentence(sentence_id)
        if is_gold(question, sentence.article.file, sentence.text):
            return doc
    return -1


@contextmanager
def cosine_zero() -> Iterator[None]:
    """A sentence without a vector scored as if its cosine were 0, by fusion and the reranker alike."""
    scores = retrieve.Semantic.scores
    retrieve.Semantic.scores = lambda self, question, docs: np.nan_to_num(scores(self, question, docs), nan=0.0)
    try:
        yield
    finally:
        retrieve.Semantic.scores = scores


def main() -> None:
    asked = questions()
    plain = Engine.from_dir(ROOT / "corpus")
    embedder = Embedder(default_model())
    reranker = Reranker(default_reranker())
    complete = plain.with_vectors(embedder).with_reranker(reranker)
    fused = Answering(rerank=False)
    assert complete.vectors is not None
    print(f"{len(asked)} questions, {len(plain.indexed)} sentences")
    print(
        f"BM25 alone {hit1(plain, asked):.3f}; complete: fused {hit1(complete.answering_with(fused), asked):.3f}, "
        f"reranked {hit1(complete, asked):.3f}"
    )
    gold = {question["id"]: first_gold(plain, question) for question in asked}
    for share in SHARES:
        covered = int(share * len(plain.indexed))
        partial = plain._with(embedder, Nearest.partial(complete.vectors, covered), "partial").with_reranker(reranker)
        later = [question for question in asked if gold[question["id"]] >= covered]
        modes = {"BM25 alone": plain, "reranked (the bot)": partial, "fused": partial.answering_with(fused)}
        line = [f"{mode} {hit1(engine, asked):.3f} / {hit1(engine, later):.3f}" for mode, engine in modes.items()]
        with cosine_zero():
            line += [f"cosine 0, {mode} {hit1(modes[mode], asked):.3f} / {hit1(modes[mode], later):.3f}" for mode in ("reranked (the bot)", "fused")]
        print(f"{share:.0%} covered ({covered}; {len(later)} not yet), all / not yet: " + "; ".join(line))


if __name__ == "__main__":
    main()
