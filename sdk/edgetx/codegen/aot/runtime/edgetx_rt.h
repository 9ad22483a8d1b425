/* edgetx AOT runtime: int8 kernels with the integer arithmetic of TensorFlow Lite
 * Micro's reference kernels. Shapes and quantization parameters are fixed by the
 * generated model code; these functions hold only the loops. */
#ifndef EDGETX_RT_H
#define EDGETX_RT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ETX_MAX_DIMS 6

/* Fixed-point primitives (gemmlowp semantics). */
int32_t etx_srdhm(int32_t a, int32_t b);
int32_t etx_rdbpot(int32_t x, int exponent);
int32_t etx_mbqm(int32_t x, int32_t multiplier, int shift);

typedef struct {
  int32_t out_depth;     /* output channels */
  int32_t depth;         /* accumulation depth */
  int32_t rows;          /* batch rows */
  int32_t out_zp;
  int32_t act_min;
  int32_t act_max;
} etx_fc_params;

/* out[r][c] = requant(sum_d w[c][d] * in[r][d] + bias[c]); the input zero point
 * is folded into bias at generation time. mult/shift are per output channel. */
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

typedef enum { ETX_ADD, ETX_SUB, ETX_MUL, ETX_SQDIFF } etx_binary_kind;

typedef struct {
  etx_binary_kind kind;
  int32_t in1_offset;    /* -zero point */
  int32_t in2_offset;
  int32_t out_zp;
  int32_t left_shift;
  int32_t in1_mult, in1_shift;
  int32_t in2_mult, in2_shift;
  int32_t out_mult, out_shift;
  int32_t act_min, act_max;
  int32_t ndims;
  int32_t shape[ETX_MAX_DIMS];   /* output shape */
  int32_t stride1[ETX_MAX_DIMS]; /* input strides, 0 where broadcast */
  int32_t stride2[ETX_MAX_DIMS];
} etx_binary_params;

void etx_binary(const etx_binary_params *p, const int8_t *in1, const int8_t *in2, int8_t *out);

/* out[i] = table[(uint8_t)in[i]]: every int8 unary op is tabulated at generation time. */
void etx_lookup(const int8_t *table, const int8_t *in, int8_t *out, int32_t n);

typedef struct {
  int32_t rows;
  int32_t depth;
} etx_softmax_params;

/* exp_table[d] holds exp(scaled(-d)) in Q0.31 for d = max - x, or 0 where TFLM skips. */
void etx_softmax(const etx_softmax_params *p, const int32_t *exp_table, const int8_t *in,
                 int8_t *out);

typedef struct {
  int32_t ndims_out;
  int32_t out_shape[ETX_MAX_DIMS];
  int32_t out_stride[ETX_MAX_DIMS]; /* input stride of each kept dimension */
  int32_t ndims_red;
  int32_t red_shape[ETX_MAX_DIMS];
  int32_t red_stride[ETX_MAX_DIMS]; /* input stride of each reduced dimension */
  int32_t in_zp;
  int32_t count;                    /* elements reduced per output */
  int32_t mult, shift;
  int32_t out_zp;
} etx_mean_params;

void etx_mean(const etx_mean_params *p, const int8_t *in, int8_t *out);

typedef struct {
  int32_t ndims;
  int32_t shape[ETX_MAX_DIMS];      /* output shape */
  int32_t in_stride[ETX_MAX_DIMS];  /* input stride of each output dimension */
} etx_transpose_params;

void etx_transpose(const etx_transpose_params *p, const int8_t *in, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGETX_RT_H */
