/* Helpers shared by the runtime's source files; not part of the generated model's API. */
#ifndef EDGETX_RT_INTERNAL_H
#define EDGETX_RT_INTERNAL_H

#include "edgetx_rt.h"

/* For a function whose constant arguments must specialise each call site's copy. */
#if defined(__GNUC__)
#define ETX_SPECIALISE inline __attribute__((always_inline))
#else
#define ETX_SPECIALISE inline
#endif

/* Fixed-point primitives (gemmlowp semantics), inline: every kernel's inner loop uses them. */

/* SaturatingRoundingDoublingHighMul. The nudge (2^30, or 1 - 2^30 for a negative product) then
 * truncation toward zero equals adding 2^30 and flooring. */
static inline int32_t etx_srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) {
    return INT32_MAX;
  }
  return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* RoundingDivideByPOT: round half away from zero. */
static inline int32_t etx_rdbpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(exponent < 32 ? (1u << exponent) - 1u : ~0u);
  const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)x >> 31);
  return (x >> exponent) + ((x & mask) > threshold);
}

/* Top word of acc * 2^32 + a * b, rounded (SMMLAR; Arm DSP only), and of a * b (SMMULR). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
static inline int32_t etx_smmlar(int32_t a, int32_t b, int32_t acc) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}

static inline int32_t etx_smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#else
static inline int32_t etx_smmulr(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
#endif

/* MultiplyByQuantizedMultiplier. */
static inline int32_t etx_mbqm(int32_t x, int32_t multiplier, int shift) {
  const int left = shift & ~(shift >> 31); /* max(shift, 0), without a branch */
  return etx_rdbpot(etx_srdhm((int32_t)((uint32_t)x << left), multiplier), left - shift);
}

/* One requantization, TFLM's MultiplyByQuantizedMultiplier(acc, mult, shift) (shift > 0 shifts
 * left, < 0 right), with round = 2^30 + 2^(30 - shift) precomputed for a right shift. */
typedef struct {
  int32_t mult;
  int32_t shift;
  int64_t round;
} etx_rq;

/* MultiplyByQuantizedMultiplier as an etx_rq describes it. With right = -shift >= 1, SRDHM
 * (add 2^30, floor by 2^31) then the rounding right shift (half away from zero) is one floor:
 * (acc * mult + 2^30 + 2^(30 + right) - (acc < 0 ? 2^31 : 0)) >> (31 + right), whose top word
 * needs no 64-bit shift. q->mult is 0 or in [2^30, 2^31), as QuantizeMultiplier gives, so the
 * product's sign is acc's. */
static inline int32_t etx_rq_right(int32_t acc, const etx_rq *q) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  /* hi:lo = round + acc * mult - (acc < 0 ? 2^31 : 0), in 3 instructions GCC 12 does not find. */
  uint32_t lo = (uint32_t)q->round;
  int32_t hi = (int32_t)(q->round >> 32);
  __asm__("smlal %[lo], %[hi], %[acc], %[m]\n\t"
          "adds %[lo], %[lo], %[sign]\n\t"
          "adc %[hi], %[hi], %[acc], asr #31"
          : [lo] "+&r"(lo), [hi] "+&r"(hi)
          : [acc] "r"(acc), [m] "r"(q->mult), [sign] "r"((uint32_t)acc & 0x80000000u)
          : "cc");
  return hi >> (-q->shift - 1);
#else
  const int64_t negative = (int64_t)((uint64_t)(int64_t)(acc >> 31) << 31); /* -2^31 or 0 */
  const int64_t t = (int64_t)acc * q->mult + q->round + negative;
  return (int32_t)(t >> 32) >> (-q->shift - 1);
#endif
}

static inline int32_t etx_rq_apply(int32_t acc, const etx_rq *q) {
  if (q->shift >= 0) {
    return etx_mbqm(acc, q->mult, q->shift);
  }
  return etx_rq_right(acc, q);
}

/* The etx_rq of MultiplyByQuantizedMultiplier(., mult, shift). */
static inline etx_rq etx_rq_make(int32_t mult, int32_t shift) {
  etx_rq q;
  q.mult = mult;
  q.shift = shift;
  q.round = shift < 0 ? ((int64_t)1 << 30) + ((int64_t)1 << (30 - shift)) : 0;
  return q;
}

/* MultiplyByQuantizedMultiplier(acc, mult, -r) + zp for r >= 2, cheaper than etx_rq: it equals
 * hi(acc * mult + lo) >> (r - 1) with lo = 2^30 | (acc & 2^31) and the high word started at
 * h = 2^(r - 2) + (zp << (r - 1)), less 1 when acc < 0. That is the rounding sum
 * 2^30 + 2^(r + 30) - (acc < 0 ? 2^31 : 0) of etx_rq_right with the zero point riding in the
 * high word, which cannot overflow while |zp| < 2^(31 - r). */
typedef struct {
  int32_t mult, h, sh;
} etx_rqz;

/* The etx_rqz of (mult, shift, zp); 0 where that form does not hold. */
static inline int etx_rqz_make(int32_t mult, int32_t shift, int32_t zp, etx_rqz *q) {
  const int32_t r = -shift;
  const int ok = r >= 2 && r <= 30 && (zp < 0 ? -zp : zp) < (1 << (31 - r));
  q->mult = mult;
  q->sh = ok ? r - 1 : 0;
  q->h = ok ? (1 << (r - 2)) + zp * (1 << (r - 1)) : 0;
  return ok;
}

static inline int32_t etx_rqz_apply(int32_t acc, const etx_rqz *q) {
  uint32_t lo = 0x40000000u | ((uint32_t)acc & 0x80000000u);
  int32_t hi = q->h + (acc >> 31);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  __asm__("smlal %[lo], %[hi], %[a], %[m]" : [lo] "+r"(lo), [hi] "+r"(hi) : [a] "r"(acc),
          [m] "r"(q->mult));
#else
  hi = (int32_t)(((int64_t)acc * q->mult + (int64_t)lo + (int64_t)((uint64_t)(uint32_t)hi << 32)) >>
                 32);
#endif
  return hi >> q->sh;
}

static inline int32_t clamp32(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* Along one axis of a pooling window: output o's window starts at input start (padding
 * before the image makes it negative) and its taps inside the image are k0 <= k < k1. */
typedef struct {
  int32_t start, k0, k1;
} etx_window;

static inline etx_window etx_window_at(int32_t o, int32_t stride, int32_t pad, int32_t k,
                                       int32_t size) {
  etx_window w;
  w.start = o * stride - pad;
  w.k0 = w.start < 0 ? -w.start : 0;
  w.k1 = k < size - w.start ? k : size - w.start;
  return w;
}

/* Step a row-major index over shape by one element, keeping *offset (the element's
 * position under stride) in step with it. */
static inline void advance(int32_t *idx, int32_t *offset, const int32_t *shape,
                           const int32_t *stride, int32_t ndims) {
  for (int32_t d = ndims - 1; d >= 0; --d) {
    *offset += stride[d];
    if (++idx[d] < shape[d]) {
      return;
    }
    *offset -= stride[d] * shape[d];
    idx[d] = 0;
  }
}

#endif /* EDGETX_RT_INTERNAL_H */
