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
  int32_t elem_bytes;            /* 1 (int8) or 2 (int16) */
} etx_binary_params;

void etx_binary(const etx_binary_params *p, const void *in1, const void *in2, void *out);

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
  int32_t table_len; /* 256, or 64 when exp_table[63..255] are 0 (d is clamped to 63) */
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

typedef struct {
  int32_t ndims;
  int32_t shape[ETX_MAX_DIMS];      /* iteration shape */
  int32_t in_stride[ETX_MAX_DIMS];  /* in elements; negative for reversed slices */
  int32_t out_stride[ETX_MAX_DIMS];
  int32_t in_base;                  /* first element read */
  int32_t out_base;                 /* first element written */
  int32_t elem_bytes;               /* 1 or 2 */
} etx_copy_params;

/* Strided copy: TRANSPOSE, SLICE, STRIDED_SLICE, CONCATENATION (one call per input), PAD. */
void etx_copy(const etx_copy_params *p, const void *in, void *out);

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

#ifdef __cplusplus
}
#endif

#endif /* EDGETX_RT_H */
