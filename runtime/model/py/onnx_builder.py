"""A thin helper over onnx.helper for writing graphs by hand.

The engine's graph is written op by op instead of traced from torch because its contract (a paged KV pool
read in place, three attention parts merged by log-sum-exp) has no torch equivalent worth tracing, and
because every op choice here is a performance decision measured in BENCHMARKS.md.
"""

from __future__ import annotations

import itertools

import numpy as np
import onnx
from onnx import TensorProto, helper

OPSET = 18  # ScatterElements with reduction="max" and Reduce* taking axes as an input need opset 18.
NEG = -1e30  # finite "minus infinity": keeps (masked - masked) = 0 instead of NaN.

_DTYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}


class Graph:
    """A graph under construction. As a `subgraph` (a branch of an If node) it declares no inputs or
    weights of its own: it reads the enclosing graph's values by name, and prefixes what it creates."""

    def __init__(self, name: str, prefix: str = "", subgraph: bool = False):
        self.name = name
        self.prefix = prefix
        self.subgraph = subgraph
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._ids = itertools.count()
        self._consts: dict[tuple, str] = {}

    def input(self, name: str, dtype: int, shape: list) -> str:
        # A subgraph records what it reads in `inputs` too; the enclosing graph declares those for it.
        self.inputs.append(helper.make_tensor_value_info(name, dtype, shape))
        return name

    def output(self, name: str, dtype: int, shape: list) -> None:
        self.outputs.append(helper.make_tensor_value_info(self.prefix + name, dtype, shape))

    def op(self, op_type: str, *inputs: str, name: str | None = None, n_out: int = 1, **attrs) -> str:
        name = self.prefix + name if name else None
        outs = [name or f"{self.prefix}{op_type.lower()}_{next(self._ids)}" for _ in range(n_out)]
        if name and n_out > 1:
            outs = [f"{name}_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, dtype=np.int64) -> str:
        arr = np.asarray(value, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._consts:
            name = f"{self.prefix}const_{len(self._consts)}"
            self.initializers.append(helper.make_tensor(name, _DTYPES[arr.dtype], arr.shape, arr.flatten().tolist()))
            self._consts[key] = name
        return self._consts[key]

    def external(self, name: str, tensor: onnx.TensorProto) -> str:
        if not self.subgraph:
            self.initializers.append(tensor)
        return name

    def as_subgraph(self) -> onnx.GraphProto:
        return helper.make_graph(self.nodes, self.name, [], self.outputs, self.initializers)  # reads outer values

    def model(self, metadata: dict[str, str]) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.initializers)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="warmgate")
        m.ir_version = 8
        for k, v in metadata.items():
            m.metadata_props.add(key=k, value=v)
        return m

    # Small vocabulary used by every graph.
    def matmul(self, a: str, b: str) -> str:
        return self.op("MatMul", a, b)

    def reshape(self, x: str, shape: list[int]) -> str:
        return self.op("Reshape", x, self.const(shape))

    def transpose(self, x: str, perm: list[int]) -> str:
        return self.op("Transpose", x, perm=perm)

    def reduce_max(self, x: str, axis: int) -> str:
        return self.op("ReduceMax", x, self.const([axis]), keepdims=1)

    def reduce_sum(self, x: str, axis: int) -> str:
        return self.op("ReduceSum", x, self.const([axis]), keepdims=1)

    def layer_norm(self, x: str, w: str, b: str, eps: float) -> str:
        return self.op("LayerNormalization", x, w, b, axis=-1, epsilon=eps)

    def gelu(self, x: str) -> str:
        # exact GELU, 0.5 x (1 + erf(x / sqrt 2)); ORT fuses this pattern into one Gelu kernel.
        inner = self.op("Erf", self.op("Div", x, self.const(np.sqrt(2.0), np.float32)))
        return self.op("Mul", self.op("Mul", x, self.const(0.5, np.float32)),
                       self.op("Add", inner, self.const(1.0, np.float32)))


class WeightFile:
    """All graphs of one model point into one shared weights file (ONNX external data)."""

    ALIGN = 64

    def __init__(self, location: str):
        self.location = location
        self.blob = bytearray()
        self.tensors: dict[str, tuple[int, int, tuple[int, ...]]] = {}

    def add(self, name: str, arr: np.ndarray) -> None:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        pad = (-len(self.blob)) % self.ALIGN
        self.blob.extend(b"\0" * pad)
        self.tensors[name] = (len(self.blob), arr.nbytes, arr.shape)
        self.blob.extend(arr.tobytes())

    def tensor(self, name: str) -> onnx.TensorProto:
        offset, length, shape = self.tensors[name]
        t = onnx.TensorProto()
        t.name = name
        t.data_type = TensorProto.FLOAT
        t.dims.extend(shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.location), ("offset", str(offset)), ("length", str(length))):
            entry = t.external_data.add()
            entry.key, entry.value = k, v
        return t
