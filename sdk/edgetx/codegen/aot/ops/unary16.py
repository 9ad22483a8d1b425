"""RSQRT, LOGISTIC and TANH with int16 activations (16x8), computed as TFLM's kernels do.

LOGISTIC and TANH interpolate TFLM's 256-entry sigmoid table (runtime/edgetx_rt_sigmoid16.h,
derived from the interpreter by tools/derive_sigmoid16.py) after rescaling the input to the
table's units; RSQRT runs TFLM's integer inverse square root per element.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math

import numpy as np

from edgetx.codegen.aot import fixedpoint as fx
from edgetx.codegen.aot.ops.common import Context, Emitted, Emitter, scale, zero_point
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Operator

# The table spans |x| < 10.7 as 2^17 input steps: scale 1 / (3 * 4096).
_TABLE_STEPS_PER_UNIT = 3 * 4096.0
_OUTPUT_FRACTIONAL_BITS = 15


@functools.cache
def _logf() -> ctypes._CFuncPtr:
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.logf.restype = ctypes.c_float
    libm.logf.argtypes = [ctypes.c_float]
    return libm.logf


def checked_log2(x: float) -> tuple[int, bool]:
    """TFLM's CheckedLog2 in float32: (log2 rounded, whether x is a power of two to 1e-3)."""
    f = np.float32
    log2 = f(_logf()(float(f(x)))) * (f(1) / f(_logf()(2.0)))
    rounded = f(fx.round_half_away(float(log2)))
    return int(rounded), bool(abs(log2 - rounded) < f(1e-3))


def sigmoid16_rescale(input_scale: float, tanh: bool) -> tuple[int, int]:
    """(multiplier, right shift) taking an int16 input to the table's units, as TFLM's
    Prepare derives it (in double, from the float32 scale) and its kernel then uses it: a
    power-of-two scale takes the exact multiplier 3 << shift (shift 0, or 0 and 1 for TANH)."""
    log2, exact = checked_log2(input_scale)
    pot_shift = (15 - 3) + log2
    if exact and pot_shift in ((0, 1) if tanh else (0,)):
        return 3 << pot_shift, 0
    multiplier = float(np.float32(input_scale)) * _TABLE_STEPS_PER_UNIT
    shift = 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


def emit_sigmoid16(ctx: Context, op: Operator, name: str) -> Emitted:
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    if x.dtype != "INT16" or out.dtype != "INT16":
        raise UnsupportedModel(f"{op.opcode} #{op.index}: 16x8 needs int16 input and output")
    out_log2, out_exact = checked_log2(scale(out))
    if zero_point(x) or zero_point(out) or not out_exact or out_log2 != -_OUTPUT_FRACTIONAL_BITS:
        raise UnsupportedModel(
            f"{op.opcode} #{op.index}: int16 needs zero points of 0 and output scale 1/32768 "
            "(as TFLM requires)"
        )
    mult, shift = sigmoid16_rescale(scale(x), op.opcode == "TANH")
    if mult >= 1 << 16:  # in * mult would overflow int32, which TFLM leaves undefined
        raise UnsupportedModel(f"{op.opcode} #{op.index}: input scale {scale(x):g} is too large")
    fn = "etx_tanh_s16" if op.opcode == "TANH" else "etx_logistic_s16"
    call = f"{fn}({mult}, {shift}, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])}, {x.size});"
    return Emitted(call)


def emit_rsqrt16(ctx: Context, op: Operator, name: str) -> Emitted:
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    if x.dtype != "INT16" or out.dtype != "INT16":
        raise UnsupportedModel(f"RSQRT #{op.index}: 16x8 needs int16 input and output")
    if zero_point(x) or zero_point(out):
        raise UnsupportedModel(f"RSQRT #{op.index}: int16 needs zero points of 0 (as TFLM does)")
    mult, shift = fx.quantize_multiplier(1.0 / (math.sqrt(scale(x)) * scale(out)))
    if not -31 <= shift - 20 <= 31:
        raise UnsupportedModel(f"RSQRT #{op.index}: the scales' ratio is out of range")
    x_ptr, out_ptr = ctx.ptr(op.inputs[0]), ctx.ptr(op.outputs[0])
    return Emitted(f"etx_rsqrt_s16({mult}, {shift}, {x_ptr}, {out_ptr}, {x.size});")


INT16: dict[str, Emitter] = {
    "LOGISTIC": emit_sigmoid16,
    "TANH": emit_sigmoid16,
    "RSQRT": emit_rsqrt16,
}
