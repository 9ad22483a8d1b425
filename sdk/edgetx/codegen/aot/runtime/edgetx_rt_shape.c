/* Data movement: strided copies, fills and GATHER. */
#include "edgetx_rt_internal.h"

#include <string.h>

void etx_copy(const etx_copy_params *p, const void *in, void *out) {
  int32_t idx[ETX_MAX_DIMS] = {0};
  int32_t n = 1;
  for (int32_t d = 0; d < p->ndims; ++d) {
    n *= p->shape[d];
  }
  const int32_t last = p->ndims - 1;
  const int32_t run = p->shape[last];
  const int32_t si = p->in_stride[last], so = p->out_stride[last];
  int32_t in_off = p->in_base, out_off = p->out_base;
  /* The innermost dimension is a run; the odometer steps over the outer ones. */
  for (int32_t i = 0; i < n; i += run) {
    if (p->elem_bytes == 2) {
      const int16_t *src = (const int16_t *)in + in_off;
      int16_t *dst = (int16_t *)out + out_off;
      for (int32_t k = 0; k < run; ++k) {
        dst[k * so] = src[k * si];
      }
    } else if (si == 1 && so == 1) {
      memcpy((int8_t *)out + out_off, (const int8_t *)in + in_off, (size_t)run);
    } else {
      const int8_t *src = (const int8_t *)in + in_off;
      int8_t *dst = (int8_t *)out + out_off;
      for (int32_t k = 0; k < run; ++k) {
        dst[k * so] = src[k * si];
      }
    }
    for (int32_t d = last - 1; d >= 0; --d) {
      in_off += p->in_stride[d];
      out_off += p->out_stride[d];
      if (++idx[d] < p->shape[d]) {
        break;
      }
      in_off -= p->in_stride[d] * p->shape[d];
      out_off -= p->out_stride[d] * p->shape[d];
      idx[d] = 0;
    }
  }
}

void etx_fill(void *out, int32_t value, int32_t n, int32_t elem_bytes) {
  if (elem_bytes == 2) {
    int16_t *o = (int16_t *)out;
    for (int32_t i = 0; i < n; ++i) {
      o[i] = (int16_t)value;
    }
  } else {
    memset(out, (int8_t)value, (size_t)n);
  }
}

void etx_gather(const void *params, const int32_t *indices, int32_t n_indices, int32_t outer,
                int32_t axis_size, int32_t inner_bytes, void *out) {
  const int8_t *src = (const int8_t *)params;
  int8_t *dst = (int8_t *)out;
  for (int32_t o = 0; o < outer; ++o) {
    for (int32_t i = 0; i < n_indices; ++i) {
      memcpy(dst, src + ((int64_t)o * axis_size + indices[i]) * inner_bytes, (size_t)inner_bytes);
      dst += inner_bytes;
    }
  }
}
