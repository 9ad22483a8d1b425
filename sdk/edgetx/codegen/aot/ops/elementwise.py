"""Element-wise binary operators with broadcasting: ADD, SUB, MUL, SQUARED_DIFFERENCE."""

from __future__ import annotations

import numpy as np

from edgetx.codegen.aot import fixedpoint as fx
from edgetx.codegen.aot.ops.common import (
    MAX_DIMS,
    Context,
    Emitted,
    Emitter,
    activation_range,
    c_ints,
    qrange,
    scale,
    strides,
    zero_point,
)
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Operator, Tensor


def _broadcast_strides(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    ext = (1,) * (len(out_shape) - len(in_shape)) + tuple(in_shape)
    st = strides(ext)
    return [0 if d == 1 and o != 1 else s for d, o, s in zip(ext, out_shape, st, strict=True)]


def _binary_params(op: Operator, a: Tensor, b: Tensor, out: Tensor) -> list[int]:
    """[left_shift, m1, s1, m2, s2, mo, so] as TFLM's Prepare computes them."""
    s1, s2, so = scale(a), scale(b), scale(out)
    wide = out.dtype == "INT16"
    if op.opcode == "MUL":
        mo, sho = fx.quantize_multiplier(s1 * s2 / so)
        return [0, 0, 0, 0, 0, mo, sho]
    if op.opcode == "SUB":  # TFLM computes these in float
        f = np.float32
        twice = f(2) * max(f(s1), f(s2))
        r1, r2 = float(f(s1) / twice), float(f(s2) / twice)
        left = 15 if wide else 20
        ro = float(twice / (f(1 << left) * f(so)))
    elif op.opcode == "ADD":
        left = 15 if wide else 20
        twice = 2 * max(s1, s2)
        r1, r2, ro = s1 / twice, s2 / twice, twice / ((1 << left) * so)
    else:  # SQUARED_DIFFERENCE
        left = 0 if wide else 7
        twice = 2.0 * max(s1, s2)
        r1, r2 = s1 / twice, s2 / twice
        ro = (twice * twice) / fx.f32((1 << (2 * left)) * so)
    return [left, *fx.quantize_multiplier(r1), *fx.quantize_multiplier(r2),
            *fx.quantize_multiplier(ro)]  # fmt: skip


def emit_binary(ctx: Context, op: Operator, name: str) -> Emitted:
    m = ctx.model
    a, b, out = (m.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    shape = out.shape or (1,)
    if len(shape) > MAX_DIMS:
        raise UnsupportedModel(f"{op.opcode} #{op.index} has more than {MAX_DIMS} dimensions")
    st1, st2 = _broadcast_strides(a.shape, shape), _broadcast_strides(b.shape, shape)
    left, m1, s1, m2, s2, mo, so = _binary_params(op, a, b, out)
    lo, hi = qrange(out) if op.opcode == "SQUARED_DIFFERENCE" else activation_range(op, out)
    kind = {"ADD": "ETX_ADD", "SUB": "ETX_SUB", "MUL": "ETX_MUL",
            "SQUARED_DIFFERENCE": "ETX_SQDIFF"}[op.opcode]  # fmt: skip
    consts = [
        f"static const etx_binary_params {name}_p = {{{kind}, {-zero_point(a)}, "
        f"{-zero_point(b)}, {zero_point(out)}, {left}, {m1}, {s1}, {m2}, {s2}, {mo}, {so}, "
        f"{lo}, {hi}, {len(shape)}, {c_ints(list(shape))}, {c_ints(st1)}, {c_ints(st2)}, "
        f"{out.np_dtype.itemsize}}};"
    ]
    ins = [ctx.constant(t) if ctx.tensor(t).is_constant else ctx.addr(t) for t in op.inputs[:2]]
    call = f"etx_binary(&{name}_p, {ins[0]}, {ins[1]}, {ctx.addr(op.outputs[0])});"
    return Emitted(call, consts)


INT8: dict[str, Emitter] = {
    "ADD": emit_binary,
    "SUB": emit_binary,
    "MUL": emit_binary,
    "SQUARED_DIFFERENCE": emit_binary,
}
INT16: dict[str, Emitter] = dict(INT8)
