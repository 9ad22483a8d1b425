/* Matrix kernels: FULLY_CONNECTED and BATCH_MATMUL (see edgetx_rt_matmul.h).
 *
 * One arithmetic, two instruction selections. With the Arm DSP extension (__ARM_FEATURE_DSP:
 * Cortex-M4, M7, M33, M55...) the inner loops load 4 int8 values in one word and split it with
 * SXTB16 and SXTB16 ROR 8 into the 16-bit pairs (v0, v2) and (v1, v3); SMLAD multiplies two
 * such pairs and accumulates. Weights of 4 output channels are interleaved per 4 depth at
 * generation time so one pointer streams them, and each activation word serves 4 outputs.
 * Elsewhere plain C reads the same layout. Both compute TFLM's int32 sums (modulo 2^32, as
 * TFLM's accumulator wraps) and requantize them exactly. */
#include <string.h>

#include "edgetx_rt_internal.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define ETX_MATMUL_DSP 1
#endif

#define COLS ETX_PACK_COLS

#ifdef ETX_MATMUL_DSP
/* acc[c] += sum_k x[k] * w[c][k] over one block of packed int8 weights (FULLY_CONNECTED). Per 4
 * depth: one activation word, two LDRD of weight words, 6 SXTB16 pairs and 8 SMLAD. In assembly
 * because GCC 12 neither folds the rotations nor keeps this in registers. */
