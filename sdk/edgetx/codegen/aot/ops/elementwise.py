"""Element-wise binary operators with broadcasting: ADD, SUB, MUL, SQUARED_DIFFERENCE.

An int8 operator whose other operand is one constant value is a function of one int8 input:
it becomes a 256-entry table computed here with the runtime's exact arithmetic.
"""

from __future__ import annotations

import numpy as np

from edgetx.codegen.aot import fixedpoint as fx
from edgetx.codegen.aot.ops.common import (
    MAX_DIMS,
    Context,
    Emitted,
    Emitter,
    activation_range,
    c_array,
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


def _coalesce(
    shape: tuple[int, ...], st1: list[int], st2: list[int]
) -> tuple[list[int], list[int], list[int]]:
    """Merge neighbouring dimensions both inputs step through as one, and drop dimensions of 1:
    the runtime's innermost loop then runs as long as it can (a residual ADD is one run)."""
    dims = [(n, a, b) for n, a, b in zip(shape, st1, st2, strict=True) if n != 1] or [(1, 0, 0)]
    out = [dims[0]]
    for n, a, b in dims[1:]:
        pn, pa, pb = out[-1]
        if pa == a * n and pb == b * n:
            out[-1] = (pn * n, a, b)
        else:
            out.append((n, a, b))
    return [d[0] for d in out], [d[1] for d in out], [d[2] for d in out]


def _binary_params(op: Operator, a: Tensor, b: Tensor, out: Tensor) -> list[int]:
    """[left_shift, m1, s1, m2, s2, mo, so] as TFLM's Prepare computes them."""
    s1, s2, so = scale(a), scale(b), scale(out)
    wide = out.dtype == "INT16"
    if op.opcode == "MUL":
        mo, sho = fx.quantize_multiplier(s1 * s2 / so)
        return [0, 0, 0, 0, 0, mo, sho]
    if op.opcode in ("ADD", "SUB"):  # in double, as the wheel does (float32 broke a full SUB)
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


def binary_one(kind: str, params: list[int], zps: tuple[int, int, int], lo: int, hi: int,
               x: int, y: int) -> int:  # fmt: skip
    """One output element, as the runtime's etx_binary computes it."""
    left, m1, s1, m2, s2, mo, so = params
    a, b = x - zps[0], y - zps[1]
    if kind == "MUL":
        raw = fx.mbqm(fx.wrap32(a * b), mo, so)
    else:
        sa = fx.rdbpot(fx.srdhm(fx.wrap32(a << left), m1), -s1)
        sb = fx.rdbpot(fx.srdhm(fx.wrap32(b << left), m2), -s2)
        if kind == "SQUARED_DIFFERENCE":
            raw = fx.mbqm(fx.wrap32((sa - sb) * (sa - sb)), mo, so)
        else:
            raw = fx.rdbpot(fx.srdhm(sa + sb if kind == "ADD" else sa - sb, mo), -so)
    return min(hi, max(lo, raw + zps[2]))


def _scalar_operand(ctx: Context, op: Operator, out: Tensor) -> int | None:
    """Which input (0 or 1) is one constant value the other input's shape does not grow, if any.

    Tabulated only when the operator has at least as many elements as the table's 256 entries:
    below that the table costs more flash than it saves instructions.
    """
    if out.dtype != "INT8" or out.size < 256:
        return None
    for i, t in enumerate(op.inputs[:2]):
        c, other = ctx.tensor(t), ctx.tensor(op.inputs[1 - i])
        if c.is_constant and other.size == out.size and np.all(c.data == c.data.ravel()[0]):
            return i
    return None


def emit_binary(ctx: Context, op: Operator, name: str) -> Emitted:
    m = ctx.model
    a, b, out = (m.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    shape = out.shape or (1,)
    if len(shape) > MAX_DIMS:
        raise UnsupportedModel(f"{op.opcode} #{op.index} has more than {MAX_DIMS} dimensions")
    st1, st2 = _broadcast_strides(a.shape, shape), _broadcast_strides(b.shape, shape)
    shape, st1, st2 = _coalesce(shape, st1, st2)
    params = _binary_params(op, a, b, out)
    left, m1, s1, m2, s2, mo, so = params
    lo, hi = qrange(out) if op.opcode == "SQUARED_DIFFERENCE" else activation_range(op, out)
    scalar = _scalar_operand(ctx, op, out)
    if scalar is not None:
        zps = (zero_point(a), zero_point(b), zero_point(out))
        c = int(ctx.tensor(op.inputs[scalar]).data.ravel()[0])
        table = [
            binary_one(op.opcode, params, zps, lo, hi, *((q, c) if scalar else (c, q)))
            for q in (*range(128), *range(-128, 0))  # indexed by the input byte as unsigned
        ]
        x = op.inputs[1 - scalar]
        consts = [c_array(f"{name}_t", np.array(table), np.int8)]
        call = f"etx_lookup({name}_t, {ctx.ptr(x)}, {ctx.ptr(op.outputs[0])}, {out.size});"
        return Emitted(call, consts)
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
