"""A sentence model small enough to write in a test: a bag of word vectors, mean-pooled.

The ONNX graph is one Gather over an embedding table, so a sentence's vector is the mean of
its words' rows: sentences that share words point the same way, which makes search results
easy to predict. The tokenizer is a whitespace word-level `tokenizers` model over the same words.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

WORDS = ("[UNK]", "ship", "boat", "vessel", "sea", "harbour", "bee", "hive", "honey", "apple", "orchard")


def write_tiny_model(
    folder: Path, dimensions: int = 8, seed: int = 0, *, outputs: str = "vectors", id_type: int = TensorProto.INT64
) -> Path:
    """`model.onnx` and `tokenizer.json` in `folder`; "ship", "boat" and "vessel" share one direction.

    `outputs`: "vectors" (the word pieces' vectors), "mask first" (the mask as floats listed before them,
    as some exports leave such tensors in) or "mask only" (no vectors at all). `id_type`: the inputs'
    element type (some exports take int32).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(len(WORDS), dimensions)).astype(np.float32)
    table[WORDS.index("boat")] = table[WORDS.index("vessel")] = table[WORDS.index("ship")]
    vectors = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", dimensions])
    mask = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", "sequence"])
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"], axis=0),
            helper.make_node("Cast", ["attention_mask"], ["output"], to=TensorProto.FLOAT),
        ],
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", id_type, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", id_type, ["batch", "sequence"]),
        ],
        {"vectors": [vectors], "mask first": [mask, vectors], "mask only": [mask]}[outputs],
        [numpy_helper.from_array(table, "table")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, folder / "model.onnx")
    tokenizer = Tokenizer(models.WordLevel({word: i for i, word in enumerate(WORDS)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))
    return folder
