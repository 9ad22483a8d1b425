/* Reductions: MEAN and SUM over constant axes (TFLM's QuantizedMeanOrSum). */
#include "edgetx_rt_internal.h"

#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

/* sum of n contiguous int8 values, 4 per word: SXTB16 splits a word into two pairs and SMLAD
 * with (1, 1) adds both of a pair. Wraps modulo 2^32 like the scalar sum. */
static uint32_t sum_s8(const int8_t *v, int32_t n) {
  int32_t sum = 0;
  int32_t k = 0;
  for (; k + 4 <= n; k += 4) {
    uint32_t w;
    memcpy(&w, v + k, sizeof w); /* one LDR: unaligned access is fine on these cores */
    sum = __smlad((int32_t)__sxtb16(w), 0x00010001, sum);
    sum = __smlad((int32_t)__sxtb16((w >> 8) | (w << 24)), 0x00010001, sum);
  }
  for (; k < n; ++k) {
    sum += v[k];
  }
  return (uint32_t)sum;
}
#else
static uint32_t sum_s8(const int8_t *v, int32_t n) {
  uint32_t sum = 0;
  for (int32_t k = 0; k < n; ++k) {
    sum += (uint32_t)(int32_t)v[k];
  }
  return sum;
}
#endif

void etx_mean(const etx_mean_params *params, const void *in, void *out) {
  /* A local copy: stores through out may alias *params, which would force reloads. */
  const etx_mean_params local = *params, *p = &local;
  const int wide = p->elem_bytes == 2;
  const int32_t lo = wide ? -32768 : -128, hi = wide ? 32767 : 127;
  /* One reduced axis of size > 1 (LayerNorm's): a plain strided loop. */
  const int one_axis = !wide && p->ndims_red > 0 && p->red_shape[p->ndims_red - 1] == p->count;
  const int32_t step = p->ndims_red > 0 ? p->red_stride[p->ndims_red - 1] : 0;
  const uint32_t zp_sum = (uint32_t)p->in_zp * (uint32_t)p->count;
  const etx_rq rq = etx_rq_make(p->mult, p->shift);
  int32_t oidx[ETX_MAX_DIMS] = {0};
  int32_t n_out = 1;
  for (int32_t d = 0; d < p->ndims_out; ++d) {
    n_out *= p->out_shape[d];
  }
  int32_t base = 0;
  for (int32_t o = 0; o < n_out; ++o) {
    uint32_t sum = 0; /* TFLM accumulates in int32 and lets it wrap */
    if (one_axis && step == 1) {
      sum = sum_s8((const int8_t *)in + base, p->count);
    } else if (one_axis) {
      const int8_t *v = (const int8_t *)in + base;
      for (int32_t k = 0; k < p->count; ++k, v += step) {
        sum += (uint32_t)(int32_t)*v;
      }
    } else {
      int32_t ridx[ETX_MAX_DIMS] = {0};
      int32_t off = base;
      for (int32_t k = 0; k < p->count; ++k) {
        sum += (uint32_t)(wide ? (int32_t)((const int16_t *)in)[off]
                               : (int32_t)((const int8_t *)in)[off]);
        advance(ridx, &off, p->red_shape, p->red_stride, p->ndims_red);
      }
    }
    const int32_t v = clamp32(etx_rq_apply((int32_t)(sum - zp_sum), &rq) + p->out_zp, lo, hi);
    if (wide) {
      ((int16_t *)out)[o] = (int16_t)v;
    } else {
      ((int8_t *)out)[o] = (int8_t)v;
    }
    advance(oidx, &base, p->out_shape, p->out_stride, p->ndims_out);
  }
}
