/* MAX_POOL_2D, int8 and int16, NHWC. */
#include "edgetx_rt_internal.h"

#define ETX_MAX_POOL_BODY(T, LOWEST)                                                      \
  for (int32_t b = 0; b < p->batches; ++b) {                                              \
    for (int32_t oy = 0; oy < p->out_h; ++oy) {                                           \
      const int32_t y0 = oy * p->stride_h - p->pad_h;                                     \
      const int32_t ky0 = y0 < 0 ? -y0 : 0;                                               \
      const int32_t ky1 = p->k_h < p->in_h - y0 ? p->k_h : p->in_h - y0;                  \
      for (int32_t ox = 0; ox < p->out_w; ++ox) {                                         \
        const int32_t x0 = ox * p->stride_w - p->pad_w;                                   \
        const int32_t kx0 = x0 < 0 ? -x0 : 0;                                             \
        const int32_t kx1 = p->k_w < p->in_w - x0 ? p->k_w : p->in_w - x0;                \
        for (int32_t c = 0; c < p->in_c; ++c) {                                           \
          int32_t max = LOWEST; /* taps outside the image are skipped */                  \
          for (int32_t ky = ky0; ky < ky1; ++ky) {                                        \
            const T *row = in + ((b * p->in_h + y0 + ky) * p->in_w + x0) * p->in_c + c;   \
            for (int32_t kx = kx0; kx < kx1; ++kx) {                                      \
              max = row[kx * p->in_c] > max ? row[kx * p->in_c] : max;                    \
            }                                                                             \
          }                                                                               \
          out[((b * p->out_h + oy) * p->out_w + ox) * p->in_c + c] =                      \
              (T)clamp32(max, p->act_min, p->act_max);                                    \
        }                                                                                 \
      }                                                                                   \
    }                                                                                     \
  }

void etx_max_pool(const etx_conv_params *p, const int8_t *in, int8_t *out) {
  ETX_MAX_POOL_BODY(int8_t, -128)
}

void etx_max_pool_s16(const etx_conv_params *p, const int16_t *in, int16_t *out) {
  ETX_MAX_POOL_BODY(int16_t, -32768)
}
