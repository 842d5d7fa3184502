"""Whether the answer is there to be found: for each documentation set, how many answerable questions have a gold
phrase held by a sentence the bot indexes as a possible answer (not a heading, signature, code block or fragment)
of the gold page, by the set's own scorer (bench/docsets/score.py `holds`).

A question whose gold no indexed answer holds is lost to reading, whatever the ranking does; the rest are
retrieval's and the reranker's to win. Reads the corpora only (BM25 index, no models).

    .venv/bin/python bench/reading_coverage.py [SET ...]     # default: every documentation set bench/quality.py knows
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "docsets"))

from quality import DOCSETS, DocSet  # noqa: E402
from score import holds  # noqa: E402

from bot.search.engine import Engine  # noqa: E402


def answer_sentences(corpus: Path) -> dict[str, list[str]]:
    """Each article file's sentences that may be shown as answers, as the bot indexes them."""
    engine = Engine.from_dir(corpus)
    found: dict[str, list[str]] = {}
    for sentence_id in range(len(engine.table)):
        sentence = engine.sentence(sentence_id)
        if sentence.kind.answers:
            found.setdefault(sentence.article.file, []).append(sentence.text)
    return found


def coverage(questions: DocSet) -> tuple[int, int]:
    """(answerable questions whose gold an indexed answer sentence holds, answerable questions)."""
    sentences = answer_sentences(questions.corpus)
    answerable = [q for q in questions.rows if q["answerable"]]
    held = sum(any(holds(text, gold["phrase"]) for gold in q["gold"] for text in sentences.get(gold["article"], [])) for q in answerable)
    return held, len(answerable)


def main(names: list[str]) -> None:
    total_held = total = 0
    for name in names or DOCSETS:
        held, answerable = coverage(DOCSETS[name]())
        total_held, total = total_held + held, total + answerable
        print(f"{name}: {held} of {answerable}", flush=True)
    print(f"all: {total_held} of {total}")


if __name__ == "__main__":
    main(sys.argv[1:])
