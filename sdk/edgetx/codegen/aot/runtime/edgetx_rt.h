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

#include "edgetx_rt_matmul.h"

typedef enum { ETX_ADD, ETX_SUB, ETX_MUL, ETX_SQDIFF } etx_binary_kind;

/* One element-wise binary operator's arithmetic, as TFLM's Prepare derives it. */
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
} etx_binop;

typedef struct {
  etx_binop op;
  int32_t ndims;
  int32_t shape[ETX_MAX_DIMS];   /* output shape */
  int32_t stride1[ETX_MAX_DIMS]; /* input strides, 0 where broadcast */
  int32_t stride2[ETX_MAX_DIMS];
  int32_t elem_bytes;            /* 1 (int8) or 2 (int16) */
} etx_binary_params;

void etx_binary(const etx_binary_params *p, const void *in1, const void *in2, void *out);

/* int8 ADD of two whole tensors (or SUB, x less y), x of the larger scale: the rescaled sum,
 * doubled, is (x << 20) + y * q2 + k2 + 2 * e[y] (e from generation time, indexed -128..127),
 * then requantized by (mult, h2, r) as etx_binary's fast path does. */
typedef struct {
  int32_t n;
  int32_t q2, k2;
  int32_t mult, h2, r;
} etx_add_table_params;

void etx_add_table(const etx_add_table_params *p, const int8_t *x, const int8_t *y,
                   const int8_t *e, int8_t *out);

/* int8 ADD or MUL of x and a small constant given as its values prescaled at generation time
 * (ADD: 2 * (x's rescaling constant + c rescaled), MUL: 2 * (c + offset)); stride2 walks k. */
void etx_binary_k(const etx_binary_params *p, const int8_t *x, const int32_t *k, int8_t *out);

/* out[i] = table[(uint8_t)in[i]]: every int8 unary op is tabulated at generation time. */
void etx_lookup(const int8_t *table, const int8_t *in, int8_t *out, int32_t n);
/* The same for an int8 -> int16 operator (QUANTIZE to int16). */
void etx_lookup_s16(const int16_t *table, const int8_t *in, int16_t *out, int32_t n);

typedef struct {
  int32_t mult, shift;
  int32_t in_zp, out_zp;
  int32_t act_min, act_max;
  int32_t out_bytes;  /* 1 (int8) or 2 (int16) */
} etx_requant_params;

/* QUANTIZE from int16: out = clamp(mbqm(in - in_zp) + out_zp). */
void etx_requant_s16(const etx_requant_params *p, const int16_t *in, void *out, int32_t n);

typedef struct {
  int32_t rows;
  int32_t depth;
  int32_t table_last; /* exp_table's last index: any larger d reads it (0 if below 255) */
} etx_softmax_params;

/* exp_table[d] holds exp(scaled(-d)) in Q0.31 for d = max - x, or 0 where TFLM skips. */
void etx_softmax(const etx_softmax_params *p, const int32_t *exp_table, const int8_t *in,
                 int8_t *out);

/* int16 SOFTMAX with TFLM's 513-entry interpolation tables for exp and 1/(1+x). */
void etx_softmax_s16(int32_t rows, int32_t depth, int32_t mult, int32_t shift,
                     const int16_t *exp_lut, const int16_t *recip_lut, const int16_t *in,
                     int16_t *out);

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
  int32_t elem_bytes;               /* 1 (int8) or 2 (int16) */
} etx_mean_params;

/* MEAN and SUM (SUM has 1/count left out of mult). */
void etx_mean(const etx_mean_params *p, const void *in, void *out);

/* LayerNorm over the last axis as the converter decomposes it (MEAN, SQUARED_DIFFERENCE, MEAN,
 * ADD eps, RSQRT, MUL, SUB, MUL, ADD; see fusion.py), one row at a time, with every
 * intermediate int8 value and requantization TFLM's:
 *   m = MEAN(x); v = MEAN(SQUARED_DIFFERENCE(x, m)); r = RSQRT(ADD(v, eps));
 *   s = SUB(c, MUL(r, m)) (or SUB(MUL(r, m), c)); y = ADD(MUL(x, r), s). */
typedef struct {
  int32_t rows, depth;
  int32_t x_zp, mean_mult, mean_shift, mean_zp;  /* m = MEAN(x) */
  int32_t sq_zp, var_mult, var_shift, var_zp;    /* v = MEAN(SQUARED_DIFFERENCE(x, m)) */
  int32_t sub_const, sub_const_first;            /* c, and whether it is SUB's first input */
  etx_binop sqdiff;                              /* (x, m) */
  etx_binop mul_rm;                              /* (r, m) */
  etx_binop sub;                                 /* in the model's order */
  etx_binop mul_x;                               /* (x, r) */
  etx_binop add_y;                               /* (x * r, s) */
} etx_layer_norm_params;