static inline void dot_block(const int8_t *x, const int8_t *w, int32_t depth, int32_t acc[COLS]) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  int32_t n = depth >> 2;
  const int8_t *wp = w; /* word aligned: packed arrays are declared aligned(4) */
  if (n > 0) {
    int32_t xv, x02, wa, wb, t;
    __asm__(
        "1:\n\t"
        "ldr %[xv], [%[x]], #4\n\t" /* unaligned is fine: rows need not start on a word */
        "sxtb16 %[x02], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "ldrd %[wa], %[wb], [%[w]], #8\n\t"
        "sxtb16 %[t], %[wa]\n\t"
        "sxtb16 %[wa], %[wa], ror #8\n\t"
        "smlad %[a0], %[x02], %[t], %[a0]\n\t"
        "smlad %[a0], %[xv], %[wa], %[a0]\n\t"
        "sxtb16 %[t], %[wb]\n\t"
        "sxtb16 %[wb], %[wb], ror #8\n\t"
        "smlad %[a1], %[x02], %[t], %[a1]\n\t"
        "smlad %[a1], %[xv], %[wb], %[a1]\n\t"
        "ldrd %[wa], %[wb], [%[w]], #8\n\t"
        "sxtb16 %[t], %[wa]\n\t"
        "sxtb16 %[wa], %[wa], ror #8\n\t"
        "smlad %[a2], %[x02], %[t], %[a2]\n\t"
        "smlad %[a2], %[xv], %[wa], %[a2]\n\t"
        "sxtb16 %[t], %[wb]\n\t"
        "sxtb16 %[wb], %[wb], ror #8\n\t"
        "smlad %[a3], %[x02], %[t], %[a3]\n\t"
        "smlad %[a3], %[xv], %[wb], %[a3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
          [w] "+r"(wp), [n] "+r"(n), [xv] "=&r"(xv), [x02] "=&r"(x02), [wa] "=&r"(wa),
          [wb] "=&r"(wb), [t] "=&r"(t)
        :
        : "cc", "memory");
  }
  for (int32_t k = 0; k < (depth & 3); ++k) {
    const int32_t xk = x[k];
    a0 += xk * wp[0 * 4 + k];
    a1 += xk * wp[1 * 4 + k];
    a2 += xk * wp[2 * 4 + k];
    a3 += xk * wp[3 * 4 + k];
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* The same over int16 values packed per 4 depth as (v0, v2), (v1, v3), so that the SMLAD
 * operands need no SXTB16 (BATCH_MATMUL packs rhs this way, its zero point removed). v_k of a
 * chunk sits at LANE16(k). */
#define LANE16(k) ((((k) & 1) << 1) | (((k) >> 1) & 1))

static inline void dot_block16(const int8_t *x, const int16_t *w, int32_t depth,
                               int32_t acc[COLS]) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  int32_t n = depth >> 2;
  const int16_t *wp = w; /* word aligned */
  if (n > 0) {
    int32_t xv, x02, wa, wb;
    __asm__(
        "1:\n\t"
        "ldr %[xv], [%[x]], #4\n\t"
        "sxtb16 %[x02], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "ldrd %[wa], %[wb], [%[w]], #8\n\t"
        "smlad %[a0], %[x02], %[wa], %[a0]\n\t"
        "smlad %[a0], %[xv], %[wb], %[a0]\n\t"
        "ldrd %[wa], %[wb], [%[w]], #8\n\t"
        "smlad %[a1], %[x02], %[wa], %[a1]\n\t"
        "smlad %[a1], %[xv], %[wb], %[a1]\n\t"
        "ldrd %[wa], %[wb], [%[w]], #8\n\t"
        "smlad %[a2], %[x02], %[wa], %[a2]\n\t"
        "smlad %[a2], %[xv], %[wb], %[a2]\n\t"
        "ldrd %[wa], %[wb], [%[w]], #8\n\t"
        "smlad %[a3], %[x02], %[wa], %[a3]\n\t"
        "smlad %[a3], %[xv], %[wb], %[a3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x),
          [w] "+r"(wp), [n] "+r"(n), [xv] "=&r"(xv), [x02] "=&r"(x02), [wa] "=&r"(wa),
          [wb] "=&r"(wb)
        :
        : "cc", "memory");
  }
  for (int32_t k = 0; k < (depth & 3); ++k) {
    const int32_t xk = x[k];
    a0 += xk * wp[0 * 4 + LANE16(k)];
    a1 += xk * wp[1 * 4 + LANE16(k)];
    a2 += xk * wp[2 * 4 + LANE16(k)];
    a3 += xk * wp[3 * 4 + LANE16(k)];
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#else
static inline void dot_block(const int8_t *x, const int8_t *w, int32_t depth, int32_t acc[COLS]) {
  for (int32_t k = 0; k < depth; ++k) {
    const int8_t *chunk = w + (k >> 2) * 4 * COLS + (k & 3);
    for (int32_t c = 0; c < COLS; ++c) {
      acc[c] += (int32_t)x[k] * chunk[c * 4];
    }
  }
}
#endif

/* Elements of one packed block of COLS channels. */
static inline int32_t block_len(int32_t depth) {
  return ((depth + 3) >> 2) * 4 * COLS;
}

/* clamp32, one SSAT where the bounds are the int8 range and known at compile time. */
static inline int32_t saturate(int32_t v, int32_t lo, int32_t hi) {
#ifdef ETX_MATMUL_DSP
  if (__builtin_constant_p(lo) && __builtin_constant_p(hi) && lo == -128 && hi == 127) {
    return __ssat(v, 8);
  }
#endif
  return clamp32(v, lo, hi);
}

/* Requantize and store the first n (or all COLS) outputs of a block; rq steps by rq_step.
 * Constant indices keep acc in registers. */
static inline void store_block(int8_t *o, const int32_t acc[COLS], int32_t n, const etx_rq *rq,
                               int32_t rq_step, int32_t out_zp, int32_t lo, int32_t hi) {
  switch (n < COLS ? n : COLS) {
  case 4:
    o[3] = (int8_t)saturate(etx_rq_apply(acc[3], rq + 3 * rq_step) + out_zp, lo, hi);
    /* fallthrough */
  case 3:
    o[2] = (int8_t)saturate(etx_rq_apply(acc[2], rq + 2 * rq_step) + out_zp, lo, hi);
    /* fallthrough */
  case 2:
    o[1] = (int8_t)saturate(etx_rq_apply(acc[1], rq + rq_step) + out_zp, lo, hi);
    /* fallthrough */
  default:
    o[0] = (int8_t)saturate(etx_rq_apply(acc[0], rq) + out_zp, lo, hi);
  }
}

/* store_block for a whole block whose requantizations are etx_rqz (zero point included). */
static inline void store_block_z(int8_t *o, const int32_t acc[COLS], const etx_rqz *q,
                                 int32_t q_step, int32_t lo, int32_t hi) {
  o[0] = (int8_t)saturate(etx_rqz_apply(acc[0], q), lo, hi);
  o[1] = (int8_t)saturate(etx_rqz_apply(acc[1], q + q_step), lo, hi);
  o[2] = (int8_t)saturate(etx_rqz_apply(acc[2], q + 2 * q_step), lo, hi);
  o[3] = (int8_t)saturate(etx_rqz_apply(acc[3], q + 3 * q_step), lo, hi);
}

static inline void fully_connected(const etx_fc_params *p, const int8_t *in, const int8_t *w,
                                   const int32_t *bias, const int32_t *mult,
                                   const int32_t *shift, int8_t *out, int32_t lo, int32_t hi) {
  /* Locals, not p->: stores through int8_t * may alias anything, so the compiler would reload. */
  const int32_t depth = p->depth, out_depth = p->out_depth, rows = p->rows;
  const int32_t out_zp = p->out_zp;
  const int32_t len = block_len(depth);
  for (int32_t c0 = 0; c0 < out_depth; c0 += COLS, w += len) {
    const int32_t n = out_depth - c0;
    etx_rq rq[COLS];
    etx_rqz rqz[COLS];
    int fast = n >= COLS;
    for (int32_t c = 0; c < COLS; ++c) {
      rq[c] = c < n ? etx_rq_make(mult[c0 + c], shift[c0 + c]) : etx_rq_make(0, 0);
      fast = etx_rqz_make(rq[c].mult, rq[c].shift, out_zp, &rqz[c]) && fast;
    }
    for (int32_t r = 0; r < rows; ++r) {
      int32_t acc[COLS] = {bias[c0], bias[c0 + 1], bias[c0 + 2], bias[c0 + 3]}; /* padded */
      dot_block(in + r * depth, w, depth, acc);
      if (fast) {
        store_block_z(out + r * out_depth + c0, acc, rqz, 1, lo, hi);
      } else {
        store_block(out + r * out_depth + c0, acc, n, rq, 1, out_zp, lo, hi);
      }
    }
  }
}

void etx_fully_connected(const etx_fc_params *p, const int8_t *in, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *out) {
  if (p->act_min == -128 && p->act_max == 127) { /* constant bounds: the clamp is one SSAT */
    fully_connected(p, in, w, bias, mult, shift, out, -128, 127);
  } else {
    fully_connected(p, in, w, bias, mult, shift, out, p->act_min, p->act_max);
  }
}

#ifdef ETX_MATMUL_DSP
/* Pack COLS columns of rhs (zero point removed) for dot_block16, and fold
 * -lhs_zp * column sum into acc0: sum (a - za)(b - zb) = sum a (b - zb) - za sum (b - zb). */
static void pack_columns(const etx_bmm_params *p, const int8_t *r, int32_t j0, int16_t *packed,
                         int32_t acc0[COLS]) {
  memset(packed, 0, (size_t)block_len(p->depth) * sizeof *packed);
  for (int32_t c = 0; c < COLS; ++c) {
    int32_t sum = 0;
    if (j0 + c < p->cols) {
      const int8_t *col = r + (j0 + c) * p->rhs_col_stride;
      for (int32_t k = 0; k < p->depth; ++k) {
        const int32_t v = (int32_t)col[k * p->rhs_row_stride] - p->rhs_zp;
        packed[(k >> 2) * 4 * COLS + c * 4 + LANE16(k)] = (int16_t)v;
        sum += v;
      }
    }
    acc0[c] = -p->lhs_zp * sum;
  }
}

static void batch_matmul_dsp(const etx_bmm_params *p, const int8_t *lhs, const int8_t *rhs,
                             int8_t *out) {
  int16_t packed[ETX_BMM_DSP_MAX_DEPTH * COLS] __attribute__((aligned(4)));
  const int32_t rows = p->rows, cols = p->cols, depth = p->depth; /* locals: see FC */
  const etx_rq rq = etx_rq_make(p->mult, p->shift);
  const int32_t out_zp = p->out_zp;
  etx_rqz rqz;
  const int fast = etx_rqz_make(p->mult, p->shift, out_zp, &rqz);
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *l = lhs + b * p->lhs_batch_stride;
    const int8_t *r = rhs + b * p->rhs_batch_stride;
    int8_t *o = out + b * rows * cols;
    for (int32_t j0 = 0; j0 < cols; j0 += COLS) {
      int32_t acc0[COLS];
      pack_columns(p, r, j0, packed, acc0);
      const int32_t n = cols - j0;
      for (int32_t i = 0; i < rows; ++i) {
        int32_t acc[COLS] = {acc0[0], acc0[1], acc0[2], acc0[3]};
        dot_block16(l + i * depth, packed, depth, acc);
        if (fast && n >= COLS) {
          store_block_z(o + i * cols + j0, acc, &rqz, 0, -128, 127);
        } else {
          store_block(o + i * cols + j0, acc, n, &rq, 0, out_zp, -128, 127);
        }
      }
    }
  }
}
#endif

void etx_batch_matmul(const etx_bmm_params *p, const int8_t *lhs, const int8_t *rhs,
                      int8_t *out) {
#ifdef ETX_MATMUL_DSP
  if (p->depth <= ETX_BMM_DSP_MAX_DEPTH) {
    batch_matmul_dsp(p, lhs, rhs, out);
    return;
  }
#endif
  const etx_rq rq = etx_rq_make(p->mult, p->shift);
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
        o[i * p->cols + j] = (int8_t)saturate(etx_rq_apply(acc, &rq) + p->out_zp, -128, 127);
      }
    }
  }
}
