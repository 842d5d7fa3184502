"""Reranker groups from help-channel questions over documentation sites (round 12's data).

Each folder holds `corpus/` (a documentation package's HTML pages, as Debian ships them), `questions.jsonl`
(help-channel questions with gold phrases, in bench/docsets' format) and `SOURCE.txt` (package, version,
licence). The questions were written for training by helpers from the pages alone, over manuals that no
benchmark here reads (not the Python standard library's).

Each question is asked of the bot's own retrieval over its site (the fused order, `RERANK=off`, so the
negatives are the sentences the reranker will really be shown): its positives are every sentence holding a
gold phrase, its negatives the best fused candidates that hold none (up to NEGATIVES). An unanswerable
question is a group with no positive. Sentences are shown as the bot shows them to the reranker
("<sentence> [SEP] <page title>", an API description with its term).

    python train/reranker/helpdocs.py FOLDER [FOLDER ...] --out groups.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from combine import answers  # noqa: E402  (also puts the project and bench/docsets on the path)

from bot.search.engine import Answering, Engine  # noqa: E402
from bot.search.models.embedding import Embedder, default_model  # noqa: E402
from bot.search.models.reranker import shown  # noqa: E402

NEGATIVES = 7  # as data.py's groups: one answer against seven that do not answer
POOL = 15  # fused candidates a group's negatives are taken from, best first


def groups_of(folder: Path, embedder: Embedder, cache: Path) -> list[dict]:
    """One group per question of `folder`."""
    engine = Engine.from_dir(folder / "corpus", cache_dir=cache / folder.name, embedder=embedder)
    fused = engine.answering_with(Answering(rerank=False))
    files = {article.number: article.file for article in engine.sources()}
    rows = [json.loads(line) for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    groups = []
    for row in rows:
        asked = {"match": [(gold["article"], gold["phrase"]) for gold in row["gold"]]}
        question, ranked = fused.candidates(row["q"])
        pool = ranked[:POOL]
        positives = [engine._rerank_text(c) for c in pool if answers(asked, files[c.article], c.text)]
        if asked["match"]:
            positives += [text for text in _sentences_holding(engine, asked, files) if text not in positives]
            if not positives:
                continue  # a gold phrase the reading never makes a sentence of: no label to learn from
        negatives = [engine._rerank_text(c) for c in pool if not answers(asked, files[c.article], c.text)][:NEGATIVES]
        groups.append({"q": question.text or row["q"], "pos": positives[:2], "neg": negatives, "source": f"helpdocs:{folder.name}:{row['id']}"})
    return groups


def _sentences_holding(engine: Engine, asked: dict, files: dict[int, str]) -> list[str]:
    """The indexed sentences holding a gold phrase, as the reranker reads them (those retrieval missed too)."""
    pages = {file for file, _ in asked["match"]}
    found = []
    for doc in range(len(engine.indexed)):
        sentence_id = int(engine.indexed[doc])
        article = engine.table.article(sentence_id)
        if files[article] in pages and answers(asked, files[article], engine.table.text(sentence_id)):
            found.append(shown(engine._sentence_text(sentence_id), engine.sources()[article - 1].title))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path(".helpdocs-cache"))
    args = parser.parse_args()
    embedder = Embedder(default_model())
    with args.out.open("w", encoding="utf-8") as out:
        for folder in args.folders:
            groups = groups_of(folder, embedder, args.cache)
            for group in groups:
                out.write(json.dumps(group, ensure_ascii=False) + "\n")
            answered = sum(bool(g["pos"]) for g in groups)
            print(f"{folder.name}: {len(groups)} groups ({answered} answerable)", flush=True)


if __name__ == "__main__":
    main()
