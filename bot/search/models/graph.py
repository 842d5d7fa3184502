"""Rewrite a weight-only int8 ONNX graph so that onnxruntime keeps its weights as int8.

The default model stores each weight as int8 plus a float scale and dequantizes it in the graph
(`Mul(Cast(W_q), scale)`). onnxruntime constant-folds that at session load, so the process ends
up holding every weight as float32: loading the model added 182 MB of RSS. `lighten` rewrites the
two places those weights are used so that nothing constant is left to fold (94 MB with both
rewrites; figures from bench/model_memory.py):

* `Gather(Mul(Cast(W_q), scale), ids)` -> `Mul(Cast(Gather(W_q, ids)), Gather(scale, ids))`:
  only the rows a question needs are dequantized; the result is bit-for-bit the same.
* `MatMul(A, Mul(Cast(W_q), scale))` with one scale per output column (or one in all) ->
  onnxruntime's `com.microsoft.MatMulNBits` with bits=8 (onnxruntime >= 1.22): the weight
  stays int8 and A is quantized in blocks of 32 along K while multiplying (accuracy_level 4).
  Vectors agree with the original model at cosine >= 0.999; batches take ~30% more CPU time
  on an AVX2 CPU without VNNI, single questions no more. `DynamicQuantizeMatMul` was measured too and rejected: it quantizes
  all of A with one scale, and agrees at mean cosine 0.994 (min 0.979), under the 0.995 we require.

The ONNX file is read and written with `protobuf` (which onnxruntime itself depends on) through a
schema of only the fields used here; protobuf keeps every other field as it was. Importing the
`onnx` package instead would cost about 2 s and 17 MB at start-up. Whatever is not recognised is
left exactly as it is: a model with nothing to rewrite comes back as the very same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import cache

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

# Quantization blocks along K for MatMulNBits: 32 agreed at cosine >= 0.999 with the original
# model on WikiQA's sentences, 128 at >= 0.996, with no difference in speed (bench/model_memory.py).
BLOCK_SIZE = 32
_FLOAT, _UINT8, _INT8 = 1, 2, 3  # TensorProto.DataType
_EXTERNAL = 1  # TensorProto.DataLocation
_STANDARD_DOMAINS = ("", "ai.onnx")
_MS_DOMAIN = "com.microsoft"

# The part of onnx.proto (proto2) this module reads or writes: message -> (field, number, type, repeated).
# A type in capitals is a message of this schema.
_SCHEMA: dict[str, tuple[tuple[str, int, str, bool], ...]] = {
    "ModelProto": (("graph", 7, "GraphProto", False), ("opset_import", 8, "OperatorSetIdProto", True)),
    "OperatorSetIdProto": (("domain", 1, "string", False), ("version", 2, "int64", False)),
    "GraphProto": (
        ("node", 1, "NodeProto", True),
        ("initializer", 5, "TensorProto", True),
        ("input", 11, "ValueInfoProto", True),
        ("output", 12, "ValueInfoProto", True),
        ("value_info", 13, "ValueInfoProto", True),
    ),
    "ValueInfoProto": (("name", 1, "string", False),),
    "NodeProto": (
        ("input", 1, "string", True),
        ("output", 2, "string", True),
        ("name", 3, "string", False),
        ("op_type", 4, "string", False),
        ("attribute", 5, "AttributeProto", True),
        ("domain", 7, "string", False),
    ),
    "AttributeProto": (
        ("name", 1, "string", False),
        ("i", 3, "int64", False),
        ("g", 6, "GraphProto", False),
        ("graphs", 11, "GraphProto", True),
        ("type", 20, "int32", False),
    ),
    "TensorProto": (
        ("dims", 1, "int64", True),
        ("data_type", 2, "int32", False),
        ("float_data", 4, "float", True),
        ("int32_data", 5, "int32", True),
        ("name", 8, "string", False),
        ("raw_data", 9, "bytes", False),
        ("data_location", 14, "int32", False),
    ),
}
_ATTRIBUTE_INT = 2  # AttributeProto.AttributeType.INT
_FIELD_TYPES = {
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "bytes": descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
    "int64": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "int32": descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    "float": descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT,
}


def lighten(model: bytes, *, gathers: bool = True, matmuls: bool = True) -> bytes:
    """`model` with its dequantized Gather tables and MatMul weights kept as int8 (see the module doc).

    `gathers` and `matmuls` choose the rewrites (both by default). Bytes that are not an ONNX
    model, or a model with nothing to rewrite, come back unchanged.
    """
    try:
        proto = _messages()["ModelProto"].FromString(model)
    except DecodeError:
        return model
    rewriter = _Rewriter(proto)
    changed = rewriter.run(gathers=gathers, matmuls=matmuls)
    return proto.SerializeToString() if changed else model


@cache
def _messages() -> dict[str, type[Message]]:
    """Message classes for `_SCHEMA`, in a pool of their own so they clash with no onnx import."""
    file = descriptor_pb2.FileDescriptorProto(name="bot_onnx_subset.proto", package="bot_onnx_subset", syntax="proto2")
    for message_name, fields in _SCHEMA.items():
        message = file.message_type.add(name=message_name)
        for field_name, number, kind, repeated in fields:
            field = message.field.add(name=field_name, number=number)
            field.label = field.LABEL_REPEATED if repeated else field.LABEL_OPTIONAL
            if kind in _SCHEMA:
                field.type = field.TYPE_MESSAGE
                field.type_name = f".bot_onnx_subset.{kind}"
            else:
                field.type = _FIELD_TYPES[kind]
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"bot_onnx_subset.{name}")) for name in _SCHEMA
    }


class _Rewriter:
    """One pass over a model's main graph; subgraphs are only read, to count who uses a value."""

    def __init__(self, model: Message) -> None:
        self.model = model
        self.graph = model.graph
        self.initializers = {t.name: t for t in self.graph.initializer}
        # An initializer that is also a graph input can be overridden at run time: not a constant.
        for value in self.graph.input:
            self.initializers.pop(value.name, None)
        self.producers = {output: node for node in self.graph.node for output in node.output}
        self.uses = Counter(name for node in _all_nodes(self.graph) for name in node.input)
        self.uses.update(value.name for value in self.graph.output)
        self.names = set(self.uses) | {name for node in _all_nodes(self.graph) for name in node.output}
        self.names |= {t.name for t in self.graph.initializer} | {value.name for value in self.graph.input}
        self.names |= {node.name for node in _all_nodes(self.graph)}  # onnxruntime wants node names unique too
        self.dropped: set[str] = set()  # outputs of the Cast and Mul nodes that rewritten patterns no longer need
        self.released: set[str] = set()  # initializers those patterns read, removed if nothing else does
        self.new_initializers: list[Message] = []

    def run(self, *, gathers: bool, matmuls: bool) -> bool:
        """Rewrite in place; True when anything changed."""
        nodes: list[Message] = []
        for node in self.graph.node:
            replacement = None
            if gathers and _is(node, "Gather") and _int_attribute(node, "axis", 0) == 0 and len(node.input) == 2:
                replacement = self._gather(node)
            elif matmuls and _is(node, "MatMul") and len(node.input) == 2:
                replacement = self._matmul(node)
            nodes.extend(replacement if replacement is not None else [node])
        if not self.dropped:
            return False
        del self.graph.node[:]
        self.graph.node.extend(node for node in nodes if not (len(node.output) == 1 and node.output[0] in self.dropped))
        self.graph.initializer.extend(self.new_initializers)
        stale = [i for i, value in enumerate(self.graph.value_info) if value.name in self.dropped]
        for index in reversed(stale):
            del self.graph.value_info[index]
        used = {name for node in _all_nodes(self.graph) for name in node.input} | {v.name for v in self.graph.output}
        released = [i for i, t in enumerate(self.graph.initializer) if t.name in self.released and t.name not in used]
        for index in reversed(released):
            del self.graph.initializer[index]
        if self.new_initializers and not any(o.domain == _MS_DOMAIN for o in self.model.opset_import):
            self.model.opset_import.add(domain=_MS_DOMAIN, version=1)
        return True

    def _gather(self, node: Message) -> list[Message] | None:
        """Gather rows of the int8 table, then dequantize just those rows with their scales."""
        found = self._dequantized(node.input[0])
        if found is None:
            return None
        mul, cast, table, scale = found
        if len(table.dims) != 2:
            return None
        rows, width = table.dims
        per_row = list(scale.dims) == [rows, 1]
        if not per_row and _size(scale) != 1 and list(scale.dims) not in ([width], [1, width]):
            return None
        ids, out = node.input[1], node.output[0]
        q, f = self._fresh(f"{out}_q"), self._fresh(f"{out}_f")
        make, fresh = _node, self._fresh
        replacement = [
            make("Gather", [table.name, ids], [q], fresh(f"{node.name}_q"), axis=0),
            make("Cast", [q], [f], fresh(f"{node.name}_cast"), to=_FLOAT),
        ]
        scales = scale.name
        if per_row:
            scales = fresh(f"{out}_scale")
            replacement.append(make("Gather", [scale.name, ids], [scales], fresh(f"{node.name}_scale"), axis=0))
        replacement.append(make("Mul", [f, scales], [out], node.name))
        self._drop(mul, cast, table, scale)
        return replacement

    def _matmul(self, node: Message) -> list[Message] | None:
        """MatMulNBits over the int8 weight, stored as MatMulNBits wants it: uint8, transposed, in blocks."""
        found = self._dequantized(node.input[1])
        if found is None:
            return None
        mul, cast, weight, scale = found
        if len(weight.dims) != 2 or min(weight.dims) == 0:
            return None
        k, n = weight.dims
        if _size(scale) != 1 and list(scale.dims) not in ([n], [1, n]):
            return None
        w, s = _array(weight, np.int8), _array(scale, np.float32)
        if w is None or s is None or not np.isfinite(s).all():
            return None
        blocks = -(-k // BLOCK_SIZE)
        # Stored weights are unsigned with MatMulNBits' default zero point of 128: int8 q is q + 128.
        packed = np.full((n, blocks * BLOCK_SIZE), 128, dtype=np.uint8)
        packed[:, :k] = (w.T.astype(np.int16) + 128).astype(np.uint8)
        scales = np.broadcast_to(s.reshape(-1, 1), (n, blocks)).astype(np.float32)
        b_name, s_name = self._fresh(f"{weight.name}_nbits"), self._fresh(f"{scale.name}_nbits")
        self.new_initializers += [
            _tensor(b_name, packed.reshape(n, blocks, BLOCK_SIZE), _UINT8),
            _tensor(s_name, scales, _FLOAT),
        ]
        self._drop(mul, cast, weight, scale)
        return [
            _node(
                "MatMulNBits", [node.input[0], b_name, s_name], list(node.output), node.name, _MS_DOMAIN,
                K=k, N=n, bits=8, block_size=BLOCK_SIZE, accuracy_level=4,
            )
        ]

    def _dequantized(self, name: str) -> tuple[Message, Message, Message, Message] | None:
        """(Mul, Cast, int8 weight, float scale) when `name` is `Mul(Cast(weight), scale)` used once, else None."""
        mul = self.producers.get(name)
        if mul is None or not _is(mul, "Mul") or len(mul.input) != 2 or self.uses[name] != 1:
            return None
        for cast_output, scale_name in (mul.input, reversed(mul.input)):
            cast = self.producers.get(cast_output)
            scale = self.initializers.get(scale_name)
            if cast is None or scale is None or not _is(cast, "Cast") or len(cast.input) != 1:
                continue
            weight = self.initializers.get(cast.input[0])
            if (
                weight is not None
                and weight.data_type == _INT8
                and scale.data_type == _FLOAT
                and _int_attribute(cast, "to", 0) == _FLOAT
                and self.uses[cast_output] == 1
                and weight.data_location != _EXTERNAL
                and scale.data_location != _EXTERNAL
            ):
                return mul, cast, weight, scale
        return None

    def _drop(self, mul: Message, cast: Message, *initializers: Message) -> None:
        self.dropped.update((mul.output[0], cast.output[0]))
        self.released.update(t.name for t in initializers)

    def _fresh(self, name: str) -> str:
        """`name`, or `name_2`, `name_3`...: the first not yet used for a value or a node anywhere in the model."""
        candidate, n = name, 1
        while candidate in self.names:
            n += 1
            candidate = f"{name}_{n}"
        self.names.add(candidate)
        return candidate


def _node(op: str, inputs: list[str], outputs: list[str], name: str, domain: str = "", **ints: int) -> Message:
    node = _messages()["NodeProto"](op_type=op, input=inputs, output=outputs, name=name, domain=domain)
    for key, value in ints.items():
        node.attribute.add(name=key, i=value, type=_ATTRIBUTE_INT)
    return node


def _tensor(name: str, values: np.ndarray, data_type: int) -> Message:
    """An initializer in raw_data, little-endian as ONNX stores it."""
    raw = np.ascontiguousarray(values).astype(values.dtype.newbyteorder("<"), copy=False).tobytes()
    return _messages()["TensorProto"](name=name, dims=values.shape, data_type=data_type, raw_data=raw)


def _all_nodes(graph: Message) -> Iterator[Message]:
    """Every node of `graph` and of the graphs inside its nodes' attributes (If, Loop, Scan bodies)."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _all_nodes(attribute.g)
            for subgraph in attribute.graphs:
                yield from _all_nodes(subgraph)


def _is(node: Message, op: str) -> bool:
    return node.op_type == op and node.domain in _STANDARD_DOMAINS


def _int_attribute(node: Message, name: str, default: int) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return attribute.i
    return default


def _size(tensor: Message) -> int:
    return int(np.prod(tensor.dims, dtype=np.int64))


def _array(tensor: Message, dtype: type[np.generic]) -> np.ndarray | None:
    """The tensor's values, from raw_data or the typed field; None when they do not match its dims."""
    raw = tensor.raw_data
    if raw:
        kind = np.dtype(dtype).newbyteorder("<")
        if len(raw) != _size(tensor) * kind.itemsize:
            return None
        values = np.frombuffer(raw, dtype=kind)
    elif dtype is np.float32:
        values = np.array(tensor.float_data, dtype=np.float32)
    else:
        values = np.array(tensor.int32_data, dtype=np.int32).astype(dtype)
    if values.size != _size(tensor):
        return None
    return values.reshape(tuple(tensor.dims))
