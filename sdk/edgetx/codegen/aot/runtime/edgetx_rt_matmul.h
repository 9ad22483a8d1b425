/* edgetx AOT runtime: matrix kernels (FULLY_CONNECTED, BATCH_MATMUL). */
#ifndef EDGETX_RT_MATMUL_H
#define EDGETX_RT_MATMUL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* FULLY_CONNECTED weights are packed at generation time (ops/matmul.py pack_weights): output
 * channels in blocks of ETX_PACK_COLS, depth in chunks of 4, one int8 word per channel and chunk,
 * zero padded. */
#define ETX_PACK_COLS 4
/* BATCH_MATMUL packs rhs columns on the stack for the DSP path up to this depth (a multiple of
 * 4); deeper products take the portable loop. */
#define ETX_BMM_DSP_MAX_DEPTH 64

typedef struct {
  int32_t out_depth;     /* output channels */
  int32_t depth;         /* accumulation depth */
  int32_t rows;          /* batch rows */
  int32_t out_zp;
  int32_t act_min;
  int32_t act_max;
} etx_fc_params;

/* out[r][c] = requant(sum_d w[c][d] * in[r][d] + bias[c]); the input zero point is folded
 * into bias at generation time. bias, mult and shift are per output channel, bias padded to
 * whole blocks; w is packed and word aligned. */
void etx_fully_connected(const etx_fc_params *p, const int8_t *in, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *out);

typedef struct {
  int32_t batches;
  int32_t rows;          /* lhs rows */
  int32_t depth;         /* accumulation depth */
  int32_t cols;          /* rhs cols */
  int32_t lhs_batch_stride;
  int32_t rhs_batch_stride;
  int32_t rhs_row_stride;  /* step between k for fixed j */
  int32_t rhs_col_stride;  /* step between j for fixed k */
  int32_t lhs_zp;
  int32_t rhs_zp;
  int32_t mult;
  int32_t shift;
  int32_t out_zp;
} etx_bmm_params;

void etx_batch_matmul(const etx_bmm_params *p, const int8_t *lhs, const int8_t *rhs,
                      int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGETX_RT_MATMUL_H */
