/* Convolutions and average pooling over NHWC tensors. */
#include "edgetx_rt_internal.h"

/* One output channel's accumulation at (b, oy, ox): the filter taps that fall inside the
 * image, each tap over the channels it reads. ACC is int32_t or int64_t. */
#define ETX_CONV_BODY(IN_T, ACC_T, BIAS, REQUANT)                                          \
  for (int32_t b = 0; b < p->batches; ++b) {                                               \
    for (int32_t oy = 0; oy < p->out_h; ++oy) {                                            \
      const int32_t y0 = oy * p->stride_h - p->pad_h;                                      \
      for (int32_t ox = 0; ox < p->out_w; ++ox) {                                          \
        const int32_t x0 = ox * p->stride_w - p->pad_w;                                    \
        for (int32_t oc = 0; oc < p->out_c; ++oc) {                                        \
          ACC_T acc = 0;                                                                   \
          for (int32_t ky = 0; ky < p->k_h; ++ky) {                                        \
            const int32_t iy = y0 + p->dil_h * ky;                                         \
            if (iy < 0 || iy >= p->in_h) {                                                 \
              continue;                                                                    \
            }                                                                              \
            for (int32_t kx = 0; kx < p->k_w; ++kx) {                                      \
              const int32_t ix = x0 + p->dil_w * kx;                                       \
              if (ix < 0 || ix >= p->in_w) {                                               \
                continue;                                                                  \
              }                                                                            \
              const IN_T *px = in + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c;         \
              if (p->filter_depth == 0) {                                                  \
                const int32_t ic = oc / p->depth_mult;                                     \
                const int32_t wv = w[(ky * p->k_w + kx) * p->out_c + oc];                  \
                acc += (ACC_T)(wv * ((int32_t)px[ic] + p->in_offset));                     \
              } else {                                                                     \
                const int32_t per_group = p->out_c / (p->in_c / p->filter_depth);          \
                const IN_T *pg = px + (oc / per_group) * p->filter_depth;                  \
                const int8_t *wk = w + ((oc * p->k_h + ky) * p->k_w + kx) * p->filter_depth; \
                for (int32_t ic = 0; ic < p->filter_depth; ++ic) {                         \
                  acc += (ACC_T)((int32_t)wk[ic] * ((int32_t)pg[ic] + p->in_offset));      \
                }                                                                          \
              }                                                                            \
            }                                                                              \
          }                                                                                \
          acc += (ACC_T)BIAS[oc];                                                          \
          const int32_t v = REQUANT(acc, mult[oc], shift[oc]) + p->out_zp;                 \
          out[((b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =                     \
              (IN_T)clamp32(v, p->act_min, p->act_max);                                    \
        }                                                                                  \
      }                                                                                    \
    }                                                                                      \
  }

void etx_conv(const etx_conv_params *p, const int8_t *in, const int8_t *w, const int32_t *bias,
              const int32_t *mult, const int32_t *shift, int8_t *out) {
  ETX_CONV_BODY(int8_t, int32_t, bias, etx_mbqm)
}

void etx_conv_s16(const etx_conv_params *p, const int16_t *in, const int8_t *w,
                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int16_t *out) {
  ETX_CONV_BODY(int16_t, int32_t, bias, etx_mbqm)
}

void etx_conv_s16_acc64(const etx_conv_params *p, const int16_t *in, const int8_t *w,
                        const int64_t *bias, const int32_t *mult, const int32_t *shift,
                        int16_t *out) {
  ETX_CONV_BODY(int16_t, int64_t, bias, etx_mbqm64)
}

#define ETX_AVG_POOL_BODY(IN_T)                                                            \
  for (int32_t b = 0; b < p->batches; ++b) {                                               \
    for (int32_t oy = 0; oy < p->out_h; ++oy) {                                            \
      const etx_window wy = etx_window_at(oy, p->stride_h, p->pad_h, p->k_h, p->in_h);     \
      for (int32_t ox = 0; ox < p->out_w; ++ox) {                                          \
        const etx_window wx = etx_window_at(ox, p->stride_w, p->pad_w, p->k_w, p->in_w);   \
        for (int32_t c = 0; c < p->in_c; ++c) {                                            \
          int32_t acc = 0, count = 0;                                                      \
          for (int32_t ky = wy.k0; ky < wy.k1; ++ky) {                                     \
            for (int32_t kx = wx.k0; kx < wx.k1; ++kx) {                                   \
              const int32_t px = (b * p->in_h + wy.start + ky) * p->in_w + wx.start + kx;  \
              acc += in[px * p->in_c + c];                                                 \
              ++count;                                                                     \
            }                                                                              \
          }                                                                                \
          if (count > 0) { /* round half away from zero, as TFLM */                        \
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;         \
          }                                                                                \
          out[((b * p->out_h + oy) * p->out_w + ox) * p->in_c + c] =                       \
              (IN_T)clamp32(acc, p->act_min, p->act_max);                                  \
        }                                                                                  \
      }                                                                                    \
    }                                                                                      \
  }

void etx_avg_pool(const etx_conv_params *p, const int8_t *in, int8_t *out) {
  ETX_AVG_POOL_BODY(int8_t)
}

void etx_avg_pool_s16(const etx_conv_params *p, const int16_t *in, int16_t *out) {
  ETX_AVG_POOL_BODY(int16_t)
}
