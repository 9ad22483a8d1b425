"""Read a .tflite flatbuffer into plain Python objects, without TensorFlow.

Uses the schema bindings shipped in the tflite-micro wheel, the same package
that is the reference interpreter, so reader and reference agree on the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgetx.errors import UserError

_DTYPES = {
    "FLOAT32": np.float32, "INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16,
    "INT32": np.int32, "INT64": np.int64, "BOOL": np.bool_, "FLOAT16": np.float16,
}  # fmt: skip


def _schema() -> Any:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def _enum_names(enum_class: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_")}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # schema name: "INT8", "INT32", "FLOAT32", ...
    scale: np.ndarray  # float32, empty when not quantized
    zero_point: np.ndarray  # int64, empty when not quantized
    quantized_dimension: int
    data: np.ndarray | None  # constant contents, None for activations

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(_DTYPES[self.dtype]).itemsize

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(_DTYPES[self.dtype])

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass
class Operator:
    index: int
    opcode: str  # builtin operator name, e.g. "FULLY_CONNECTED"
    inputs: list[int]  # tensor indices; -1 marks an omitted optional input
    outputs: list[int]
    options: Any  # the schema's builtin options object (None when the op has none)


@dataclass
class Model:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    raw: bytes = field(repr=False)

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    @property
    def input(self) -> Tensor:
        return self.tensors[self.inputs[0]]

    @property
    def output(self) -> Tensor:
        return self.tensors[self.outputs[0]]

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.operators:
            counts[op.opcode] = counts.get(op.opcode, 0) + 1
        return dict(sorted(counts.items()))


def parse_model(raw: bytes) -> Model:
    """Parse flatbuffer bytes. Only the first subgraph is read (edgetx models have one)."""
    s = _schema()
    try:
        m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(raw, 0))
    except Exception as e:  # the flatbuffer library raises assorted errors on garbage
        raise UserError(f"not a valid .tflite flatbuffer ({type(e).__name__}: {e})") from None
    if not m.subgraphs:
        raise UserError("the .tflite file has no subgraph")
    op_names = _enum_names(s.BuiltinOperator)
    type_names = _enum_names(s.TensorType)
    g = m.subgraphs[0]

    tensors = []
    for i, t in enumerate(g.tensors):
        dtype = type_names[t.type]
        buf = m.buffers[t.buffer] if t.buffer < len(m.buffers) else None
        data = None
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        if buf is not None and buf.data is not None and len(buf.data) > 0:
            data = np.frombuffer(bytes(buf.data), dtype=_DTYPES[dtype]).reshape(shape)
        q = t.quantization
        scale = np.asarray(q.scale if q is not None and q.scale is not None else [], np.float32)
        zp = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], np.int64)
        qdim = int(q.quantizedDimension) if q is not None else 0
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name or "")
        tensors.append(Tensor(i, name, shape, dtype, scale, zp, qdim, data))

    operators = []
    for i, op in enumerate(g.operators):
        code = m.operatorCodes[op.opcodeIndex]
        opcode = op_names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        inputs = [int(x) for x in (op.inputs if op.inputs is not None else [])]
        outputs = [int(x) for x in (op.outputs if op.outputs is not None else [])]
        operators.append(Operator(i, opcode, inputs, outputs, op.builtinOptions))

    return Model(tensors, operators, list(g.inputs), list(g.outputs), raw)


def load_model(path: Path) -> Model:
    """Read a .tflite file, with a user-facing error when it is missing or invalid."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} not found; run 'edgetx convert' first")
    return parse_model(path.read_bytes())
