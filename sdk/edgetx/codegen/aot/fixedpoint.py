"""Integer arithmetic of TensorFlow Lite Micro's reference kernels, modelled in Python.

These functions reproduce, bit for bit, the gemmlowp-style fixed-point helpers
that TFLM uses to derive kernel parameters and to evaluate nonlinear functions.
The AOT generator uses them to compute multipliers and lookup tables at
generation time; every table is checked against the interpreter in the tests.
All values are Python ints carrying C int32/int64 semantics.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from collections.abc import Callable

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def wrap32(x: int) -> int:
    """Two's-complement wrap to int32, as the C arithmetic does."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def trunc_div(a: int, b: int) -> int:
    """C integer division (rounds toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return wrap32(trunc_div(ab + nudge, 1 << 31))


def rdbpot(x: int, exponent: int) -> int:
    """RoundingDivideByPOT: divide by 2^exponent, rounding half away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def sat_mul_pot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT for int32 raw values."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rdbpot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x << exponent


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier (double-rounding variant, int32 input)."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdbpot(srdhm(wrap32(x * (1 << left)), multiplier), right)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: a double as (Q0.31 multiplier, power-of-two shift)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def round_half_away(x: float) -> int:
    """std::round / TfLiteRound: halves round away from zero."""
    return math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)


def f32(x: float) -> float:
    """Round a value to float32 precision (C float arithmetic)."""
    return float(np.float32(x))


# --- gemmlowp fixed-point functions (raw int32 values with a given number of integer bits).


def _fp_mul(a: int, b: int) -> int:
    return srdhm(a, b)


def _one(integer_bits: int) -> int:
    return INT32_MAX if integer_bits == 0 else 1 << (31 - integer_bits)


def _exp_on_interval_quarter(a: int) -> int:
    """exp(a) for a in [-1/4, 0), a and result in Q0.31."""
    constant_term = 1895147668  # exp(-1/8)
    constant_1_over_3 = 715827883
    x = wrap32(a + (1 << 28))  # a + 1/8
    x2 = _fp_mul(x, x)
    x3 = _fp_mul(x2, x)
    x4 = _fp_mul(x2, x2)
    x4_over_4 = sat_mul_pot(x4, -2)
    poly = sat_mul_pot(wrap32(_fp_mul(wrap32(x4_over_4 + x3), constant_1_over_3) + x2), -1)
    return wrap32(constant_term + _fp_mul(constant_term, wrap32(x + poly)))


