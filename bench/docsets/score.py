"""Score `ask --json` output (one line per question, same order) on a documentation question set
(bench/gitdoc, bench/djangodoc, bench/typerdoc, bench/flaskdoc, bench/werkzeugdoc, bench/clickdoc, bench/requestsdoc, bench/pytestdoc, bench/aiohttpdoc, bench/jinjadoc, bench/attrdoc, bench/jsonschemadoc, bench/bs4doc, bench/cookiedoc, bench/psycodoc, bench/structdoc, bench/scrapydoc, bench/cmd2doc, bench/markdowndoc, bench/eventletdoc: help-channel questions, each with its gold article and phrase).

A returned sentence is correct when it comes from the gold article and holds the gold phrase (compared
as lowercase letters and digits, so spacing, punctuation and markup do not matter), or is a piece of
the phrase holding at least 80% of its words (a phrase split in two by the reader still counts once).
Prints hit1/hit3/mrr5 and wrong_abstain on answerable questions, and abstain on the others.
Usage: python score.py QUESTIONS.jsonl OUTPUT.jsonl [--name N] [--json] [--misses]
"""

from __future__ import annotations

import argparse
import json
import re
import sys


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def holds(sentence: str, phrase: str) -> bool:
    said, gold = " ".join(words(sentence)), " ".join(words(phrase))
    if not said or not gold:
        return False
    return gold in said or (said in gold and len(said.split()) >= 0.8 * len(gold.split()))


def rank(question: dict, output: dict) -> int | None:
    """1-based rank of the first correct answer, 0 when none is correct, None when the bot abstained."""
    if output.get("abstained") or not output.get("answers"):
        return None
    for number, answer in enumerate(output["answers"][:5], start=1):
        file = (answer.get("article") or {}).get("file", "")
        if any(file == gold["article"] and holds(answer.get("sentence", ""), gold["phrase"]) for gold in question["gold"]):
            return number
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions")
    parser.add_argument("output")
    parser.add_argument("--name", default="system")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list the answerable questions missed at rank 1")
    args = parser.parse_args()
    questions = [json.loads(line) for line in open(args.questions, encoding="utf-8")]
    outputs = [json.loads(line) for line in open(args.output, encoding="utf-8") if line.strip()]
    if len(outputs) != len(questions):
        sys.exit(f"{args.name}: {len(outputs)} output lines for {len(questions)} questions")
    answerable = [(q, o) for q, o in zip(questions, outputs) if q["answerable"]]
    others = [(q, o) for q, o in zip(questions, outputs) if not q["answerable"]]
    ranks = [rank(q, o) for q, o in answerable]
    metrics = {
        "hit1": sum(r == 1 for r in ranks) / len(ranks),
        "hit3": sum(bool(r) and r <= 3 for r in ranks) / len(ranks),
        "mrr5": sum(1 / r for r in ranks if r) / len(ranks),
        "wrong_abstain": sum(r is None for r in ranks) / len(ranks),
        "abstain": sum(bool(o.get("abstained") or not o.get("answers")) for _, o in others) / max(1, len(others)),
    }
    if args.json:
        print(json.dumps({"name": args.name, **metrics}))
    else:
        shown = " ".join(f"{key}={value:.3f}" for key, value in metrics.items())
        print(f"{args.name}: {shown} (n={len(questions)}, answerable={len(ranks)})")
    if args.misses:
        for (question, output), r in zip(answerable, ranks):
            if r != 1:
                top = (output.get("answers") or [{}])[0]
                print(f"- {question['id']} {question['q']!r}: rank {r}; top {top.get('article', {}).get('file')}: {top.get('sentence', '')[:120]!r}")


if __name__ == "__main__":
    main()
