/* Reductions: MEAN and SUM over constant axes (TFLM's QuantizedMeanOrSum). */
#include "edgetx_rt_internal.h"

void etx_mean(const etx_mean_params *p, const void *in, void *out) {
  const int wide = p->elem_bytes == 2;
  const int32_t lo = wide ? -32768 : -128, hi = wide ? 32767 : 127;
  int32_t oidx[ETX_MAX_DIMS] = {0};
  int32_t n_out = 1;
  for (int32_t d = 0; d < p->ndims_out; ++d) {
    n_out *= p->out_shape[d];
  }
  int32_t base = 0;
  for (int32_t o = 0; o < n_out; ++o) {
    int32_t ridx[ETX_MAX_DIMS] = {0};
    int32_t off = base;
    uint32_t sum = 0; /* TFLM accumulates in int32 and lets it wrap */
    if (!wide && p->ndims_red > 0 && p->red_shape[p->ndims_red - 1] == p->count) {
      /* One reduced axis of size > 1 (LayerNorm's): a plain strided loop. */
      const int8_t *v = (const int8_t *)in + base;
      const int32_t step = p->red_stride[p->ndims_red - 1];
      for (int32_t k = 0; k < p->count; ++k, v += step) {
        sum += (uint32_t)(int32_t)*v;
      }
    } else {
      for (int32_t k = 0; k < p->count; ++k) {
        sum += (uint32_t)(wide ? (int32_t)((const int16_t *)in)[off]
                               : (int32_t)((const int8_t *)in)[off]);
        advance(ridx, &off, p->red_shape, p->red_stride, p->ndims_red);
      }
    }
    const int32_t shifted = (int32_t)(sum - (uint32_t)p->in_zp * (uint32_t)p->count);
    const int32_t v = clamp32(etx_mbqm(shifted, p->mult, p->shift) + p->out_zp, lo, hi);
    if (wide) {
      ((int16_t *)out)[o] = (int16_t)v;
    } else {
      ((int8_t *)out)[o] = (int8_t)v;
    }
    advance(oidx, &base, p->out_shape, p->out_stride, p->ndims_out);
  }
}
