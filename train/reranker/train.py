"""Fine-tune all-MiniLM-L6-v2 as a cross-encoder: (question, sentence) -> probability that the sentence answers.

Each training group is one question with one answering sentence and several that do not (see
data.py). The loss has two parts:
  - softmax cross-entropy over the group, so the answering sentence ranks above its hard negatives;
  - binary cross-entropy on every pair, so the probability itself means something and an
    unanswerable question (a group with no answer) pushes every sentence down: abstention needs that.
Pooling is the mean of the last layer, the way the starting point was trained to summarise a text.

Runs on the CPU (2 cores: about 45 pairs/s at these lengths), checkpoints every CHECKPOINT_EVERY
steps to `--out/checkpoint.pt`, and resumes from it when started again with the same arguments.

With --int8-weights the encoder's linear layers compute with their weights rounded as export.py's int8 file
will hold them (one scale per output channel), gradients passing straight through the rounding
(quantization-aware training), so that the shipped file loses less of what the model learnt. With --teacher
as well, the loss is instead the squared difference from the teacher's logits (the same model in float, say):
the rounded model learns to give what the teacher gives, not to learn the groups again.

    python train/reranker/train.py --groups groups.jsonl --base MODEL_FOLDER --out RUN_FOLDER
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils import parametrize
from transformers import AutoModel, AutoTokenizer

SEED = 20261205
GROUPS_PER_BATCH = 4  # 4 groups of up to 8 sentences: at most 32 pairs a step
MAX_TOKENS = 96  # question + sentence + title; the cut falls on the title first
LEARNING_RATE = 4e-5
WARMUP = 0.06  # of all steps
WEIGHT_DECAY = 0.01
CHECKPOINT_EVERY = 100
MICRO_BATCH = 8  # pairs of similar length computed together
INT8_MAX = 127  # onnxruntime's symmetric int8 weights (export.py): one scale per output channel, absmax / 127
LOWERCASE_SHARE = 0.25  # questions shown lowercased and without '?', as people type in chat


class CrossEncoder(nn.Module):
    """The encoder, mean pooling over real tokens, and one logit."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.encoder = AutoModel.from_pretrained(base)
        self.head = nn.Linear(self.encoder.config.hidden_size, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self.head(pooled).squeeze(-1)


class Int8Weights(nn.Module):
    """A linear layer's weight as the int8 file holds it; the straight-through estimator passes gradients."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        scale = (weight.detach().abs().amax(dim=1) / INT8_MAX).clamp(min=1e-12)
        zero = torch.zeros(scale.shape, dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(weight, scale, zero, 0, -INT8_MAX, INT8_MAX)


def round_weights_as_int8(model: CrossEncoder) -> None:
    """Every linear layer of the encoder (the MatMuls export.py quantizes) computes with int8-rounded weights."""
    for module in model.encoder.modules():
        if isinstance(module, nn.Linear):
            parametrize.register_parametrization(module, "weight", Int8Weights())


def plain_state(model: CrossEncoder) -> dict[str, torch.Tensor]:
    """The weights under their usual names (export.py and --init read them), rounding hooks or not."""
    return {key.replace("parametrizations.weight.original", "weight"): value for key, value in model.state_dict().items()}


def load_groups(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def casual(question: str, rng: random.Random) -> str:
    if rng.random() < LOWERCASE_SHARE:
        return question.lower().rstrip("?").rstrip()
    return question


def batch_of(groups: list[dict], rng: random.Random) -> tuple[list[str], list[str], list[int], list[float]]:
    """Flattened pairs, the size of each group, and each pair's label (the group's answer comes first)."""
    questions, sentences, sizes, labels = [], [], [], []
    for group in groups:
        question = casual(group["q"], rng)
        items = ([rng.choice(group["pos"])] if group["pos"] else []) + group["neg"]
        questions += [question] * len(items)
        sentences += items
        sizes.append(len(items) if group["pos"] else -len(items))  # negative: no answer in the group
        labels += [1.0 if group["pos"] and i == 0 else 0.0 for i in range(len(items))]
    return questions, sentences, sizes, labels


def loss_of(logits: torch.Tensor, sizes: list[int], labels: torch.Tensor) -> torch.Tensor:
    pointwise = nn.functional.binary_cross_entropy_with_logits(logits, labels)
    listwise, start, answerable = logits.new_zeros(()), 0, 0
    for size in sizes:
        n = abs(size)
        if size > 0:
            listwise = listwise + nn.functional.cross_entropy(logits[start : start + n].unsqueeze(0), logits.new_zeros(1, dtype=torch.long))
            answerable += 1
        start += n
    return pointwise + listwise / max(answerable, 1)


def scored(model: CrossEncoder, tokenizer, questions: list[str], sentences: list[str]) -> torch.Tensor:
    """Logits in input order, computed in micro-batches of similar length: a batch padded to its
    longest pair computed 77% more tokens than it held (mean 85 against 48 on these groups)."""
    encoded = tokenizer(questions, sentences, truncation="only_second", max_length=MAX_TOKENS)
    lengths = [len(ids) for ids in encoded["input_ids"]]
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    logits = torch.empty(len(lengths))
    parts = []
    for start in range(0, len(order), MICRO_BATCH):
        rows = order[start : start + MICRO_BATCH]
        width = max(lengths[i] for i in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for r, i in enumerate(rows):
            n = lengths[i]
            ids[r, :n] = torch.tensor(encoded["input_ids"][i])
            types[r, :n] = torch.tensor(encoded["token_type_ids"][i])
            mask[r, :n] = 1
        parts.append((rows, model(ids, mask, types)))
    index = torch.tensor([i for rows, _ in parts for i in rows])
    return logits.index_put((index,), torch.cat([out for _, out in parts]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=Path, required=True)
    parser.add_argument("--base", required=True, help="folder with the starting model (config.json, model.safetensors, tokenizer)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--init", type=Path, help="start from these weights (an earlier leg's final.pt or checkpoint.pt) instead of --base's")
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    parser.add_argument("--stop-at", type=int, default=0, help="stop (with a checkpoint) after this step; run again to resume")
    parser.add_argument("--int8-weights", action="store_true", help="train with the weights rounded as the int8 file holds them")
    parser.add_argument("--teacher", type=Path, help="weights (final.pt or checkpoint.pt) whose logits the model learns to give, instead of the groups' labels")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    random.seed(SEED)
    torch.manual_seed(SEED)
    groups = load_groups(args.groups)
    order_rng = random.Random(SEED)
    per_epoch = math.ceil(len(groups) / GROUPS_PER_BATCH)
    total_steps = int(per_epoch * args.epochs)
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    model = CrossEncoder(args.base)
    if args.init:
        weights = torch.load(args.init, weights_only=True)
        model.load_state_dict(weights.get("model", weights))  # a checkpoint holds the weights beside the optimizer's state
    checkpoint = args.out / "checkpoint.pt"
    state = torch.load(checkpoint, weights_only=False) if checkpoint.exists() else None
    if state:
        model.load_state_dict(state["model"])
    if args.int8_weights:
        round_weights_as_int8(model)
    teacher = None
    if args.teacher:
        teacher = CrossEncoder(args.base)
        weights = torch.load(args.teacher, weights_only=True)
        teacher.load_state_dict(weights.get("model", weights))
        teacher.eval()
    no_decay = ("bias", "LayerNorm.weight")
    parameters = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)], "weight_decay": WEIGHT_DECAY},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(parameters, lr=args.learning_rate)
    warmup = max(1, int(WARMUP * total_steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup)))
    )
    step = 0
    if state:
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        print(f"resumed at step {step} of {total_steps}", flush=True)
    orders: list[list[int]] = []
    for _ in range(math.ceil(args.epochs) + 1):
        order = list(range(len(groups)))
        order_rng.shuffle(order)
        orders.append(order)
    flat = [i for order in orders for i in order]
    model.train()
    started, pairs_done, running = time.time(), 0, 0.0
    log = (args.out / "train.log").open("a", encoding="utf-8")
    last = min(total_steps, args.stop_at or total_steps)
    while step < last:
        rng = random.Random(SEED * 1_000_003 + step)  # the same batch after a resume
        chosen = [groups[i] for i in flat[step * GROUPS_PER_BATCH : (step + 1) * GROUPS_PER_BATCH]]
        questions, sentences, sizes, labels = batch_of(chosen, rng)
        logits = scored(model, tokenizer, questions, sentences)
        if teacher is None:
            loss = loss_of(logits, sizes, torch.tensor(labels))
        else:
            with torch.no_grad():
                wanted = scored(teacher, tokenizer, questions, sentences)
            loss = nn.functional.mse_loss(logits, wanted)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        pairs_done += len(labels)
        running = 0.98 * running + 0.02 * loss.item() if running else loss.item()
        if step % 20 == 0:
            rate = pairs_done / (time.time() - started)
            line = f"step {step}/{total_steps} loss {running:.4f} lr {schedule.get_last_lr()[0]:.2e} {rate:.1f} pairs/s"
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()
        if step % CHECKPOINT_EVERY == 0 or step == last:
            temporary = checkpoint.with_suffix(".tmp")
            torch.save(
                {"model": plain_state(model), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "step": step},
                temporary,
            )
            os.replace(temporary, checkpoint)
    if step == total_steps:
        torch.save(plain_state(model), args.out / "final.pt")
    print(f"stopped at step {step} of {total_steps}", flush=True)


if __name__ == "__main__":
    main()
