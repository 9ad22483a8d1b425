/* Reductions: MEAN and SUM over constant axes (TFLM's QuantizedMeanOrSum). */
#include "edgetx_rt_binary.h"

#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* sum of n contiguous int8 values, 4 per word: flipping each byte's sign bit makes it x + 128,
 * unsigned, and USADA8 adds the four to the sum; 128 per value is taken off at the end. Wraps
 * modulo 2^32 like the scalar sum. */
uint32_t etx_sum_s8(const int8_t *v, int32_t n) {
  uint32_t sum = 0;
  int32_t k = 0;
  for (; k + 4 <= n; k += 4) {
    uint32_t w;
    memcpy(&w, v + k, sizeof w); /* one LDR: unaligned access is fine on these cores */
    sum = __usada8(w ^ 0x80808080u, 0, sum);
  }
  sum -= (uint32_t)k * 128u;
  for (; k < n; ++k) {
    sum += (uint32_t)(int32_t)v[k];
  }
  return sum;
}

/* The sums down four neighbouring columns (count values each, step apart), two per SXTB16 pair
 * in 16-bit lanes: exact while count <= 255. */
#define COLUMN_SUMS 1
static void column_sums4(const int8_t *v, int32_t step, int32_t count, uint32_t *col) {
  uint32_t even = 0, odd = 0;
  for (int32_t k = 0; k < count; ++k, v += step) {
    uint32_t w;
    memcpy(&w, v, sizeof w);
    even = __sadd16(even, __sxtb16(w));
    odd = __sadd16(odd, __sxtb16((w >> 8) | (w << 24)));
  }
  col[0] = (uint32_t)(int32_t)(int16_t)even;
  col[1] = (uint32_t)(int32_t)(int16_t)odd;
  col[2] = (uint32_t)((int32_t)even >> 16);
  col[3] = (uint32_t)((int32_t)odd >> 16);
}
#else
#define COLUMN_SUMS 0
uint32_t etx_sum_s8(const int8_t *v, int32_t n) {
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
  /* A reduced axis across rows of contiguous outputs (a pooling MEAN): four columns at once. */
  const int32_t last = p->ndims_out - 1;
  const int columns = COLUMN_SUMS && one_axis && step > 1 && p->count <= 255 && last >= 0 &&
                      p->out_stride[last] == 1;
  uint32_t col[4];
  int32_t col_left = 0;
  int32_t base = 0;
  for (int32_t o = 0; o < n_out; ++o) {
    uint32_t sum = 0; /* TFLM accumulates in int32 and lets it wrap */
    if (col_left > 0) {
      sum = col[4 - col_left--];
    } else if (columns && oidx[last] + 4 <= p->out_shape[last]) {
#if COLUMN_SUMS
      column_sums4((const int8_t *)in + base, step, p->count, col);
#endif
      sum = col[0];
      col_left = 3;
    } else if (one_axis && step == 1) {
      sum = etx_sum_s8((const int8_t *)in + base, p->count);
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
