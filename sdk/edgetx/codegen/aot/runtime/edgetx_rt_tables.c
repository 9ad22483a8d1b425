/* Table-driven kernels: unary lookups and SOFTMAX. */
#include "edgetx_rt_internal.h"

#include <string.h>

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

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
static inline uint32_t load32(const int8_t *p) {
  uint32_t w;
  memcpy(&w, p, sizeof w); /* one LDR: unaligned access is fine on these cores */
  return w;
}

/* The maximum of x[0, 4 * n4) (-128 if n4 is 0) in every byte lane: SSUB8 sets a lane's GE
 * flag where w >= max and SEL keeps w there; two running maxima (two words a step, written out
 * as GCC 12 spends three more instructions a step), then the lanes are folded by rotations. */
static inline uint32_t max_lanes(const int8_t *x, int32_t n4) {
  uint32_t max4 = 0x80808080u, other = max4;
  if (n4 & 1) {
    max4 = load32(x);
    x += 4;
  }
  const int8_t *const end = x + 4 * (n4 & ~1);
  if (x != end) {
    uint32_t w, v, t;
    __asm__ volatile("1:\n\t"
                     "ldr %[w], [%[x]], #4\n\t"
                     "ldr %[v], [%[x]], #4\n\t"
                     "ssub8 %[t], %[w], %[m]\n\t"
                     "sel %[m], %[w], %[m]\n\t"
                     "ssub8 %[t], %[v], %[o]\n\t"
                     "sel %[o], %[v], %[o]\n\t"
                     "cmp %[x], %[end]\n\t"
                     "bne 1b"
                     : [x] "+r"(x), [m] "+r"(max4), [o] "+r"(other), [w] "=&r"(w),
                       [v] "=&r"(v), [t] "=&r"(t)
                     : [end] "r"(end)
                     : "cc", "memory");
  }
  (void)__ssub8(max4, other);
  max4 = __sel(max4, other);
  for (int r = 16; r >= 8; r -= 8) {
    const uint32_t rot = (max4 >> r) | (max4 << (32 - r));
    (void)__ssub8(max4, rot);
    max4 = __sel(max4, rot);
  }
  return max4;
}

/* For x[0, 4 * n4), n4 >= 1: e[i] = table[min(max - x[i], last)] and the sum of the e[i]
 * rounded to Q12.19 (half up: they are >= 0). max - x is the lanes' bytewise difference (it
 * lies in [0, 255]); the index is that less its saturating excess over last. Written out
 * because GCC 12 neither pairs the stores nor keeps the loop to one compare. */
static inline uint32_t exps_lanes(const int8_t *x, int32_t n4, uint32_t max4, uint32_t last4,
                                  const uint32_t *table, uint32_t *e) {
  const int8_t *const end = x + 4 * n4;
  uint32_t sum = 0, d, e0, e1, e2, e3;
  __asm__ volatile("1:\n\t"
                   "ldr %[d], [%[x]], #4\n\t"
                   "usub8 %[d], %[m], %[d]\n\t"
                   "uqsub8 %[e3], %[d], %[l]\n\t"
                   "usub8 %[d], %[d], %[e3]\n\t"
                   "uxtb %[e0], %[d]\n\t"
                   "uxtb %[e1], %[d], ror #8\n\t"
                   "uxtb %[e2], %[d], ror #16\n\t"
                   "lsr %[e3], %[d], #24\n\t"
                   "ldr %[e0], [%[t], %[e0], lsl #2]\n\t"
                   "ldr %[e1], [%[t], %[e1], lsl #2]\n\t"
                   "ldr %[e2], [%[t], %[e2], lsl #2]\n\t"
                   "ldr %[e3], [%[t], %[e3], lsl #2]\n\t"
                   "strd %[e0], %[e1], [%[e]], #16\n\t"
                   "strd %[e2], %[e3], [%[e], #-8]\n\t"
                   "add %[e0], %[e0], #2048\n\t"
                   "add %[s], %[s], %[e0], lsr #12\n\t"
                   "add %[e1], %[e1], #2048\n\t"
                   "add %[s], %[s], %[e1], lsr #12\n\t"
                   "add %[e2], %[e2], #2048\n\t"
                   "add %[s], %[s], %[e2], lsr #12\n\t"
                   "add %[e3], %[e3], #2048\n\t"
                   "add %[s], %[s], %[e3], lsr #12\n\t"
                   "cmp %[x], %[end]\n\t"
                   "bne 1b"
                   : [x] "+r"(x), [e] "+r"(e), [s] "+r"(sum), [d] "=&r"(d), [e0] "=&r"(e0),
                     [e1] "=&r"(e1), [e2] "=&r"(e2), [e3] "=&r"(e3)
                   : [end] "r"(end), [m] "r"(max4), [l] "r"(last4), [t] "r"(table)
                   : "cc", "memory");
  return sum;
}

