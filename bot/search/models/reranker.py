"""The reranker: a cross-encoder that reads a question and one sentence together and scores how
well the sentence answers it (a logit; higher is better).

Trained for this bot from all-MiniLM-L6-v2 on train splits only (train/reranker/, the model card
in models/data/reranker/README.md), shipped as int8 ONNX in this package and pinned by checksum,
like the sentence model (embedding.py): a model is data, loaded and checked, never code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.search.models.embedding import MODEL_DATA, ModelError, ModelSpec, load_session

# What the model was trained with (train/reranker/train.py MAX_TOKENS): question, sentence and title.
MAX_TOKENS = 96
# Pairs of similar length run together: a batch padded to its longest pair computes the padding too.
BATCH_PAIRS = 4


def default_reranker() -> ModelSpec:
    """The shipped reranker (models/data/reranker), reading the sentence model's own tokenizer."""
    return ModelSpec(
        name="answer reranker, MiniLM-L6 cross-encoder (int8 ONNX)",
        model=MODEL_DATA / "reranker" / "model.onnx",
        tokenizer=MODEL_DATA / "all-MiniLM-L6-v2" / "tokenizer.json",
        model_sha256=RERANKER_SHA256,
        tokenizer_sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        max_tokens=MAX_TOKENS,
        licence="Apache-2.0 (weights from all-MiniLM-L6-v2); trained on CC BY-SA 4.0 and MSR research data",
        source="bot/search/models/data/reranker, made by train/reranker",
        lighten=False,  # onnxruntime's dynamic int8 operators already keep its weights int8
    )


RERANKER_SHA256 = "ea20e7e1e16ee696df3cdf8306288cd197e18aa6743a474ad6b690bafd88a46e"


def shown(sentence: str, title: str) -> str:
    """What the model reads of a candidate: the sentence, then its article's title (as in training)."""
    return f"{sentence} [SEP] {title}" if title else sentence


class Reranker:
    """A loaded cross-encoder: `logits(question, candidates)` scores each candidate for the question.

    One session serves the whole process; onnxruntime may be run from several threads at once.
    """

    def __init__(self, spec: ModelSpec, *, threads: int | None = None, cache: Path | None = None) -> None:
        """Check the files against their pinned checksums, then load them; ModelError says what failed.

        With `cache`, a folder, the optimized graph is kept there for the next start, as the Embedder's is.
        """
        self.spec = spec
        self._session, self._tokenizer, self.sha256, self.tokenizer_sha256 = load_session(spec, threads=threads, cache=cache)
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(spec.max_tokens, strategy="only_second")
        inputs = {i.name for i in self._session.get_inputs()}
        if inputs != {"input_ids", "attention_mask", "token_type_ids"}:
            raise ModelError(f"{spec.model}: expected inputs input_ids, attention_mask and token_type_ids, found {sorted(inputs)}")
        outputs = self._session.get_outputs()
        if len(outputs) != 1:
            raise ModelError(f"{spec.model}: expected one output (a logit per pair), found {len(outputs)}")
        probe = self.logits("probe", ["probe"])
        if probe.shape != (1,):
            raise ModelError(f"{spec.model}: expected one logit per pair, found shape {probe.shape}")

    @property
    def name(self) -> str:
        return self.spec.name

    def logits(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """One score per candidate, in order; candidates are run shortest first, a few at a time."""
        scores = np.empty(len(candidates), dtype=np.float32)
        if not candidates:
            return scores
        encodings = self._tokenizer.encode_batch([(question, candidate) for candidate in candidates])
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH_PAIRS):
            rows = order[start : start + BATCH_PAIRS]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros_like(ids)
            mask = np.zeros_like(ids)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                types[r, :n] = encodings[i].type_ids
                mask[r, :n] = 1
            output = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
            scores[rows] = np.asarray(output, dtype=np.float32).reshape(len(rows), -1)[:, 0]
        return scores