/* rsqrt_table[(uint8_t)v] = RSQRT(ADD(v, eps)), computed at generation time. */
void etx_layer_norm(const etx_layer_norm_params *p, const int8_t *rsqrt_table, const int8_t *x,
                    int8_t *y);

/* n elements of elem_bytes set to value (PAD's border). */
void etx_fill(void *out, int32_t value, int32_t n, int32_t elem_bytes);

/* GATHER: out[o][i] = params[o][indices[i]], each a run of inner_bytes. */
void etx_gather(const void *params, const int32_t *indices, int32_t n_indices, int32_t outer,
                int32_t axis_size, int32_t inner_bytes, void *out);

typedef struct {
  int32_t batches, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w;
  int32_t stride_h, stride_w;
  int32_t dil_h, dil_w;
  int32_t pad_h, pad_w;
  int32_t filter_depth;  /* CONV_2D: input channels per group; 0 for depthwise */
  int32_t depth_mult;    /* DEPTHWISE_CONV_2D: output channels per input channel */
  int32_t in_offset;     /* -input zero point */
  int32_t out_zp;
  int32_t act_min, act_max;
} etx_conv_params;

/* CONV_2D / DEPTHWISE_CONV_2D with per-channel requantization, NHWC, zero padding
 * by skipping taps outside the image (as TFLM's reference kernels do). */
void etx_conv(const etx_conv_params *p, const int8_t *in, const int8_t *w, const int32_t *bias,
              const int32_t *mult, const int32_t *shift, int8_t *out);
/* 16x8: int16 activations, int8 weights; int32 or int64 bias and accumulator. */
void etx_conv_s16(const etx_conv_params *p, const int16_t *in, const int8_t *w,
                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int16_t *out);
void etx_conv_s16_acc64(const etx_conv_params *p, const int16_t *in, const int8_t *w,
                        const int64_t *bias, const int32_t *mult, const int32_t *shift,
                        int16_t *out);

/* AVERAGE_POOL_2D: the rounded mean of the taps inside the image. */
void etx_avg_pool(const etx_conv_params *p, const int8_t *in, int8_t *out);
void etx_avg_pool_s16(const etx_conv_params *p, const int16_t *in, int16_t *out);

typedef struct {
  int32_t batches, rows, depth, cols;
  int32_t lhs_batch_stride, rhs_batch_stride;
  int32_t col_stride;  /* weights/rhs: step between output columns */
  int32_t k_stride;    /* weights/rhs: step along the accumulation depth */
  int32_t act_min, act_max;
} etx_mm16_params;

/* 16x8 FULLY_CONNECTED: int16 input rows, int8 weights [cols][depth], per-channel requant. */
void etx_matmul_s16(const etx_mm16_params *p, const int16_t *in, const int8_t *w,
                    const int32_t *bias, const int32_t *mult, const int32_t *shift,
                    int16_t *out);
void etx_matmul_s16_acc64(const etx_mm16_params *p, const int16_t *in, const int8_t *w,
                          const int64_t *bias, const int32_t *mult, const int32_t *shift,
                          int16_t *out);
/* 16x16 BATCH_MATMUL. */
void etx_bmm_s16(const etx_mm16_params *p, const int16_t *lhs, const int16_t *rhs, int32_t mult,
                 int32_t shift, int16_t *out);

/* MultiplyByQuantizedMultiplier for an int64 accumulator (TFLM's reduced-multiplier form). */
int32_t etx_mbqm64(int64_t x, int32_t multiplier, int shift);

/* int16 LOGISTIC / TANH: the input rescaled to table units by (x * mult + half) >> shift, then
 * TFLM's interpolated sigmoid table; output Q0.15. */
void etx_logistic_s16(int32_t mult, int32_t shift, const int16_t *in, int16_t *out, int32_t n);
void etx_tanh_s16(int32_t mult, int32_t shift, const int16_t *in, int16_t *out, int32_t n);
/* int16 RSQRT (zero points 0): TFLM's integer 1/sqrt, then requantization by (mult, shift). */
void etx_rsqrt_s16(int32_t mult, int32_t shift, const int16_t *in, int16_t *out, int32_t n);

/* MAX_POOL_2D: the largest tap inside the image, clamped to [act_min, act_max]. */
void etx_max_pool(const etx_conv_params *p, const int8_t *in, int8_t *out);
void etx_max_pool_s16(const etx_conv_params *p, const int16_t *in, int16_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EDGETX_RT_H */
