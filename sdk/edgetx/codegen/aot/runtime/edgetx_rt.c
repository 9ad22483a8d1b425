/* See edgetx_rt.h. Every formula mirrors the TFLM reference kernel it replaces;
 * the generator's tests compare each against the TFLM interpreter bit for bit. */
#include "edgetx_rt.h"

#include <stddef.h>

static int32_t clamp32(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* Step a row-major index over shape by one element, keeping *offset (the element's
 * position under stride) in step with it. */
static inline void advance(int32_t *idx, int32_t *offset, const int32_t *shape,
                           const int32_t *stride, int32_t ndims) {
  for (int32_t d = ndims - 1; d >= 0; --d) {
    *offset += stride[d];
    if (++idx[d] < shape[d]) {
      return;
    }
    *offset -= stride[d] * shape[d];
    idx[d] = 0;
  }
}

int32_t etx_srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) {
    return INT32_MAX;
  }
  const int64_t ab = (int64_t)a * (int64_t)b;
  const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t etx_rdbpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)((1LL << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t etx_mbqm(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return etx_rdbpot(etx_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

void etx_fully_connected(const etx_fc_params *p, const int8_t *in, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *out) {
  for (int32_t r = 0; r < p->rows; ++r) {
    const int8_t *x = in + r * p->depth;
    for (int32_t c = 0; c < p->out_depth; ++c) {
      const int8_t *wc = w + c * p->depth;
      int32_t acc = bias[c];
      for (int32_t d = 0; d < p->depth; ++d) {
        acc += (int32_t)wc[d] * (int32_t)x[d];
      }
      acc = etx_mbqm(acc, mult[c], shift[c]) + p->out_zp;
      out[r * p->out_depth + c] = (int8_t)clamp32(acc, p->act_min, p->act_max);
    }
  }
}

void etx_batch_matmul(const etx_bmm_params *p, const int8_t *lhs, const int8_t *rhs,
                      int8_t *out) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *l = lhs + b * p->lhs_batch_stride;
    const int8_t *r = rhs + b * p->rhs_batch_stride;
    int8_t *o = out + b * p->rows * p->cols;
    for (int32_t i = 0; i < p->rows; ++i) {
      for (int32_t j = 0; j < p->cols; ++j) {
        int32_t acc = 0;
        for (int32_t k = 0; k < p->depth; ++k) {
          const int32_t a = (int32_t)l[i * p->depth + k] - p->lhs_zp;
          const int32_t v = (int32_t)r[k * p->rhs_row_stride + j * p->rhs_col_stride] - p->rhs_zp;
          acc += a * v;
        }
        acc = etx_mbqm(acc, p->mult, p->shift) + p->out_zp;
        o[i * p->cols + j] = (int8_t)clamp32(acc, -128, 127);
      }
    }
  }
}

static int32_t binary_one(const etx_binary_params *p, int32_t x, int32_t y) {
  const int32_t a = x + p->in1_offset;
  const int32_t b = y + p->in2_offset;
  int32_t raw;
  if (p->kind == ETX_MUL) {
    raw = etx_mbqm(a * b, p->out_mult, p->out_shift);
  } else {
    const int32_t sa = etx_rdbpot(etx_srdhm(a * (1 << p->left_shift), p->in1_mult), -p->in1_shift);
    const int32_t sb = etx_rdbpot(etx_srdhm(b * (1 << p->left_shift), p->in2_mult), -p->in2_shift);
    if (p->kind == ETX_SQDIFF) {
      const int32_t d = sa - sb;
      raw = etx_mbqm(d * d, p->out_mult, p->out_shift);
    } else {
      const int32_t s = p->kind == ETX_ADD ? sa + sb : sa - sb;
      raw = etx_rdbpot(etx_srdhm(s, p->out_mult), -p->out_shift);
    }
  }
  return clamp32(raw + p->out_zp, p->act_min, p->act_max);
}

void etx_binary(const etx_binary_params *p, const int8_t *in1, const int8_t *in2, int8_t *out) {
  int32_t idx[ETX_MAX_DIMS] = {0};
  int32_t o1 = 0, o2 = 0, n = 1;
  for (int32_t d = 0; d < p->ndims; ++d) {
    n *= p->shape[d];
  }
  for (int32_t i = 0; i < n; ++i) {
    out[i] = (int8_t)binary_one(p, in1[o1], in2[o2]);
    /* Advance the odometer over the output index, keeping both input offsets. */
    for (int32_t d = p->ndims - 1; d >= 0; --d) {
      o1 += p->stride1[d];
      o2 += p->stride2[d];
      if (++idx[d] < p->shape[d]) {
        break;
      }
      o1 -= p->stride1[d] * p->shape[d];
      o2 -= p->stride2[d] * p->shape[d];
      idx[d] = 0;
    }
  }
}

void etx_lookup(const int8_t *table, const int8_t *in, int8_t *out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    out[i] = table[(uint8_t)in[i]];
  }
}

static int clz32(uint32_t x) {
  int n = 0;
  if (x == 0) {
    return 32;
  }
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1, Q0.31 in and out. */
static int32_t one_over_one_plus_x(int32_t a) {
  const int64_t sum = (int64_t)a + INT32_MAX;
  const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int32_t c48_17 = 1515870810;   /* 48/17 in Q2.29 */
  const int32_t cm32_17 = -1010580540; /* -32/17 in Q2.29 */
  int32_t x = c48_17 + etx_srdhm(half_denominator, cm32_17);
  for (int i = 0; i < 3; ++i) {
    const int32_t hdx = etx_srdhm(half_denominator, x);
    const int32_t one_minus = (1 << 29) - hdx;
    int32_t t = etx_srdhm(x, one_minus); /* Q4.27 */
    /* Rescale Q4.27 -> Q2.29: saturating left shift by 2. */
    if (t > ((1 << 29) - 1)) {
      t = INT32_MAX;
    } else if (t < -((1 << 29) - 1)) {
      t = INT32_MIN;
    } else {
      t = t * 4;
    }
    x = x + t;
  }
  /* x/2 as Q1.30 (same raw), then Rescale to Q0.31: saturating left shift by 1. */
  if (x > ((1 << 30) - 1)) {
    return INT32_MAX;
  }
  if (x < -((1 << 30) - 1)) {
    return INT32_MIN;
  }
  return x * 2;
}

void etx_softmax(const etx_softmax_params *p, const int32_t *exp_table, const int8_t *in,
                 int8_t *out) {
  for (int32_t r = 0; r < p->rows; ++r) {
    const int8_t *x = in + r * p->depth;
    int8_t *y = out + r * p->depth;
    int32_t max = -128;
    for (int32_t c = 0; c < p->depth; ++c) {
      max = x[c] > max ? x[c] : max;
    }
    int32_t sum = 0; /* Q12.19 */
    for (int32_t c = 0; c < p->depth; ++c) {
      sum += etx_rdbpot(exp_table[max - x[c]], 12);
    }
    /* GetReciprocal(sum, 12 integer bits). */
    const int headroom_plus_one = clz32((uint32_t)sum);
    const int num_bits_over_unit = 12 - headroom_plus_one;
    const int32_t shifted_sum_minus_one =
        (int32_t)(((uint32_t)sum << headroom_plus_one) - ((uint32_t)1 << 31));
    const int32_t scale = one_over_one_plus_x(shifted_sum_minus_one);
    const int exponent = num_bits_over_unit + 31 - 8;
    for (int32_t c = 0; c < p->depth; ++c) {
      const int32_t v = etx_rdbpot(etx_srdhm(scale, exp_table[max - x[c]]), exponent) - 128;
      y[c] = (int8_t)clamp32(v, -128, 127);
    }
  }
}

void etx_mean(const etx_mean_params *p, const int8_t *in, int8_t *out) {
  int32_t oidx[ETX_MAX_DIMS] = {0};
  int32_t n_out = 1;
  for (int32_t d = 0; d < p->ndims_out; ++d) {
    n_out *= p->out_shape[d];
  }
  int32_t base = 0;
  for (int32_t o = 0; o < n_out; ++o) {
    int32_t ridx[ETX_MAX_DIMS] = {0};
    int32_t off = base, sum = 0;
    for (int32_t k = 0; k < p->count; ++k) {
      sum += in[off];
      advance(ridx, &off, p->red_shape, p->red_stride, p->ndims_red);
    }
    const int32_t v = etx_mbqm(sum - p->in_zp * p->count, p->mult, p->shift) + p->out_zp;
    out[o] = (int8_t)clamp32(v, -128, 127);
    advance(oidx, &base, p->out_shape, p->out_stride, p->ndims_out);
  }
}

void etx_transpose(const etx_transpose_params *p, const int8_t *in, int8_t *out) {
  int32_t idx[ETX_MAX_DIMS] = {0};
  int32_t off = 0, n = 1;
  for (int32_t d = 0; d < p->ndims; ++d) {
    n *= p->shape[d];
  }
  for (int32_t i = 0; i < n; ++i) {
    out[i] = in[off];
    advance(idx, &off, p->shape, p->in_stride, p->ndims);
  }
}