_EXP_BARREL = [
    (-2, 1672461947),  # exp(-1/4)
    (-1, 1302514674),  # exp(-1/2)
    (0, 790015084),  # exp(-1)
    (1, 290630308),  # exp(-2)
    (2, 39332535),  # exp(-4)
    (3, 720401),  # exp(-8)
    (4, 242),  # exp(-16)
]


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    """exp(a) for a <= 0 given with integer_bits integer bits; result in Q0.31."""
    frac_bits = 31 - integer_bits
    one_quarter = 1 << (frac_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_quarter = wrap32((a & mask) - one_quarter)
    result = _exp_on_interval_quarter(sat_mul_pot(a_mod_quarter_minus_quarter, integer_bits))
    remainder = wrap32(a_mod_quarter_minus_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent and remainder & (1 << (frac_bits + exponent)):
            result = _fp_mul(result, multiplier)
    if integer_bits > 5 and a < -(1 << (frac_bits + 5)):
        result = 0
    if a == 0:
        result = INT32_MAX
    return result


def inv_sqrt_multiplier_exp(value: int, reverse_shift: int) -> tuple[int, int]:
    """GetInvSqrtQuantizedMultiplierExp."""
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= (1 << 29):
        value //= 4
        shift += 1
    max_left_shift_bits = (32 - value.bit_length()) - 1
    left_shift_bit_pairs = max_left_shift_bits // 2 - 1
    shift -= left_shift_bit_pairs
    value <<= 2 * left_shift_bit_pairs
    f3_input = value >> 1
    half_input = sat_mul_pot(f3_input, -1)
    half_three = (1 << 28) + (1 << 27)
    x = 1 << 28  # F3 one
    for _ in range(5):
        x3 = sat_mul_pot(_fp_mul(_fp_mul(x, x), x), 6)  # F9 -> F3
        x = sat_mul_pot(wrap32(_fp_mul(half_three, x) - _fp_mul(half_input, x3)), 3)  # F6 -> F3
    x = _fp_mul(x, 1518500250)  # * sqrt(2)/2, F3 * F0 = F3
    if shift < 0:
        x = wrap32(x << -shift)
        shift = 0
    return x, shift * reverse_shift


def rounding_half_sum(a: int, b: int) -> int:
    """gemmlowp RoundingHalfSum for int32."""
    s = a + b
    return trunc_div(s + (1 if s >= 0 else -1), 2)


def _newton_reciprocal_half(half_denominator: int) -> int:
    """Newton-Raphson for 1/(2*half_denominator), Q2.29 result (gemmlowp's three steps)."""
    x = wrap32(1515870810 + _fp_mul(half_denominator, -1010580540))  # 48/17 - 32/17 * d
    for _ in range(3):
        one_minus = wrap32((1 << 29) - _fp_mul(half_denominator, x))
        x = wrap32(x + sat_mul_pot(_fp_mul(x, one_minus), 2))
    return x


def one_over_one_plus_x(a: int) -> int:
    """1 / (1 + a) for a in [0, 1), Q0.31 in and out."""
    x = _newton_reciprocal_half(rounding_half_sum(a, INT32_MAX))
    return sat_mul_pot(x, 1)  # Q1.30 raw -> Q0.31


def one_minus_x_over_one_plus_x(a: int) -> int:
    """(1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out."""
    x = _newton_reciprocal_half(rounding_half_sum(a, INT32_MAX))
    return sat_mul_pot(wrap32(x - (1 << 29)), 2)  # Q2.29 -> Q0.31


def tanh_fp(a: int, integer_bits: int) -> int:
    """gemmlowp tanh of a raw value with integer_bits integer bits; result in Q0.31."""
    if a == 0:
        return 0
    n = a if a < 0 else wrap32(-a)
    t = one_minus_x_over_one_plus_x(exp_on_negative_values(n, integer_bits + 1))
    return wrap32(-t) if a < 0 else t


def logistic_fp(a: int, integer_bits: int) -> int:
    """gemmlowp logistic of a raw value with integer_bits integer bits; result in Q0.31."""
    if a == 0:
        return 1 << 30
    abs_a = a if a > 0 else wrap32(-a)
    positive = one_over_one_plus_x(exp_on_negative_values(wrap32(-abs_a), integer_bits))
    return positive if a > 0 else wrap32(INT32_MAX - positive)


def input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """CalculateInputRadius."""
    real = ((1 << integer_bits) - 1) * (1 << (total_signed_bits - integer_bits)) / (1 << left_shift)
    return math.floor(real)


def frexp_multiplier(real: float) -> tuple[int, int]:
    """The (multiplier, shift) pair TANH/LOGISTIC derive with frexp and TfLiteRound."""
    q, shift = math.frexp(real)
    return round_half_away(q * (1 << 31)), shift


@functools.cache
def _libm_expf() -> Callable[[float], float]:
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.expf.restype = ctypes.c_float
    libm.expf.argtypes = [ctypes.c_float]
    return libm.expf


def _expf(x: np.float32) -> np.float32:
    """The C library's expf, which TFLM's std::exp(float) calls (numpy's float32 exp
    may differ from it in the last place)."""
    return np.float32(_libm_expf()(float(x)))


def _roundf(x: np.float32) -> np.float32:
    return np.float32(round_half_away(float(x)))


def int16_lut(func: Callable[[np.float32], np.float32], in_min: float, in_max: float) -> list[int]:
    """TFLM's 513-entry int16 interpolation table of func over [in_min, in_max] with
    outputs in [-1, 1], computed in float32 as TFLM's Prepare does."""
    f = np.float32
    lo, hi = f(in_min), f(in_max)
    steps = 512
    step = (hi - lo) / f(steps)
    half = step / f(2)
    inv = f(65536) / (f(1) - f(-1))
    table = []
    for i in range(steps):
        x = lo + f(i) * step
        val, mid, nxt = func(x), func(x + half), func(lo + f(i + 1) * step)
        sample = _roundf(val * inv)
        interp = _roundf((nxt * inv + _roundf(val * inv)) / f(2))
        bias = _roundf((interp - _roundf(mid * inv)) / f(2))
        table.append(int(min(max(sample - bias, f(-32768)), f(32767))))
    table.append(int(min(max(_roundf(func(hi) * inv), f(-32768)), f(32767))))
    return table


def softmax16_luts() -> tuple[list[int], list[int]]:
    """The exp and 1/(1+x) tables of TFLM's int16 SOFTMAX."""
    exp_lut = int16_lut(_expf, -10.0, 0.0)
    recip_lut = int16_lut(lambda v: np.float32(1) / (np.float32(1) + v), 0.0, 1.0)
    return exp_lut, recip_lut
