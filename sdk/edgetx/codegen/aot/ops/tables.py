"""Operators computed from tables built at generation time with TFLM's integer arithmetic."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from edgetx.codegen.aot import fixedpoint as fx
from edgetx.codegen.aot.ops.common import Context, Emitted, Emitter, c_array, scale, zero_point
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Operator, Tensor


def rsqrt_table(op: Operator, x: Tensor, out: Tensor) -> list[int]:
    """TFLM's int8 RSQRT for each of the 256 inputs (negative inputs saturate)."""
    mult, shift = fx.quantize_multiplier(1.0 / (math.sqrt(scale(x)) * scale(out)))
    k_shift = 20
    table = []
    for q in range(-128, 128):
        value = q - zero_point(x)
        if value <= 0:  # TFLM returns the max for 0 and refuses negatives
            table.append(127)
            continue
        inv_mult, inv_shift = fx.inv_sqrt_multiplier_exp(value, -1)
        data = fx.mbqm(1, inv_mult, inv_shift + k_shift)
        y = fx.mbqm(data, mult, shift - k_shift) + zero_point(out)
        table.append(min(127, max(-128, y)))
    return table


def _q_real_table(
    op: Operator, x: Tensor, fn: Callable[[int], int], lo: int = -128, hi: int = 127
) -> list[int]:
    return [min(hi, max(lo, fn(q - zero_point(x)))) for q in range(-128, 128)]


def _sigmoid_like(op: Operator, x: Tensor, out: Tensor, kind: str) -> list[int]:
    # TANH and LOGISTIC share the Q4.27 input rescaling of TFLM's int8 Prepare.
    want = (0, 1 / 128) if kind == "TANH" else (-128, 1 / 256)
    if zero_point(out) != want[0] or np.float32(scale(out)) != np.float32(want[1]):
        raise UnsupportedModel(
            f"{op.opcode} #{op.index} output must have scale {want[1]}, zero point {want[0]} "
            "(as TFLM requires)"
        )
    integer_bits = 4
    mult, left_shift = fx.frexp_multiplier(scale(x) * (1 << (31 - integer_bits)))
    radius = fx.input_radius(integer_bits, left_shift)

    def one(v: int) -> int:
        if v <= -radius:
            return -128
        if v >= radius:
            return 127
        q4 = fx.mbqm(v, mult, left_shift)
        if kind == "TANH":
            return fx.rdbpot(fx.tanh_fp(q4, integer_bits), 24)
        return fx.rdbpot(fx.logistic_fp(q4, integer_bits), 23) - 128

    return _q_real_table(op, x, one)


def tanh_table(op: Operator, x: Tensor, out: Tensor) -> list[int]:
    return _sigmoid_like(op, x, out, "TANH")


def logistic_table(op: Operator, x: Tensor, out: Tensor) -> list[int]:
    return _sigmoid_like(op, x, out, "LOGISTIC")


def relu_table(op: Operator, x: Tensor, out: Tensor) -> list[int]:
    mult, shift = fx.quantize_multiplier(scale(x) / scale(out))
    lo = max(-128, zero_point(out))
    return _q_real_table(op, x, lambda v: fx.mbqm(v, mult, shift) + zero_point(out), lo)


def requantize_table(op: Operator, x: Tensor, out: Tensor) -> list[int]:
    """QUANTIZE between int8 scales (TFLM's Requantize)."""
    mult, shift = fx.quantize_multiplier(scale(x) / scale(out))
    lo, hi = (-32768, 32767) if out.dtype == "INT16" else (-128, 127)
    return _q_real_table(op, x, lambda v: fx.mbqm(v, mult, shift) + zero_point(out), lo, hi)


def _wrap16(v: int) -> int:
    return ((v + (1 << 15)) & 0xFFFF) - (1 << 15)


def _srdhm16(a: int, b: int) -> int:
    if a == b == -(1 << 15):
        return (1 << 15) - 1
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    return _wrap16(fx.trunc_div(ab + nudge, 1 << 15))


