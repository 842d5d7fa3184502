"""The shipped int8 reranker back as PyTorch weights, to train a further round from it without the float ones.

A round's float weights (`final.pt`) live outside the repository and are lost with the machine; rebuilding
them takes build.sh's five hours. The int8 file holds every weight as (q - zero_point) * scale, per output
channel for the matrices and per tensor for the embeddings, and the biases and layer norms in float, so
this reads them back (the matrices transposed: ONNX multiplies by [in, out], torch.nn.Linear keeps
[out, in]). Each weight is then within half a quantization step of round 5's float weight; `--check`
compares the PyTorch model's probabilities with the int8 file's on a few held-out pairs, as export.py does.

    python train/reranker/dequantize.py --onnx bot/search/models/data/reranker/model.onnx --base MODEL_FOLDER \
        --out round5-dequantized.pt --check held-out.jsonl
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from transformers import AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export import check, held_out_pairs  # noqa: E402
from train import CrossEncoder  # noqa: E402

# The node that multiplies by a quantized matrix is named after the torch module it came from.
_MODULE = re.compile(r"^/(?P<path>.+)/(?:MatMul|Gemm)_output_0(?:_MatMul)?_output_quantized$")


def state_dict(path: Path) -> dict[str, torch.Tensor]:
    graph = onnx.load(str(path)).graph
    values = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    weights: dict[str, np.ndarray] = {}
    for name, value in values.items():
        if value.dtype == np.float32 and not name.endswith("_scale"):
            weights[name] = value
        elif name.endswith("_quantized") and name.startswith("encoder.embeddings."):
            stem = name[: -len("_quantized")]
            weights[stem] = (value.astype(np.float32) - values[stem + "_zero_point"].astype(np.float32)) * values[stem + "_scale"]
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        match = _MODULE.match(node.output[0])
        if match is None:
            raise ValueError(f"no module for {node.output[0]}")
        module = match.group("path").replace("/", ".")
        stem = node.input[1][: -len("_quantized")]
        matrix = (values[stem + "_quantized"].astype(np.float32) - values[stem + "_zero_point"].astype(np.float32)) * values[stem + "_scale"]
        weights[f"{module}.weight"] = matrix.T.copy()
    return {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in weights.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path, required=True)
    parser.add_argument("--base", required=True, help="the starting model's folder (its config and tokenizer)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--check", type=Path, help="held-out groups (data.py --held-out) to compare the probabilities on")
    args = parser.parse_args()
    model = CrossEncoder(args.base)
    weights = state_dict(args.onnx)
    expected = set(model.state_dict())
    missing, unknown = expected - set(weights), set(weights) - expected
    # position_ids is a buffer the export folds into constants; the pooler is unused (the mean is the pooling),
    # so the export dropped it and the starting point's stays.
    missing -= {"encoder.embeddings.position_ids", "encoder.pooler.dense.weight", "encoder.pooler.dense.bias"}
    if missing or unknown:
        sys.exit(f"missing {sorted(missing)}, unknown {sorted(unknown)}")
    model.load_state_dict(weights, strict=False)
    torch.save(model.state_dict(), args.out)
    print(f"{args.out}: {len(weights)} tensors")
    if args.check:
        pairs = held_out_pairs(args.check, 128)
        mean, largest = check(args.onnx, model, AutoTokenizer.from_pretrained(args.base), pairs)
        print(f"probability difference, int8 file against these weights, {len(pairs)} held-out pairs: mean {mean:.4f}, largest {largest:.4f}")


if __name__ == "__main__":
    main()
