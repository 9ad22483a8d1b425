/* MAX_POOL_2D, int8 and int16, NHWC. */
#include "edgetx_rt_internal.h"

#define ETX_MAX_POOL_BODY(T, LOWEST)                                                      \
  for (int32_t b = 0; b < p->batches; ++b) {                                              \
    for (int32_t oy = 0; oy < p->out_h; ++oy) {                                           \
      const etx_window wy = etx_window_at(oy, p->stride_h, p->pad_h, p->k_h, p->in_h);    \
      for (int32_t ox = 0; ox < p->out_w; ++ox) {                                         \
        const etx_window wx = etx_window_at(ox, p->stride_w, p->pad_w, p->k_w, p->in_w);  \
        for (int32_t c = 0; c < p->in_c; ++c) {                                           \
          int32_t max = LOWEST; /* taps outside the image are skipped */                  \
          for (int32_t ky = wy.k0; ky < wy.k1; ++ky) {                                    \
            const T *row =                                                                \
                in + ((b * p->in_h + wy.start + ky) * p->in_w + wx.start) * p->in_c + c;  \
            for (int32_t kx = wx.k0; kx < wx.k1; ++kx) {                                  \
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
