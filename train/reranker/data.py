"""Training groups for the reranker: one question, its answering sentence(s) and hard negatives.

Reads only train splits (see SOURCES.md for where each file came from) and writes JSON lines:
    {"q": str, "pos": [str], "neg": [str], "source": str}
Each sentence is shown to the model as the bot shows it one: "<sentence> [SEP] <article title>".
`pos` is empty for a question its article does not answer (SQuAD questions shown only sentences that do not hold their answer,
WikiQA's questions with no correct sentence); those teach the model to give every sentence a low
probability, which abstention needs.

Negatives are what the bot itself would have to rule out: the other sentences of the paragraph,
the article's best BM25 matches for the question (the bot's own tokenizer), and a few at random.

    python train/reranker/data.py --squad SQUAD.json --wikiqa WikiQA-train.tsv --out groups.jsonl \
        --held-out-articles 24 --held-out held_out.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from collections import defaultdict
from pathlib import Path

from rank_bm25 import BM25Okapi
from synonyms import reword_group
from yes_no import yes_no_group

from bot.search.index.tokens import tokenize
from bot.search.read.sentences import split_sentences

NO_SHARE = 0.25  # of yes/no questions, asked with another answer of their article (the answer is "no")
NEGATIVES = 7  # per answerable question: 1 positive + 7 negatives is one softmax group of 8
UNANSWERABLE_NEGATIVES = 4
SEED = 20261205


def shown(sentence: str, title: str) -> str:
    """The candidate text the model reads: the sentence, then its article's title."""
    return f"{sentence} [SEP] {title}" if title else sentence


def squad_articles(path: Path) -> list[dict]:
    """SQuAD's articles, each paragraph split into sentences (the bot's own splitter) with their character spans."""
    articles = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        title = article["title"].replace("_", " ")
        paragraphs = []
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            spans, cursor = [], 0
            for sentence in split_sentences(context):
                start = context.find(sentence, cursor)
                if start < 0:
                    start = cursor
                spans.append((start, start + len(sentence), sentence))
                cursor = start + len(sentence)
            paragraphs.append({"spans": spans, "qas": paragraph["qas"]})
        articles.append({"title": title, "paragraphs": paragraphs})
    return articles


def _holding(spans: list[tuple[int, int, str]], start: int) -> int | None:
    for i, (first, last, _) in enumerate(spans):
        if first <= start < max(last, first + 1):
            return i
    return None


def squad_groups(
    articles: list[dict], rng: random.Random, source: str, unanswerable_share: float,
    yes_no_share: float = 0.0, yes_no_rng: random.Random | None = None,
    reworded_share: float = 0.0, synonyms: dict | None = None, reword_rng: random.Random | None = None,
) -> list[dict]:
    """Groups from SQuAD paragraphs; a share of questions become unanswerable ones, a share of the
    answerable ones are asked as yes/no questions (yes_no.py), and a share of the others in other
    words (synonyms.py). Each has its own random stream, so the other groups are the same with or
    without them.

    SQuAD 1.x has no unanswerable questions, so some are made the way SQuAD 2.0's look: the
    question, shown only the sentences of its article that best match it but come from other
    paragraphs and do not hold the answer's text. A sentence holding the answer's text is never
    a negative, in either kind of group (it may answer too).
    """
    groups = []
    for article in articles:
        title = article["title"]
        sentences = [s for p in article["paragraphs"] for (_, _, s) in p["spans"]]
        folded = [s.casefold() for s in sentences]
        bm25 = BM25Okapi([tokenize(s) or ["_"] for s in sentences])
        article_answers = [a["text"].strip() for p in article["paragraphs"] for qa in p["qas"] for a in (qa.get("answers") or [])[:1]]
        offset = 0
        for paragraph in article["paragraphs"]:
            spans = paragraph["spans"]
            here = range(offset, offset + len(spans))
            for qa in paragraph["qas"]:
                answers = [a for a in qa.get("answers") or [] if a.get("answer_start", -1) >= 0 and a["text"].strip()]
                positives = {offset + i for a in answers if (i := _holding(spans, a["answer_start"])) is not None}
                terms = tokenize(qa["question"])
                if not positives or not terms:
                    continue
                texts = [a["text"].casefold() for a in answers]
                clean = [i for i in range(len(sentences)) if i not in positives and not any(t in folded[i] for t in texts)]
                ranked = [int(i) for i in bm25.get_scores(terms).argsort()[::-1][:40]]
                allowed = set(clean)
                lexical = [i for i in ranked if i in allowed]
                if rng.random() < unanswerable_share:
                    elsewhere = [i for i in lexical if i not in here][:UNANSWERABLE_NEGATIVES]
                    if elsewhere:
                        groups.append({"q": qa["question"].strip(), "pos": [], "neg": [shown(sentences[i], title) for i in elsewhere], "source": source + "-unanswerable"})
                    continue
                same = [i for i in here if i in allowed]
                rng.shuffle(same)
                picked = list(dict.fromkeys(same[:3] + lexical[:6]))[: NEGATIVES - 1]
                spare = [i for i in clean if i not in picked]
                picked += rng.sample(spare, min(NEGATIVES - len(picked), len(spare)))
                if picked:
                    group = {
                        "q": qa["question"].strip(),
                        "pos": [shown(sentences[i], title) for i in sorted(positives)],
                        "neg": [shown(sentences[i], title) for i in picked],
                        "source": source,
                    }
                    if yes_no_rng is not None and yes_no_rng.random() < yes_no_share:
                        others = [a for a in article_answers if a.casefold() not in texts]
                        group = yes_no_group(group, answers[0]["text"], others, yes_no_rng, NO_SHARE) or group
                    if reword_rng is not None and synonyms and group["source"] == source and reword_rng.random() < reworded_share:
                        group = reword_group(group, synonyms, reword_rng) or group
                    groups.append(group)
            offset += len(spans)
    return groups


