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
    smmlar_round_zp,
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


def binop_init(op: Operator, a: Tensor, b: Tensor, out: Tensor) -> str:
    """The C initializer of op's etx_binop with inputs a, b (in that order)."""
    left, m1, s1, m2, s2, mo, so = _binary_params(op, a, b, out)
    lo, hi = qrange(out) if op.opcode == "SQUARED_DIFFERENCE" else activation_range(op, out)
    kind = {"ADD": "ETX_ADD", "SUB": "ETX_SUB", "MUL": "ETX_MUL",
            "SQUARED_DIFFERENCE": "ETX_SQDIFF"}[op.opcode]  # fmt: skip
    return (
        f"{{{kind}, {-zero_point(a)}, {-zero_point(b)}, {zero_point(out)}, {left}, {m1}, {s1}, "
        f"{m2}, {s2}, {mo}, {so}, {lo}, {hi}}}"
    )


def binary_table(op: Operator, x: Tensor, c: Tensor, out: Tensor, c_first: bool) -> list[int]:
    """op with the constant scalar c as a function of the int8 x: 256 outputs, in the order
    of x's values -128..127."""
    a, b = (c, x) if c_first else (x, c)
    params = _binary_params(op, a, b, out)
    lo, hi = qrange(out) if op.opcode == "SQUARED_DIFFERENCE" else activation_range(op, out)
    zps = (zero_point(a), zero_point(b), zero_point(out))
    v = int(c.data.ravel()[0])
    return [
        binary_one(op.opcode, params, zps, lo, hi, *((v, q) if c_first else (q, v)))
        for q in range(-128, 128)
    ]


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


SMALL_CONSTANT = 64  # elements: their rescaled int32 values cost at most 256 B of flash


def _prescaled(ctx: Context, op: Operator, out: Tensor) -> tuple[int, list[int]] | None:
    """(which input is constant, its values rescaled) for an int8 ADD or MUL of an activation
    and a small constant (a LayerNorm's scale or shift), where the runtime's fast form holds:
    etx_binary_k then adds, or multiplies by, the generation-time values 2 * rescaled(c) (ADD:
    plus the activation's rescaling constant) or 2 * (c + offset) (MUL)."""
    if op.opcode not in ("ADD", "MUL") or out.dtype != "INT8":
        return None
    consts = [i for i, t in enumerate(op.inputs[:2]) if ctx.tensor(t).is_constant]
    if len(consts) != 1 or ctx.tensor(op.inputs[consts[0]]).size > SMALL_CONSTANT:
        return None
    k = consts[0]
    x, c = ctx.tensor(op.inputs[1 - k]), ctx.tensor(op.inputs[k])
    if x.size != out.size or activation_range(op, out) != (-128, 127):
        return None
    left, mx, sx, mc, sc, _, so = _binary_params(op, x, c, out)
    if not 2 <= -so <= 22:
        return None
    values = c.data.ravel().astype(np.int64)
    if op.opcode == "MUL":
        return k, [2 * (int(v) - zero_point(c)) for v in values]
    if (mx, sx) != (1 << 30, 0):  # the activation's rescaling must be the exact one
        return None
    base = -zero_point(x) << (left - 1)
    scaled = [fx.rdbpot(fx.srdhm((int(v) - zero_point(c)) << left, mc), -sc) for v in values]
    return k, [2 * (base + v) for v in scaled]


