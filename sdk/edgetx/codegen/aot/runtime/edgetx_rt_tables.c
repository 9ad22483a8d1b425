/* Table-driven kernels: unary lookups and SOFTMAX. */
#include "edgetx_rt_internal.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#endif

void etx_lookup(const int8_t *table, const int8_t *in, int8_t *out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    out[i] = table[(uint8_t)in[i]];
  }
}

void etx_lookup_s16(const int16_t *table, const int8_t *in, int16_t *out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    out[i] = table[(uint8_t)in[i]];
  }
}

void etx_requant_s16(const etx_requant_params *p, const int16_t *in, void *out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    const int32_t v = clamp32(etx_mbqm((int32_t)in[i] - p->in_zp, p->mult, p->shift) + p->out_zp,
                              p->act_min, p->act_max);
    if (p->out_bytes == 2) {
      ((int16_t *)out)[i] = (int16_t)v;
    } else {
      ((int8_t *)out)[i] = (int8_t)v;
    }
  }
}

static int clz32(uint32_t x) {
  return x ? __builtin_clz(x) : 32; /* one CLZ instruction on Arm */
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1, Q0.31 in and out. */
static int32_t one_over_one_plus_x(int32_t a) {
  const int64_t sum = (int64_t)a + INT32_MAX;
  const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int32_t c48_17 = 1515870810;   /* 48/17 in Q2.29 */
  const int32_t cm32_17 = -1010580540; /* -32/17 in Q2.29 */
  int32_t x = c48_17 + etx_srdhm(half_denominator, cm32_17);
  for (int i = 0; i < 3; ++i) {
    const int32_t hdx = etx_srdhm(half_denominator, x);
    const int32_t one_minus = (1 << 29) - hdx;
    int32_t t = etx_srdhm(x, one_minus); /* Q4.27 */
    /* Rescale Q4.27 -> Q2.29: saturating left shift by 2. */
    if (t > ((1 << 29) - 1)) {
      t = INT32_MAX;
    } else if (t < -((1 << 29) - 1)) {
      t = INT32_MIN;
    } else {
      t = t * 4;
    }
    x = x + t;
  }
  /* x/2 as Q1.30 (same raw), then Rescale to Q0.31: saturating left shift by 1. */
  if (x > ((1 << 30) - 1)) {
    return INT32_MAX;
  }
  if (x < -((1 << 30) - 1)) {
    return INT32_MIN;
  }
  return x * 2;
}

/* The exponential table's index for d = max - x in [0, 255]: a short (64-entry) table ends in
 * a 0 that every larger d reads. */
static inline uint32_t exp_index(int32_t d, int short_table) {
  if (!short_table) {
    return (uint32_t)d;
  }
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  return (uint32_t)__usat(d, 6);
#else
  return d < 63 ? (uint32_t)d : 63u;
#endif
}

static ETX_SPECIALISE void softmax_s8(const etx_softmax_params *p, const int32_t *exp_table,
                              const int8_t *in, int8_t *out, int short_table) {
  const int32_t rows = p->rows, depth = p->depth; /* locals: int8_t stores may alias *p */
  for (int32_t r = 0; r < rows; ++r) {
    const int8_t *x = in + r * depth;
    int8_t *y = out + r * depth;
    int32_t max = -128;
    for (int32_t c = 0; c < depth; ++c) {
      max = x[c] > max ? x[c] : max;
    }
    /* Q12.19. The exponentials are >= 0, so RoundingDivideByPOT(., 12) rounds half up. */
    uint32_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) {
      sum += ((uint32_t)exp_table[exp_index(max - x[c], short_table)] + (1u << 11)) >> 12;
    }
    /* GetReciprocal(sum, 12 integer bits). */
    const int headroom_plus_one = clz32(sum);
    const int num_bits_over_unit = 12 - headroom_plus_one;
    const int32_t shifted_sum_minus_one =
        (int32_t)((sum << headroom_plus_one) - ((uint32_t)1 << 31));
    const uint32_t scale = (uint32_t)one_over_one_plus_x(shifted_sum_minus_one);
    const int exponent = num_bits_over_unit + 31 - 8; /* 23..31 for any row TFLM accepts */
    /* SRDHM(scale, exp) then RoundingDivideByPOT(exponent) on values >= 0 is one round half up:
     * floor((scale * exp + 2^30 + 2^(30 + exponent)) / 2^(31 + exponent)). */
    const uint64_t round = ((uint64_t)1 << 30) + ((uint64_t)1 << (30 + exponent));
    for (int32_t c = 0; c < depth; ++c) {
      const uint32_t e = (uint32_t)exp_table[exp_index(max - x[c], short_table)];
      const uint64_t t = (uint64_t)scale * e + round;
      const int32_t v = (int32_t)((uint32_t)(t >> 32) >> (exponent - 1)) - 128;
      y[c] = (int8_t)(v > 127 ? 127 : v);
    }
  }
}

void etx_softmax(const etx_softmax_params *p, const int32_t *exp_table, const int8_t *in,
                 int8_t *out) {
  if (p->table_len == 64) {
    softmax_s8(p, exp_table, in, out, 1);
  } else {
    softmax_s8(p, exp_table, in, out, 0);
  }
}

/* TFLM's int16 table lookup: 9 bits index, 7 bits interpolate. */
static int16_t lut16(int16_t value, const int16_t *lut) {
  const int32_t index = 256 + (value >> 7);
  const int32_t offset = value & 0x7f;
  const int16_t slope = (int16_t)(lut[index + 1] - lut[index]);
  return (int16_t)(lut[index] + ((slope * offset + 64) >> 7));
}

void etx_softmax_s16(int32_t rows, int32_t depth, int32_t mult, int32_t shift,
                     const int16_t *exp_lut, const int16_t *recip_lut, const int16_t *in,
                     int16_t *out) {
  for (int32_t r = 0; r < rows; ++r) {
    const int16_t *x = in + r * depth;
    int16_t *y = out + r * depth;
    int16_t max = -32768;
    for (int32_t c = 0; c < depth; ++c) {
      max = x[c] > max ? x[c] : max;
    }
    /* The exponentials are kept in the output row until the sum is known. */
    int32_t sum = 0;
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t scaled = etx_mbqm((int32_t)x[c] - max, mult, shift) + 32767;
      y[c] = lut16((int16_t)clamp32(scaled, -32768, 32767), exp_lut);
      sum += y[c];
    }
    const int headroom_plus_one = clz32((uint32_t)sum);
    const int32_t shifted = (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    const int16_t recip =
        lut16((int16_t)clamp32(shifted - ((1 << 15) + (1 << 16)), -32768, 32767), recip_lut);
    const int right_shift = 31 - headroom_plus_one;
    const int64_t round = (int64_t)1 << (right_shift - 1);
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t v = (int32_t)(((int64_t)y[c] * recip + round) >> right_shift);
      y[c] = (int16_t)clamp32(v, 0, 32767);
    }
  }
}
