/* Data movement the generated loops do not do themselves: fills and GATHER. */
#include "edgetx_rt_internal.h"

#include <string.h>

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