def _sum_table(
    op: Operator, a: Tensor, b: Tensor, out: Tensor
) -> tuple[list[int], list[int]] | None:
    """For an int8 ADD (or SUB of the input of larger scale less the other) of two whole
    tensors where the runtime's fast form holds, etx_add_table's (params, table): the smaller
    input y's exact rescaling is (y + offset) * q + e[y] with e[y] in int8 (q the nearest slope
    that allows it), so that 2 * (the rescaled sum) is (x << 20) + y * 2q + k2 + 2 * e[y]."""
    if op.opcode not in ("ADD", "SUB") or out.dtype != "INT8" or a.size != b.size:
        return None
    if a.size != out.size or activation_range(op, out) != (-128, 127):
        return None
    left, m1, s1, m2, s2, mo, so = _binary_params(op, a, b, out)
    if not 2 <= -so <= 22:
        return None
    if (m1, s1) == (1 << 30, 0):
        swap, (m, sh), zx, zy = False, (m2, s2), zero_point(a), zero_point(b)
    elif (m2, s2) == (1 << 30, 0) and op.opcode == "ADD":
        swap, (m, sh), zx, zy = True, (m1, s1), zero_point(b), zero_point(a)
    else:
        return None
    sign = -1 if op.opcode == "SUB" else 1
    scaled = [sign * fx.rdbpot(fx.srdhm(fx.wrap32((y - zy) << left), m), -sh)
              for y in range(-128, 128)]  # fmt: skip
    slope = round((scaled[-1] - scaled[0]) / 255)
    for q in (slope, slope - 1, slope + 1):
        e = [v - (y - zy) * q for y, v in zip(range(-128, 128), scaled, strict=True)]
        if min(e) >= -128 and max(e) <= 127:
            k2 = 2 * ((-zx << (left - 1)) - zy * q)
            params = [int(swap), 2 * q, k2, mo, smmlar_round_zp(so, zero_point(out)), -so]
            return params, e
    return None


def emit_binary(ctx: Context, op: Operator, name: str) -> Emitted:
    m = ctx.model
    a, b, out = (m.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    shape = out.shape or (1,)
    if len(shape) > MAX_DIMS:
        raise UnsupportedModel(f"{op.opcode} #{op.index} has more than {MAX_DIMS} dimensions")
    st1, st2 = _broadcast_strides(a.shape, shape), _broadcast_strides(b.shape, shape)
    shape, st1, st2 = _coalesce(shape, st1, st2)
    scalar = _scalar_operand(ctx, op, out)
    if scalar is not None:
        x = op.inputs[1 - scalar]
        table = binary_table(op, ctx.tensor(x), ctx.tensor(op.inputs[scalar]), out, scalar == 0)
        # indexed by the input byte as unsigned
        consts = [c_array(f"{name}_t", np.array(table[128:] + table[:128]), np.int8)]
        call = f"etx_lookup({name}_t, {ctx.ptr(x)}, {ctx.ptr(op.outputs[0])}, {out.size});"
        return Emitted(call, consts)
    summed = _sum_table(op, a, b, out)
    if summed is not None:
        params, e = summed
        ins = [ctx.ptr(t) for t in op.inputs[:2]]
        x, y = ins[::-1] if params[0] else ins
        consts = [
            f"static const etx_add_table_params {name}_p = {{{out.size}, "
            + ", ".join(str(v) for v in params[1:])
            + "};",
            c_array(f"{name}_e", np.array(e), np.int8),
        ]
        call = f"etx_add_table(&{name}_p, {x}, {y}, {name}_e + 128, {ctx.ptr(op.outputs[0])});"
        return Emitted(call, consts)
    pre = _prescaled(ctx, op, out)
    if pre is not None:  # the activation first, the constant as its prescaled values
        k, values = pre
        x = op.inputs[1 - k]
        xt, ct, sx, sc = (b, a, st2, st1) if k == 0 else (a, b, st1, st2)
        consts = [
            f"static const etx_binary_params {name}_p = {{{binop_init(op, xt, ct, out)}, "
            f"{len(shape)}, {c_ints(list(shape))}, {c_ints(sx)}, {c_ints(sc)}, 1}};",
            c_array(f"{name}_k", np.array(values), np.int32),
        ]
        call = f"etx_binary_k(&{name}_p, {ctx.ptr(x)}, {name}_k, {ctx.ptr(op.outputs[0])});"
        return Emitted(call, consts)
    consts = [
        f"static const etx_binary_params {name}_p = {{{binop_init(op, a, b, out)}, {len(shape)}, "
        f"{c_ints(list(shape))}, {c_ints(st1)}, {c_ints(st2)}, {out.np_dtype.itemsize}}};"
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
