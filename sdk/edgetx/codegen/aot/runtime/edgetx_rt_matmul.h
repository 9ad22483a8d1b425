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

/* The 4-row kernels, for products of depth up to ETX_X4_MAX_DEPTH whose requantization shifts
 * right by 1 to 22 bits (ops/matmul.py chooses them at generation time; the kernels above take
 * the rest). Four rows of one operand are expanded once into int16 (zero point removed,
 * doubled), then each int8 word of the other operand serves all four: a quarter of the weight
 * unpacking per output. The requantization of the doubled sum s = 2 acc is
 *   t = round_zp + ((s * mult + 2^31) >> 32) (SMMLAR); out = ssat8((t - (s < 0)) >> shift)
 * with round_zp = (2 out_zp + 1) << (shift - 1); it equals TFLM's
 * MultiplyByQuantizedMultiplier(acc, mult, -shift) + out_zp, clamped, for |acc| < 2^30 (the
 * generator checks the bound). The kernels recover shift as ctz(round_zp) + 1. */
#define ETX_X4_MAX_DEPTH 64

typedef struct {
  int32_t rows;
  int32_t depth;
  int32_t out_depth;
  int32_t in_zp;
} etx_fc_x4_params;

/* wq: per output channel, in one stream of words: 2 * bias, the weights (4 per little-endian
 * word, depth zero padded to a whole word), mult, round_zp. Outputs span the whole int8 range
 * (no fused clamp). */
void etx_fully_connected_x4(const etx_fc_x4_params *p, const int8_t *in, const int32_t *wq,
                            int8_t *out);

typedef struct {
  int32_t batches;
  int32_t rows;
  int32_t depth;
  int32_t cols;
  int32_t lhs_batch_stride;
  int32_t rhs_batch_stride;
  int32_t rhs_row_stride;
  int32_t rhs_col_stride;
  int32_t lhs_zp;
  int32_t rhs_zp;
  int32_t mult;
  int32_t round_zp;
} etx_bmm_x4_params;

void etx_batch_matmul_x4(const etx_bmm_x4_params *p, const int8_t *lhs, const int8_t *rhs,
                         int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGETX_RT_MATMUL_H */
