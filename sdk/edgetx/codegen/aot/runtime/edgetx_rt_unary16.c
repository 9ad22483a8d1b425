/* int16 (16x8) LOGISTIC, TANH and RSQRT with TFLM's integer arithmetic. */
#include "edgetx_rt_internal.h"
#include "edgetx_rt_sigmoid16.h"

/* The input in table units (1/(3 * 4096) per step): (x * mult + half) >> shift. */
static inline int32_t to_table_units(int16_t x, int32_t mult, int32_t shift) {
  /* In uint32, so that what would overflow wraps as TFLM's int32 arithmetic does. */
  const uint32_t t = (uint32_t)(int32_t)x * (uint32_t)mult + ((1u << shift) >> 1);
  return (int32_t)t >> shift;
}

/* sigmoid(|v|) interpolated between knots with `bits` fractional bits, scaled by 2^bits;
 * `full` where |v| is past the last knot. */
static inline uint32_t sigmoid_abs(int32_t v, int bits, uint32_t full) {
  const uint32_t a = (uint32_t)(v < 0 ? -v : v);
  const uint32_t knot = a >> bits;
  if (knot >= 255) {
    return full;
  }
  const uint32_t lo = etx_sigmoid16[knot], hi = etx_sigmoid16[knot + 1];
  return (lo << bits) + (a & ((1u << bits) - 1)) * (hi - lo);
}

void etx_logistic_s16(int32_t mult, int32_t shift, const int16_t *in, int16_t *out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    const int32_t v = to_table_units(in[i], mult, shift);
    const uint32_t s = sigmoid_abs(v, 9, 0x7FFFu << 10);
    /* Q0.15 from 2^-25 units, rounding half up; sigmoid(-v) = 1 - sigmoid(v). */
    const uint32_t r = v >= 0 ? s + (1u << 9) : (1u << 25) - s + (1u << 9) - 1u;
    out[i] = (int16_t)(r >> 10);
  }
}

void etx_tanh_s16(int32_t mult, int32_t shift, const int16_t *in, int16_t *out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    const int32_t v = to_table_units(in[i], mult, shift);
    /* tanh(x) = 2 sigmoid(2x) - 1: the same table, knots half as far apart. */
    const int32_t s = (int32_t)sigmoid_abs(v, 8, 0xFFFFu << 8);
    const int32_t r = v >= 0 ? s - (1 << 23) + (1 << 7) : (1 << 23) + (1 << 7) - 1 - s;
    out[i] = (int16_t)(r >> 8);
  }
}

/* gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent. */
static inline int32_t sat_shl(int32_t x, int exponent) {
  const int32_t limit = (int32_t)((1u << (31 - exponent)) - 1u);
  if (x > limit) {
    return INT32_MAX;
  }
  if (x < -limit) {
    return INT32_MIN;
  }
  return (int32_t)((uint32_t)x << exponent);
}

/* MultiplyByQuantizedMultiplier(1, m, s + 20) with (m, s) = GetInvSqrtQuantizedMultiplierExp
 * of value >= 2 (right shift reversed): 2^20 / sqrt(value), Newton-Raphson in Q3.28. */
static int32_t inv_sqrt_q20(int32_t value) {
  int shift = 11;
  while (value >= (1 << 29)) {
    value /= 4;
    ++shift;
  }
  const int pairs = (__builtin_clz((uint32_t)value) - 1) / 2 - 1;
  shift -= pairs;
  value <<= 2 * pairs; /* now in [2^27, 2^29) */
  const int32_t half_input = etx_rdbpot(value >> 1, 1);
  const int32_t half_three = (1 << 28) + (1 << 27);
  int32_t x = 1 << 28; /* 1.0 */
  for (int i = 0; i < 5; ++i) {
    const int32_t x3 = sat_shl(etx_srdhm(etx_srdhm(x, x), x), 6);
    x = sat_shl((int32_t)((uint32_t)etx_srdhm(half_three, x) - (uint32_t)etx_srdhm(half_input, x3)),
                3);
  }
  x = etx_srdhm(x, 1518500250); /* * sqrt(2) / 2 */
  if (shift < 0) {
    x = (int32_t)((uint32_t)x << -shift);
    shift = 0;
  }
  return etx_mbqm(1, x, 20 - shift);
}

void etx_rsqrt_s16(int32_t mult, int32_t shift, const int16_t *in, int16_t *out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    /* TFLM gives the maximum for 0 and refuses negative inputs. */
    const int32_t value = in[i];
    const int32_t data = value <= 1 ? etx_mbqm(1, INT32_MAX, 20) : inv_sqrt_q20(value);
    out[i] = value <= 0 ? 32767
                        : (int16_t)clamp32(etx_mbqm(data, mult, shift - 20), -32768, 32767);
  }
}