def wikiqa_questions(path: Path) -> dict[str, list[tuple[str, int]]]:
    """WikiQA train, by question: each sentence of its page in order, with its label."""
    by_question: dict[str, list[tuple[str, int]]] = defaultdict(list)
    with path.open(encoding="utf-8") as file:
        next(file)  # QuestionID Question SentenceID Sentence Label
        for line in file:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 7:  # 13 rows keep the original release's DocumentID and DocumentTitle columns
                fields = [fields[0], fields[1], fields[4], fields[5], fields[6]]
            by_question[fields[1].strip()].append((_untokenized(fields[3]), int(fields[4])))
    return by_question


def held_out_wikiqa(question: str) -> bool:
    """A fixed 30% of WikiQA train's questions, kept out of training for combine.py (by a hash, not by chance)."""
    return int(hashlib.sha256(question.encode()).hexdigest(), 16) % 10 < 3


def wikiqa_groups(path: Path, rng: random.Random) -> list[dict]:
    """WikiQA train's groups (but the held-out questions); every sentence of the page is labelled, no titles."""
    groups = []
    for question, rows in wikiqa_questions(path).items():
        if held_out_wikiqa(question):
            continue
        positives = [s for s, label in rows if label]
        negatives = [s for s, label in rows if not label]
        rng.shuffle(negatives)
        wanted = NEGATIVES if positives else UNANSWERABLE_NEGATIVES
        if negatives:
            groups.append({"q": question, "pos": positives, "neg": negatives[:wanted], "source": "wikiqa-train"})
    return groups


def _untokenized(sentence: str) -> str:
    """WikiQA's sentence as a page shows it: its tokenizer's spacing and the file's CSV quoting undone."""
    text = sentence.strip()
    if len(text) > 1 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    text = re.sub(r" ([,.;:!?%)\]]|'s\b|n't\b)", r"\1", text)
    return re.sub(r"([(\[$]) ", r"\1", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, help="SQuAD 2.0 (or 1.1) train json")
    parser.add_argument("--wikiqa", type=Path, help="WikiQA-train.tsv")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--held-out-articles", type=int, default=24, help="SQuAD train articles kept out of training")
    parser.add_argument("--held-out", type=Path, help="where the held-out articles' groups go (calibration)")
    parser.add_argument("--unanswerable-share", type=float, default=0.25, help="SQuAD questions made unanswerable")
    parser.add_argument("--max-squad", type=int, default=0, help="cap on SQuAD groups (0: all)")
    parser.add_argument("--yes-no-share", type=float, default=0.0, help="answerable SQuAD questions asked as yes/no questions")
    parser.add_argument("--reworded-share", type=float, default=0.0, help="answerable SQuAD questions reworded with synonyms")
    parser.add_argument("--synonyms", type=Path, help="synonyms.py's table (needed with --reworded-share)")
    parser.add_argument("--skip-squad", type=int, default=0, help="SQuAD groups to pass over first (those an earlier leg trained on)")
    args = parser.parse_args()
    rng = random.Random(SEED)
    groups: list[dict] = []
    if args.squad:
        articles = squad_articles(args.squad)
        order = list(range(len(articles)))
        rng.shuffle(order)
        kept = {i for i in order[: args.held_out_articles]}
        yes_no_rng = random.Random(SEED + 1) if args.yes_no_share else None
        reword_rng = random.Random(SEED + 2) if args.reworded_share else None
        synonyms = json.loads(args.synonyms.read_text(encoding="utf-8")) if args.reworded_share else None
        train = squad_groups(
            [a for i, a in enumerate(articles) if i not in kept], rng, "squad-train", args.unanswerable_share,
            args.yes_no_share, yes_no_rng, args.reworded_share, synonyms, reword_rng,
        )
        rng.shuffle(train)
        train = train[args.skip_squad :]
        if args.max_squad:
            train = train[: args.max_squad]
        groups += train
        if args.held_out:
            held = squad_groups([a for i, a in enumerate(articles) if i in kept], rng, "squad-train-held-out", args.unanswerable_share)
            with args.held_out.open("w", encoding="utf-8") as out:
                for group in held:
                    out.write(json.dumps(group, ensure_ascii=False) + "\n")
            (args.held_out.with_suffix(".articles.json")).write_text(
                json.dumps([articles[i]["title"] for i in sorted(kept)], indent=1), encoding="utf-8"
            )
    if args.wikiqa:
        groups += wikiqa_groups(args.wikiqa, rng)
    rng.shuffle(groups)
    with args.out.open("w", encoding="utf-8") as out:
        for group in groups:
            out.write(json.dumps(group, ensure_ascii=False) + "\n")
    answerable = sum(1 for g in groups if g["pos"])
    print(f"{len(groups)} groups ({answerable} answerable), {sum(len(g['pos']) + len(g['neg']) for g in groups)} pairs -> {args.out}")


if __name__ == "__main__":
    main()
