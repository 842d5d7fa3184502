"""Export a trained reranker to the ONNX file the bot ships: int8 weights, float scales.

Every MatMul weight is stored as int8 with one float scale per output column, and every embedding
table as int8 with one scale per row, in the form `Mul(Cast(W_int8), scale)`. That is the form the
bot's model_graph.lighten turns into onnxruntime's MatMulNBits and row-wise Gather, so the weights
stay int8 in memory too (the sentence model's file uses the same form). The export is checked
against the PyTorch model on held-out pairs before it is written.

    python train/reranker/export.py --checkpoint RUN/final.pt --base MODEL_FOLDER --out model.onnx \
        --check held_out.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from transformers import AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import MAX_TOKENS, CrossEncoder  # noqa: E402

OPSET = 17


def export_float(model: CrossEncoder, path: Path) -> None:
    model.eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    torch.onnx.export(
        model,
        (ids, torch.ones_like(ids), torch.zeros_like(ids)),
        str(path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
        | {"logits": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )


def quantize(model: onnx.ModelProto) -> onnx.ModelProto:
    """Weights to int8 in place: per output column for MatMul, per row for Gather tables."""
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    added_nodes, replaced = [], {}
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in initializers:
            slot, axis = 1, 0  # scale per output column: reduce over rows
        elif node.op_type == "Gather" and node.input[0] in initializers:
            slot, axis = 0, 1  # scale per row
        else:
            continue
        name = node.input[slot]
        tensor = initializers[name]
        weights = numpy_helper.to_array(tensor)
        if weights.ndim != 2 or weights.dtype != np.float32 or uses[name] != 1 or weights.size < 4096:
            continue
        scale = np.maximum(np.abs(weights).max(axis=axis, keepdims=True), 1e-12) / 127.0
        quantized = np.clip(np.round(weights / scale), -127, 127).astype(np.int8)
        scale = scale.reshape(-1) if axis == 0 else scale  # [N] for MatMul, [rows, 1] for Gather
        replaced[name] = (
            numpy_helper.from_array(quantized, f"{name}_int8"),
            numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale"),
        )
        added_nodes += [
            helper.make_node("Cast", [f"{name}_int8"], [f"{name}_cast"], f"{name}_Cast", to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{name}_cast", f"{name}_scale"], [f"{name}_dequantized"], f"{name}_Mul"),
        ]
        node.input[slot] = f"{name}_dequantized"
    kept = [tensor for tensor in graph.initializer if tensor.name not in replaced]
    del graph.initializer[:]
    graph.initializer.extend(kept + [t for pair in replaced.values() for t in pair])
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(added_nodes + nodes)
    return model


def check(path: Path, model: CrossEncoder, tokenizer, pairs: list[tuple[str, str]]) -> float:
    """The largest difference in probability between the int8 file (as the bot loads it) and PyTorch."""
    import onnxruntime

    from bot.search.model_graph import lighten

    session = onnxruntime.InferenceSession(lighten(path.read_bytes()), providers=["CPUExecutionProvider"])
    encoded = tokenizer([q for q, _ in pairs], [s for _, s in pairs], truncation="only_second", max_length=MAX_TOKENS, padding=True, return_tensors="np")
    feed = {k: encoded[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    ours = session.run(None, feed)[0].reshape(-1)
    with torch.no_grad():
        theirs = model(*(torch.from_numpy(feed[k]) for k in ("input_ids", "attention_mask", "token_type_ids"))).numpy()
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    return float(np.abs(sigmoid(ours) - sigmoid(theirs)).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True, help="final.pt, or checkpoint.pt of a run")
    parser.add_argument("--base", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--check", type=Path, help="held-out groups (data.py --held-out) to compare outputs on")
    args = parser.parse_args()
    model = CrossEncoder(args.base)
    state = torch.load(args.checkpoint, weights_only=False)
    model.load_state_dict(state.get("model", state) if isinstance(state, dict) and "model" in state else state)
    model.eval()
    with tempfile.TemporaryDirectory() as folder:
        float_path = Path(folder) / "float.onnx"
        export_float(model, float_path)
        quantized = quantize(onnx.load(str(float_path)))
    onnx.checker.check_model(quantized)
    args.out.write_bytes(quantized.SerializeToString())
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB, sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    if args.check:
        tokenizer = AutoTokenizer.from_pretrained(args.base)
        pairs = []
        for line in args.check.open(encoding="utf-8"):
            group = json.loads(line)
            pairs += [(group["q"], s) for s in group["pos"] + group["neg"]]
            if len(pairs) >= 256:
                break
        print(f"largest probability difference, int8 file against PyTorch, {len(pairs)} held-out pairs: {check(args.out, model, tokenizer, pairs):.4f}")


if __name__ == "__main__":
    main()
