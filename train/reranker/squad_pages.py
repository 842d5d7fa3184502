"""Rebuild SQuAD 1.0's train split (official json layout) from the SQuAD explorer's per-article pages.

The plain train json (30-40 MB) is in no repository this project can reach whole; the official
site's repository (rajpurkar/SQuAD-explorer) kept the train split's 442 article pages in its history:

    git --git-dir SQuAD-explorer.git archive 13f82e35b9a1fb9173f863b35f5675030646571e explore/1.0/train | tar -x
    python train/reranker/squad_pages.py explore/1.0/train squad-train-v1.0.json

The pages hold each paragraph, question and answer text but not the answers' character offsets:
an answer's offset is where its text first occurs in the paragraph (nearly all answers occur once).
Question ids are made up from the article, paragraph and question numbers. Only the train split's
pages are read: the dev split is how SQuAD measures, never training data.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
from pathlib import Path

_LINK = re.compile(r'href="/SQuAD-explorer/explore/1\.0/train/([^"]+)\.html"')
_CONTEXT = re.compile(r"<pre>(.*?)</pre>", re.S)
_QUESTION = re.compile(r'<strong class="question">(.*?)</strong>', re.S)
_ANSWER = re.compile(r'<span class="answer">(.*?)</span>', re.S)


def locate(context: str, answer: str) -> tuple[int, str]:
    """The answer's offset and its text as the paragraph spells it (-1 when it is not there)."""
    start = context.find(answer)
    if start >= 0:
        return start, answer
    spaced = context.replace("\xa0", " ").lower()
    wanted = answer.replace("\xa0", " ").strip().lower()
    start = spaced.find(wanted) if wanted else -1
    return (start, context[start : start + len(wanted)]) if start >= 0 else (-1, answer)


def article(page: str, number: int, title: str) -> dict:
    paragraphs = []
    for p, part in enumerate(page.split('<div class="para-wrap">')[1:]):
        context = html.unescape(_CONTEXT.search(part).group(1))
        questions = []
        for q, block in enumerate(part.split('<div class="qa-wrap">')[1:]):
            answers = []
            for raw in _ANSWER.findall(block):
                start, text = locate(context, html.unescape(raw))
                answers.append({"text": text, "answer_start": start})
            question = html.unescape(_QUESTION.search(block).group(1))
            questions.append({"id": f"explorer-1.0-train-{number:03d}-{p:03d}-{q:02d}", "question": question, "answers": answers})
        paragraphs.append({"context": context, "qas": questions})
    return {"title": title, "paragraphs": paragraphs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", type=Path, help="the extracted explore/1.0/train folder")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    titles = [html.unescape(t) for t in _LINK.findall((args.pages / "index.html").read_text(encoding="utf-8"))]
    data = [article((args.pages / f"{t}.html").read_text(encoding="utf-8"), n, t) for n, t in enumerate(titles)]
    args.out.write_text(json.dumps({"version": "1.0", "data": data}, ensure_ascii=False), encoding="utf-8")
    questions = sum(len(p["qas"]) for a in data for p in a["paragraphs"])
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{len(data)} articles, {questions} questions -> {args.out} (sha256 {digest})")


if __name__ == "__main__":
    main()