/* y[0, 4 * n4) from e[0, 4 * n4), n4 >= 1, for a row whose scale is >= 2^30 (or pot <= 1, all
 * outputs 0; see softmax_row below): then
 * floor((scale * e + 2^30) / 2^31) is one SMMLAR, (2 * scale - 2^32) * e + e * 2^32 rounded,
 * and the rounding division by 2^exponent one SMMULR by pot. Pairs of results go in halfwords
 * saturated to [0, 255], interleaved into bytes and moved by -128 (the top bit flipped). */
static inline void outputs_lanes(const uint32_t *e, int32_t n4, int32_t scale2, int32_t pot,
                                 int8_t *y) {
  const int8_t *const end = y + 4 * n4;
  uint32_t e0, e1, e2, e3;
  __asm__ volatile("1:\n\t"
                   "ldrd %[e0], %[e1], [%[e]], #16\n\t"
                   "ldrd %[e2], %[e3], [%[e], #-8]\n\t"
                   "smmlar %[e0], %[s], %[e0], %[e0]\n\t"
                   "smmlar %[e1], %[s], %[e1], %[e1]\n\t"
                   "smmlar %[e2], %[s], %[e2], %[e2]\n\t"
                   "smmlar %[e3], %[s], %[e3], %[e3]\n\t"
                   "smmulr %[e0], %[e0], %[p]\n\t"
                   "smmulr %[e1], %[e1], %[p]\n\t"
                   "smmulr %[e2], %[e2], %[p]\n\t"
                   "smmulr %[e3], %[e3], %[p]\n\t"
                   "pkhbt %[e0], %[e0], %[e2], lsl #16\n\t"
                   "pkhbt %[e1], %[e1], %[e3], lsl #16\n\t"
                   "usat16 %[e0], #8, %[e0]\n\t"
                   "usat16 %[e1], #8, %[e1]\n\t"
                   "orr %[e0], %[e0], %[e1], lsl #8\n\t"
                   "eor %[e0], %[e0], #0x80808080\n\t"
                   "str %[e0], [%[y]], #4\n\t"
                   "cmp %[y], %[end]\n\t"
                   "bne 1b"
                   : [e] "+r"(e), [y] "+r"(y), [e0] "=&r"(e0), [e1] "=&r"(e1), [e2] "=&r"(e2),
                     [e3] "=&r"(e3)
                   : [end] "r"(end), [s] "r"(scale2), [p] "r"(pot)
                   : "cc", "memory");
}
#endif

/* gemmlowp's one_over_one_plus_x_for_x_in_0_1 in Q0.31 for a in [0, 2^31), as TFLM computes
 * it. Every SaturatingRoundingDoublingHighMul there is floor((a * b + 2^30) / 2^31): the
 * operands never saturate (half_denominator is in [2^30, 2^31), x in Q2.29 stays within
 * (0.9, 2.01], |1 - half_denominator * x| <= 1/17, so |x * (1 - ...)| is far below the Q4.27 ->
 * Q2.29 saturation). Checked against the saturating form for all 2^31 inputs. */
static inline int32_t newton_step(int32_t half_denominator, int32_t x) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  /* 2 * half_denominator - 2^32 fits in an int32; adding x * 2^32 restores the product. */
  const int32_t hdx = etx_smmlar((int32_t)((uint32_t)half_denominator << 1), x, x);
#else
  const int32_t hdx = (int32_t)(((int64_t)half_denominator * x + (1 << 30)) >> 31);
#endif
  return x + etx_smmulr(x, ((1 << 29) - hdx) * 2) * 4;
}

static inline int32_t one_over_one_plus_x(uint32_t a) {
  const int32_t half_denominator = (int32_t)((a + 0x80000000u) >> 1);
  /* 48/17 - 32/17 * d in Q2.29; the second product doubled for the rounding high multiply. */
  int32_t x = 1515870810 + etx_smmulr(half_denominator, -2021161080);
  x = newton_step(half_denominator, x);
  x = newton_step(half_denominator, x);
  x = newton_step(half_denominator, x);
  return x > (1 << 30) - 1 ? INT32_MAX : x * 2; /* Q2.29 halved (Q1.30) to Q0.31 */
}

/* The per-row quantities of the output: an exponential e (Q0.31) becomes
 * round_half_up(floor((scale * e + 2^30) / 2^31) / 2^exponent), the rounding division by a power
 * of two done as a rounding high multiply by pot = 2^(32 - exponent). TFLM refuses (asserts) a
 * row with exponent > 31, a sum of 2^28 or more (512 maxima); every output is -128 there (pot
 * 1 or 0). For the sums it accepts, (sum << headroom) - 2^31 is a multiple of 8 below 2^31 and
 * its 1 / (1 + x) is at least 2^30, which the SMMLAR form of the output below needs: only x
 * within 6 of 2^31 give less (checked for all 2^31 inputs). */
typedef struct {
  uint32_t scale; /* 1 / (sum of exponentials) in Q0.31 */
  int32_t pot;    /* 2^(32 - exponent) */
} softmax_row;

