"""A reranker small enough to write in a test: each word of the candidate adds its own score.

The ONNX graph takes the three inputs of a real cross-encoder and sums a per-word score over the
candidate's tokens (token type 1), so which sentence wins is plain from the words it holds:
"honey" and "hive" score high, "sea" low. The tokenizer is word-level with BERT's pair template.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

WORDS = ("[UNK]", "[CLS]", "[SEP]", "ship", "boat", "sea", "harbour", "bee", "hive", "honey", "apple", "orchard")
SCORES = {"honey": 3.0, "hive": 2.0, "bee": 1.0, "sea": -2.0}


def write_tiny_reranker(folder: Path) -> Path:
    """`model.onnx` and `tokenizer.json` in `folder`: logit = sum of SCORES over the candidate's words."""
    folder.mkdir(parents=True, exist_ok=True)
    table = np.array([SCORES.get(word, 0.0) for word in WORDS], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["word_scores"], axis=0),
            helper.make_node("Cast", ["token_type_ids"], ["second"], to=TensorProto.FLOAT),
            helper.make_node("Cast", ["attention_mask"], ["real"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["word_scores", "second"], ["candidate_scores"]),
            helper.make_node("Mul", ["candidate_scores", "real"], ["counted"]),
            helper.make_node("ReduceSum", ["counted", "axes"], ["logits"], keepdims=0),
        ],
        "tiny-reranker",
        [
            helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
            for name in ("input_ids", "attention_mask", "token_type_ids")
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch"])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, folder / "model.onnx")
    tokenizer = Tokenizer(models.WordLevel({word: i for i, word in enumerate(WORDS)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 1), ("[SEP]", 2)]
    )
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder
