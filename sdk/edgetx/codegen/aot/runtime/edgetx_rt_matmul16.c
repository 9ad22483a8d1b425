/* 16x8 FULLY_CONNECTED and 16x16 BATCH_MATMUL (symmetric, zero points 0). */
#include "edgetx_rt_internal.h"

/* out[b][r][c] = requant(sum_k in[b][r][k] * w[c * col_stride + k * k_stride] + bias[c]).
 * ACC is int32_t or int64_t, with the matching MultiplyByQuantizedMultiplier. */
#define ETX_MM16_BODY(ACC_T, REQUANT)                                                     \
  for (int32_t r = 0; r < p->rows; ++r) {                                                 \
    const int16_t *x = in + r * p->depth;                                                 \
    for (int32_t c = 0; c < p->cols; ++c) {                                               \
      ACC_T acc = 0;                                                                      \
      for (int32_t k = 0; k < p->depth; ++k) {                                            \
        acc += (ACC_T)((int32_t)w[c * p->col_stride + k * p->k_stride] * (int32_t)x[k]);  \
      }                                                                                   \
      acc += (ACC_T)bias[c];                                                              \
      out[r * p->cols + c] = (int16_t)clamp32(REQUANT(acc, mult[c], shift[c]),            \
                                              p->act_min, p->act_max);                    \
    }                                                                                     \
  }

void etx_matmul_s16(const etx_mm16_params *p, const int16_t *in, const int8_t *w,
                    const int32_t *bias, const int32_t *mult, const int32_t *shift,
                    int16_t *out) {
  ETX_MM16_BODY(int32_t, etx_mbqm)
}

void etx_matmul_s16_acc64(const etx_mm16_params *p, const int16_t *in, const int8_t *w,
                          const int64_t *bias, const int32_t *mult, const int32_t *shift,
                          int16_t *out) {
  ETX_MM16_BODY(int64_t, etx_mbqm64)
}

void etx_bmm_s16(const etx_mm16_params *p, const int16_t *lhs, const int16_t *rhs, int32_t mult,
                 int32_t shift, int16_t *out) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int16_t *l = lhs + b * p->lhs_batch_stride;
    const int16_t *r = rhs + b * p->rhs_batch_stride;
    int16_t *o = out + b * p->rows * p->cols;
    for (int32_t i = 0; i < p->rows; ++i) {
      for (int32_t j = 0; j < p->cols; ++j) {
        int64_t acc = 0; /* TFLM accumulates 16x16 products in int64 */
        for (int32_t k = 0; k < p->depth; ++k) {
          acc += (int64_t)l[i * p->depth + k] * r[j * p->col_stride + k * p->k_stride];
        }
        o[i * p->cols + j] = (int16_t)clamp32(etx_mbqm64(acc, mult, shift), p->act_min,
                                              p->act_max);
      }
    }
  }
}