static softmax_row softmax_row_of(uint32_t sum) {
  /* GetReciprocal(sum in Q12.19): sum >= 2^19 (the row's maximum contributes 2^19). */
  const int headroom_plus_one = clz32(sum); /* at most 12 */
  softmax_row r;
  r.scale = (uint32_t)one_over_one_plus_x((sum << headroom_plus_one) - 0x80000000u);
  /* exponent = (12 - headroom_plus_one) + 31 - 8; 2^(32 - exponent), and 0 past 32. */
  r.pot = (int32_t)((1u << headroom_plus_one) >> 3);
  return r;
}

/* TFLM's output for exponential e before the zero point, in [0, 256]. */
static inline int32_t softmax_out(const softmax_row *r, uint32_t e) {
  const int32_t scaled = (int32_t)(((uint64_t)r->scale * e + (1u << 30)) >> 31);
  return etx_smmulr(scaled, r->pot);
}

/* Exponentials of up to SOFTMAX_SAVED elements of a row are kept for the output pass, on the
 * stack (which linker.ld keeps small). */
#define SOFTMAX_SAVED 32

/* The exponential of a difference d = max - x in [0, 255]: past the table's end, its last. */
static inline uint32_t exp_of(const uint32_t *table, int32_t last, int32_t d) {
  return table[d < last ? d : last];
}

/* Any row, one element at a time; the exponentials past the saved ones are found twice. */
static void softmax_elements(const etx_softmax_params *p, const uint32_t *table,
                             const int8_t *in, int8_t *out) {
  const int32_t depth = p->depth, last = p->table_last;
  const int32_t saved = depth < SOFTMAX_SAVED ? depth : SOFTMAX_SAVED;
  uint32_t e_saved[SOFTMAX_SAVED];
  int8_t *y = out;
  for (const int8_t *x = in, *end = in + p->rows * depth; x != end; x += depth, y += depth) {
    int32_t max = -128;
    for (int32_t c = 0; c < depth; ++c) {
      max = x[c] > max ? x[c] : max;
    }
    uint32_t sum = 0; /* Q12.19 */
    for (int32_t c = 0; c < depth; ++c) {
      const uint32_t e = exp_of(table, last, max - x[c]);
      if (c < saved) {
        e_saved[c] = e;
      }
      sum += (e + (1u << 11)) >> 12; /* rounded half up: the exponentials are >= 0 */
    }
    const softmax_row row = softmax_row_of(sum);
    for (int32_t c = 0; c < depth; ++c) { /* in place, x[c] past saved is still there */
      const uint32_t e = c < saved ? e_saved[c] : exp_of(table, last, max - x[c]);
      const int32_t v = softmax_out(&row, e) - 128;
      y[c] = (int8_t)(v > 127 ? 127 : v);
    }
  }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Rows of up to SOFTMAX_SAVED elements: four lanes at a time, the last depth % 4 elements one
 * at a time. */
static void softmax_lanes(const etx_softmax_params *p, const uint32_t *table, const int8_t *in,
                          int8_t *out) {
  const int32_t depth = p->depth, last = p->table_last, n4 = depth >> 2, tail = depth & 3;
  const uint32_t last4 = (uint32_t)last * 0x01010101u;
  uint32_t e_saved[SOFTMAX_SAVED];
  int8_t *y = out;
  for (const int8_t *x = in, *end = in + p->rows * depth; x != end; x += depth, y += depth) {
    const int8_t *const xt = x + 4 * n4; /* the tail */
    uint32_t max4 = max_lanes(x, n4);
    int32_t max = (int8_t)max4;
    if (tail) {
      for (int32_t c = 0; c < tail; ++c) {
        max = xt[c] > max ? xt[c] : max;
      }
      max4 = (uint32_t)(uint8_t)max * 0x01010101u;
    }
    uint32_t sum = n4 > 0 ? exps_lanes(x, n4, max4, last4, table, e_saved) : 0; /* Q12.19 */
    for (int32_t c = 0; c < tail; ++c) {
      sum += (exp_of(table, last, max - xt[c]) + (1u << 11)) >> 12;
    }
    const softmax_row row = softmax_row_of(sum);
    const int32_t scale2 = (int32_t)(row.scale << 1);
    if (n4 > 0) {
      outputs_lanes(e_saved, n4, scale2, row.pot, y);
    }
    for (int32_t c = 0; c < tail; ++c) {
      const int32_t e = (int32_t)exp_of(table, last, max - xt[c]);
      const int32_t v = etx_smmulr(etx_smmlar(scale2, e, e), row.pot) - 128;
      y[4 * n4 + c] = (int8_t)(v > 127 ? 127 : v);
    }
  }
}
#endif

void etx_softmax(const etx_softmax_params *p, const int32_t *exp_table, const int8_t *in,
                 int8_t *out) {
  const uint32_t *table = (const uint32_t *)exp_table;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  if (p->depth <= SOFTMAX_SAVED) {
    softmax_lanes(p, table, in, out);
    return;
  }
#endif
  softmax_elements(p, table, in, out);
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