def _sat_shift16(v: int, amount: int) -> int:
    return min(32767, max(-32768, v * (1 << amount)))


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier then DownScaleInt32ToInt16Multiplier."""
    m32, exponent = fx.quantize_multiplier(real)
    m16 = 32767 if m32 >= fx.INT32_MAX - (1 << 15) else (m32 + (1 << 15)) >> 16
    return m16, exponent


def hard_swish_table(op: Operator, x: Tensor, out: Tensor) -> list[int]:
    f = np.float32
    hires_scale = f(1.0 / 128.0) * f(scale(x))
    out_m, out_e = _int16_multiplier(float(hires_scale / f(scale(out))))
    relu_m, relu_e = _int16_multiplier(float(hires_scale / (f(3.0) / f(32768.0))))
    if out_e > 0:
        raise UnsupportedModel(f"HARD_SWISH #{op.index}: output scale too small for TFLM")

    def one(v: int) -> int:
        hires = _wrap16(v * 128)
        preshift = _srdhm16(hires, out_m)
        reluish = hires
        if relu_e > 0:
            reluish = _sat_shift16(reluish, relu_e - 1)
        reluish = _srdhm16(reluish, relu_m)
        if relu_e > 0:
            reluish = _sat_shift16(reluish, 1)
        if relu_e < 0:
            reluish = fx.rdbpot(reluish, -relu_e)
        reluish = (reluish + (1 << 15)) >> 1
        product = 32767 if reluish == preshift == -32768 else reluish * preshift
        pre_out = _wrap16(fx.trunc_div(product, 1 << 15))
        return _wrap16(fx.rdbpot(pre_out, -out_e) + zero_point(out))

    return _q_real_table(op, x, one)


UNARY_TABLES: dict[str, Callable[[Operator, Tensor, Tensor], list[int]]] = {
    "RSQRT": rsqrt_table,
    "TANH": tanh_table,
    "LOGISTIC": logistic_table,
    "RELU": relu_table,
    "HARD_SWISH": hard_swish_table,
    "QUANTIZE": requantize_table,
}


def emit_requantize16(ctx: Context, op: Operator, name: str) -> Emitted:
    """QUANTIZE from int16 (to int8 or int16): too many inputs to tabulate."""
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    mult, shift = fx.quantize_multiplier(scale(x) / scale(out))
    lo, hi = (-32768, 32767) if out.dtype == "INT16" else (-128, 127)
    consts = [
        f"static const etx_requant_params {name}_p = {{{mult}, {shift}, {zero_point(x)}, "
        f"{zero_point(out)}, {lo}, {hi}, {out.np_dtype.itemsize}}};"
    ]
    call = (
        f"etx_requant_s16(&{name}_p, {ctx.ptr(op.inputs[0])}, {ctx.addr(op.outputs[0])}, {x.size});"
    )
    return Emitted(call, consts)


def emit_unary_table(ctx: Context, op: Operator, name: str) -> Emitted:
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    if op.opcode == "QUANTIZE" and x.dtype == "INT16":
        return emit_requantize16(ctx, op, name)
    if x.dtype != "INT8":
        raise UnsupportedModel(f"{op.opcode} #{op.index} with {x.dtype} input is not supported")
    table = UNARY_TABLES[op.opcode](op, x, out)
    # Index by the input byte as unsigned: entries for 0..127 first, then -128..-1.
    ordered = table[128:] + table[:128]
    wide = out.dtype == "INT16"
    consts = [c_array(f"{name}_t", np.array(ordered), np.int16 if wide else np.int8)]
    fn = "etx_lookup_s16" if wide else "etx_lookup"
    call = f"{fn}({name}_t, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])}, {x.size});"
    return Emitted(call, consts)


def softmax_exp_table(x: Tensor, beta: float) -> list[int]:
    """exp of each possible (x - max) in Q0.31, 0 where TFLM drops the term; the zeros past
    the last term TFLM keeps are left out but one, which the runtime reads for any larger
    difference."""
    int_bits = 5
    real = min(float(np.float32(beta)) * scale(x) * (1 << (31 - int_bits)), (1 << 31) - 1.0)
    mult, left_shift = fx.quantize_multiplier(real)
    radius = math.floor(((1 << int_bits) - 1) * (1 << (31 - int_bits)) / (1 << left_shift))
    table = []
    for d in range(min(256, radius + 2)):
        if d > radius:
            table.append(0)
            continue
        rescaled = fx.srdhm(fx.wrap32(-d * (1 << left_shift)), mult)
        table.append(fx.exp_on_negative_values(rescaled, int_bits))
    while len(table) > 1 and table[-1] == table[-2] == 0:
        table.pop()
    return table


def emit_softmax(ctx: Context, op: Operator, name: str) -> Emitted:
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    if zero_point(out) != -128 or np.float32(scale(out)) != np.float32(1 / 256):
        raise UnsupportedModel(f"SOFTMAX #{op.index} output must have scale 1/256, zero point -128")
    depth = x.shape[-1]
    table = softmax_exp_table(x, float(getattr(op.options, "beta", 1.0)))
    consts = [
        c_array(f"{name}_e", np.array(table), np.int32),
        f"static const etx_softmax_params {name}_p = {{{x.size // depth}, {depth}, "
        f"{len(table) - 1}}};",
    ]
    call = f"etx_softmax(&{name}_p, {name}_e, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])});"
    return Emitted(call, consts)


def emit_softmax16(ctx: Context, op: Operator, name: str) -> Emitted:
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    if x.dtype != "INT16" or zero_point(out) != 0 or abs(scale(out) - 1 / 32768) > 1e-3 / 32768:
        raise UnsupportedModel(f"SOFTMAX #{op.index}: 16-bit output must have scale 1/32768")
    beta = float(np.float32(getattr(op.options, "beta", 1.0)))
    mult, shift = fx.quantize_multiplier(scale(x) * beta / (10.0 / 65535.0))
    exp_lut, recip_lut = fx.softmax16_luts()
    # The tables do not depend on the operator: every int16 SOFTMAX shares one copy.
    exp_name, recip_name = "etx_softmax16_exp", "etx_softmax16_recip"
    ctx.shared(c_array(exp_name, np.array(exp_lut), np.int16))
    ctx.shared(c_array(recip_name, np.array(recip_lut), np.int16))
    depth = x.shape[-1]
    call = (
        f"etx_softmax_s16({x.size // depth}, {depth}, {mult}, {shift}, {exp_name}, "
        f"{recip_name}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])});"
    )
    return Emitted(call)


INT8: dict[str, Emitter] = {
    **{name: emit_unary_table for name in UNARY_TABLES},
    "SOFTMAX": emit_softmax,
}
INT16: dict[str, Emitter] = {"QUANTIZE": emit_unary_table, "SOFTMAX": emit_softmax16}
