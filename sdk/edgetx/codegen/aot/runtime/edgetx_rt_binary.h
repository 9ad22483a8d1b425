/* The int8 element-wise arithmetic shared by etx_binary and the fused kernels built from
 * element-wise operators (etx_layer_norm); not part of the generated model's API.
 *
 * Each rescaling is rewritten once per call so that its exact result is cheap:
 *
 * - an input's etx_rdbpot(etx_srdhm((x + offset) << left, mult), r), with r = -shift in
 *   [0, left + 1] (r = 0 only for mult = 2^30, the input of larger scale), equals
 *   hi(acc * mult + c) with acc = (x + offset) << (left + 1 - r) and c = cpos = 2^31 + 2^(31 - r)
 *   (r = 0: 2^31), or c = cpos - 2^(32 - r) = -cpos (mod 2^32) when acc < 0. Scaling the
 *   rounding sum by 2^(1 - r) puts the floor at bit 32. Another value added to the high word
 *   (the rescaled other input of an ADD) comes for free.
 * - the input of larger scale (mult = 2^30, r = 0) is exactly (x + offset) << (left - 1): one
 *   shifted add, (x << (left - 1)) + c.
 * - the output's requantization, MultiplyByQuantizedMultiplier(acc, mult, -r) + zp for
 *   2 <= r <= 22, is one SMMLAR from acc2 = 2 * acc (|acc| < 2^30, as every int8 operator's is):
 *   (floor((acc2 * mult + 2^31) / 2^32) + h2 - (acc < 0)) >> r, with h2 = 2^(r - 1) + zp * 2^r.
 *   That is etx_rqz's rounding sum (see edgetx_rt_internal.h) doubled: the 2^30 term becomes
 *   SMMLAR's rounding constant, and the zero point rides in the accumulator. The loops make
 *   acc2 directly where that is free (a doubled constant, a shift one larger).
 * etx_fast_make checks these conditions and the int8 output range (the clamp is one
 * saturation); anything else takes the general path (etx_binary_one). etx_add_table and
 * etx_binary_k use the same output form with their inputs' rescalings folded into constants
 * and tables at generation time (ops/elementwise.py checks their conditions). */
#ifndef EDGETX_RT_BINARY_H
#define EDGETX_RT_BINARY_H

#include "edgetx_rt_internal.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#endif

/* For a specialised loop that must keep every register to itself. */
#if defined(__GNUC__)
#define ETX_NOINLINE __attribute__((noinline))
#else
#define ETX_NOINLINE
#endif

typedef struct {
  int32_t offset, k, mult;
  uint32_t cpos;
  int32_t left, shift; /* as given, for etx_in_once */
  int32_t fast;        /* whether etx_in_apply may be used */
  int32_t exact;       /* mult = 2^30, r = 0, TFLM's int8 left shift: x * 2^(left - 1) + c */
  int32_t c;
} etx_in_rq;

typedef struct {
  int32_t mult, h2, r;
} etx_rq2;

typedef struct {
  etx_in_rq in1, in2;
  etx_rq2 out;
} etx_fast_params;

/* The exact form's shift: int8 ADD and SUB scale inputs by 2^20, SQUARED_DIFFERENCE by 2^7
 * (TFLM's fixed left shifts); etx_fast_make marks an input exact only with these. */
#define ETX_EXACT_SHIFT_ADD 19
#define ETX_EXACT_SHIFT_SQDIFF 6

static inline int32_t etx_smlal_hi(uint32_t lo, int32_t hi, int32_t a, int32_t b) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  __asm__("smlal %[lo], %[hi], %[a], %[b]" : [lo] "+r"(lo), [hi] "+r"(hi) : [a] "r"(a), [b] "r"(b));
  return hi;
#else
  return (int32_t)(((int64_t)a * b + (int64_t)lo + (int64_t)((uint64_t)(uint32_t)hi << 32)) >>
                   32);
#endif
}

/* The rescaled input x, plus add (exactly: add rides in the high word). */
static inline int32_t etx_in_apply(const etx_in_rq *q, int32_t x, int32_t add) {
  const int32_t acc = (x + q->offset) * (1 << q->k);
  const uint32_t sign = (uint32_t)(acc >> 31); /* 0, or all ones: negate cpos */
  return etx_smlal_hi((q->cpos ^ sign) - sign, add, acc, q->mult);
}

/* A rescaling in its general form (where the fast one does not hold). */
int32_t etx_in_general(const etx_in_rq *q, int32_t x);

/* A rescaling computed once (an input broadcast along a run). */
static inline int32_t etx_in_once(const etx_in_rq *q, int32_t x) {
  return q->fast ? etx_in_apply(q, x, 0) : etx_in_general(q, x);
}

/* The requantized int8 output of acc2 = 2 * acc, as an int32. */
static inline int32_t etx_out2(const etx_rq2 *q, int32_t acc2) {
  const int32_t ra = q->h2 + (acc2 >> 31);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  return __ssat(etx_smmlar(acc2, q->mult, ra) >> q->r, 8);
#else
  const int64_t sum = (int64_t)acc2 * q->mult + (int64_t)ra * ((int64_t)1 << 32) + 0x80000000LL;
  return clamp32((int32_t)(sum >> 32) >> q->r, -128, 127);
#endif
}

/* The same for acc2 >= 0 (a square): no sign to correct. */
static inline int32_t etx_out2_pos(const etx_rq2 *q, int32_t acc2) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  return __ssat(etx_smmlar(acc2, q->mult, q->h2) >> q->r, 8);
#else
  return etx_out2(q, acc2);
#endif
}

/* The sum of n contiguous int8 values, wrapping modulo 2^32 as TFLM's int32 sum does (MEAN). */
uint32_t etx_sum_s8(const int8_t *v, int32_t n);

/* One output of the general path (any element type, activation range and parameters). */
int32_t etx_binary_one(const etx_binop *p, int32_t x, int32_t y);

/* Whether the fast int8 path applies to op with inputs stepping by step1 and step2 (1, or 0
 * where broadcast); fills f if so. A broadcast input is rescaled once (etx_in_once), so only
 * a stepping one needs the fast form. */
int etx_fast_make(const etx_binop *op, int32_t step1, int32_t step2, etx_fast_params *f);

#endif /* EDGETX_RT_BINARY_H */
