"""Build single-operator int8/int16 .tflite flatbuffers in Python, and run them in TFLM.

The kernel tests use these to compare one AOT kernel with TFLite Micro's, on
shapes and quantization parameters chosen by the test rather than a converter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

_TYPES = {
    np.dtype(np.int8): s.TensorType.INT8,
    np.dtype(np.int16): s.TensorType.INT16,
    np.dtype(np.int32): s.TensorType.INT32,
    np.dtype(np.int64): s.TensorType.INT64,
}


@dataclass
class Spec:
    """One tensor: shape, type and quantization; data makes it a constant."""

    shape: tuple[int, ...]
    dtype: Any = np.int8
    scale: float | list[float] | None = None
    zero_point: int | list[int] = 0
    data: np.ndarray | None = None
    quantized_dimension: int = 0


def const(values: Any, dtype: Any = np.int32, **quant: Any) -> Spec:
    arr = np.asarray(values, dtype)
    return Spec(tuple(arr.shape), dtype, data=arr, **quant)


def options(kind: str, **fields: Any) -> tuple[int, Any]:
    """Builtin options by schema name, e.g. options("Conv2DOptions", strideW=1)."""
    obj = getattr(s, f"{kind}T")()
    for k, v in fields.items():
        if not hasattr(obj, k):
            raise AttributeError(f"{kind} has no field {k}")
        setattr(obj, k, v)
    return getattr(s.BuiltinOptions, kind), obj


def model_bytes(
    ops: list[tuple[str, list[int], list[int], tuple[int, Any] | None]],
    tensors: list[Spec],
    inputs: list[int],
    outputs: list[int],
) -> bytes:
    """A one-subgraph model. ops: (opcode name, input indices, output indices, options)."""
    m = s.ModelT()
    m.version = 3
    m.buffers = [s.BufferT()]
    g = s.SubGraphT()
    g.tensors = []
    for i, spec in enumerate(tensors):
        t = s.TensorT()
        t.name = f"t{i}".encode()
        t.shape = list(spec.shape)
        t.type = _TYPES[np.dtype(spec.dtype)]
        t.buffer = 0
        if spec.data is not None:
            buf = s.BufferT()
            buf.data = np.frombuffer(np.asarray(spec.data, spec.dtype).tobytes(), np.uint8)
            m.buffers.append(buf)
            t.buffer = len(m.buffers) - 1
        if spec.scale is not None:
            q = s.QuantizationParametersT()
            q.scale = list(np.atleast_1d(np.asarray(spec.scale, np.float32)).astype(float))
            zps = np.atleast_1d(spec.zero_point).astype(np.int64)
            q.zeroPoint = [int(z) for z in np.broadcast_to(zps, (len(q.scale),))]
            q.quantizedDimension = spec.quantized_dimension
            t.quantization = q
        g.tensors.append(t)
    codes: list[str] = []
    g.operators = []
    for name, ins, outs, opts in ops:
        if name not in codes:
            codes.append(name)
        op = s.OperatorT()
        op.opcodeIndex = codes.index(name)
        op.inputs, op.outputs = list(ins), list(outs)
        if opts is not None:
            op.builtinOptionsType, op.builtinOptions = opts
        g.operators.append(op)
    g.inputs, g.outputs = list(inputs), list(outputs)
    m.subgraphs = [g]
    m.operatorCodes = []
    for name in codes:
        c = s.OperatorCodeT()
        code = getattr(s.BuiltinOperator, name)
        c.builtinCode = code
        c.deprecatedBuiltinCode = min(code, 127)
        c.version = 1
        m.operatorCodes.append(c)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def single_op(
    opcode: str, inputs: list[Spec], output: Spec, opts: tuple[int, Any] | None = None
) -> bytes:
    """A model of one operator; its first input is the model input, the rest constants."""
    tensors = [*inputs, output]
    n = len(inputs)
    return model_bytes([(opcode, list(range(n)), [n], opts)], tensors, [0], [n])


def tflm_run(model: bytes, xs: np.ndarray) -> np.ndarray:
    """Run each row of xs (any int type) through the TFLM interpreter; flat outputs."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 22)
    shape = tuple(interp.get_input_details(0)["shape"])
    outs = []
    for x in xs:
        interp.set_input(np.asarray(x).reshape(shape), 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).ravel())
    return np.stack(outs)
