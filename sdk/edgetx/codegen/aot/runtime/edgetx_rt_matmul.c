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

/* ---- The 4-row kernels (edgetx_rt_matmul.h). */

/* round_zp = (2 out_zp + 1) << (shift - 1): its trailing zeros give the shift. */
static inline int32_t x4_shift(int32_t round_zp) {
  return __builtin_ctz((uint32_t)round_zp) + 1;
}

#ifdef ETX_MATMUL_DSP
/* The expanded operand xs: per chunk of 4 depth, 8 words: (v0, v2) of rows 0..3, then (v1, v3)
 * of rows 0..3, each value 2 (v - zp), padding 0; on the stack, 8 bytes per depth. */

/* v in both 16-bit lanes. */
static inline uint32_t lanes(int32_t v) {
  return ((uint32_t)v & 0xFFFFu) * 0x10001u;
}

/* Rows q < n of depth values at src + q * row_step (contiguous along depth); rows n..3 and the
 * padding past depth zero. Not inlined: its asm needs the registers. */
__attribute__((noinline)) static void x4_fill_rows(uint32_t *xs, const int8_t *src,
                                                   int32_t row_step, int32_t depth, int32_t n,
                                                   int32_t zp) {
  const int32_t chunks = (depth + 3) >> 2, whole = depth >> 2;
  const uint32_t z = lanes(-2 * zp);
  if (n == 4 && whole == chunks) {
    /* Per chunk: 4 words, 16 SXTAB16, 2 STM. */
    const int8_t *s = src;
    int32_t k = chunks;
    __asm__ volatile("1:\n\t"
                     "ldr r5, [%[s], %[step]]\n\t"
                     "ldr r6, [%[s], %[step], lsl #1]\n\t"
                     "ldr r7, [%[s], %[step3]]\n\t"
                     "ldr r4, [%[s]], #4\n\t"
                     "sxtab16 r0, %[z], r4\n\t"
                     "sxtab16 r0, r0, r4\n\t"
                     "sxtab16 r1, %[z], r5\n\t"
                     "sxtab16 r1, r1, r5\n\t"
                     "sxtab16 r2, %[z], r6\n\t"
                     "sxtab16 r2, r2, r6\n\t"
                     "sxtab16 r3, %[z], r7\n\t"
                     "sxtab16 r3, r3, r7\n\t"
                     "stm %[xs]!, {r0-r3}\n\t"
                     "sxtab16 r0, %[z], r4, ror #8\n\t"
                     "sxtab16 r0, r0, r4, ror #8\n\t"
                     "sxtab16 r1, %[z], r5, ror #8\n\t"
                     "sxtab16 r1, r1, r5, ror #8\n\t"
                     "sxtab16 r2, %[z], r6, ror #8\n\t"
                     "sxtab16 r2, r2, r6, ror #8\n\t"
                     "sxtab16 r3, %[z], r7, ror #8\n\t"
                     "sxtab16 r3, r3, r7, ror #8\n\t"
                     "stm %[xs]!, {r0-r3}\n\t"
                     "subs %[k], %[k], #1\n\t"
                     "bne 1b"
                     : [xs] "+r"(xs), [s] "+r"(s), [k] "+r"(k)
                     : [step] "r"(row_step), [step3] "r"(3 * row_step), [z] "r"(z)
                     : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "cc", "memory");
    return;
  }
  memset(xs, 0, (size_t)chunks * 32);
  for (int32_t q = 0; q < n; ++q) {
    const int8_t *s = src + q * row_step;
    for (int32_t k = 0; k < depth; ++k) {
      int16_t *h = (int16_t *)(void *)(xs + 8 * (k >> 2) + 4 * (k & 1) + q);
      h[(k >> 1) & 1] = (int16_t)(2 * (s[k] - zp));
    }
  }
}

/* Four columns contiguous at src + k * depth_step: one word per depth k, whose lanes (columns
 * 0, 2) and (1, 3) PKHBT/PKHTB regroup per column into the rows' (v0, v2) and (v1, v3). */
__attribute__((noinline)) static void x4_fill_cols(uint32_t *xs, const int8_t *src,
                                                   int32_t depth_step, int32_t depth, int32_t zp) {
  const uint32_t z = lanes(-2 * zp);
  const int32_t whole = depth >> 2;
  if (depth & 3) { /* first, so that nothing stays live across the asm */
    uint32_t *t = xs + 8 * whole;
    memset(t, 0, 32);
    for (int32_t k = 0; k < (depth & 3); ++k) {
      for (int32_t c = 0; c < 4; ++c) {
        int16_t *h = (int16_t *)(void *)(t + 4 * (k & 1) + c);
        h[k >> 1] = (int16_t)(2 * (src[(4 * whole + k) * depth_step + c] - zp));
      }
    }
  }
  if (whole > 0) {
    /* Per chunk: 4 words, 16 SXTAB16, 8 PKHBT/PKHTB, 2 STM (register lists ascend with the
     * addresses: column 3 goes in the register of a word already used). */
    int32_t k = whole;
    __asm__ volatile("1:\n\t"
                     "ldr r4, [%[s]]\n\t"
                     "ldr r5, [%[s], %[step]]\n\t"
                     "add %[s], %[s], %[step], lsl #1\n\t"
                     "ldr r6, [%[s]]\n\t"
                     "ldr r7, [%[s], %[step]]\n\t"
                     "add %[s], %[s], %[step], lsl #1\n\t"
                     "sxtab16 r1, %[z], r4\n\t"
                     "sxtab16 r1, r1, r4\n\t"
                     "sxtab16 r3, %[z], r6\n\t"
                     "sxtab16 r3, r3, r6\n\t"
                     "pkhbt r0, r1, r3, lsl #16\n\t"
                     "pkhtb r2, r3, r1, asr #16\n\t"
                     "sxtab16 r1, %[z], r4, ror #8\n\t"
                     "sxtab16 r1, r1, r4, ror #8\n\t"
                     "sxtab16 r3, %[z], r6, ror #8\n\t"
                     "sxtab16 r3, r3, r6, ror #8\n\t"
                     "pkhtb r4, r3, r1, asr #16\n\t"
                     "pkhbt r1, r1, r3, lsl #16\n\t"
                     "stm %[xs]!, {r0, r1, r2, r4}\n\t"
                     "sxtab16 r1, %[z], r5\n\t"
                     "sxtab16 r1, r1, r5\n\t"
                     "sxtab16 r3, %[z], r7\n\t"
                     "sxtab16 r3, r3, r7\n\t"
                     "pkhbt r0, r1, r3, lsl #16\n\t"
                     "pkhtb r2, r3, r1, asr #16\n\t"
                     "sxtab16 r1, %[z], r5, ror #8\n\t"
                     "sxtab16 r1, r1, r5, ror #8\n\t"
                     "sxtab16 r3, %[z], r7, ror #8\n\t"
                     "sxtab16 r3, r3, r7, ror #8\n\t"
                     "pkhtb r5, r3, r1, asr #16\n\t"
                     "pkhbt r1, r1, r3, lsl #16\n\t"
                     "stm %[xs]!, {r0, r1, r2, r5}\n\t"
                     "subs %[k], %[k], #1\n\t"
                     "bne 1b"
                     : [xs] "+r"(xs), [s] "+r"(src), [k] "+r"(k)
                     : [step] "r"(depth_step), [z] "r"(z)
                     : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "cc", "memory");
  }
}

/* The tile loops below: for each int8 weight row, 4 sums against the 4 expanded rows,
 * requantized and stored. Their state lives on the stack (copied from a job struct by LDM and
 * PUSH): the inner loop takes 14 registers, r0-r3 expanded lanes, r4-r7 sums, r8 the weight
 * word, r9 its lanes, r10 and r11 the two pointers, r12 the entry into the unrolled chunks, lr
 * (FULLY_CONNECTED) the output or (BATCH_MATMUL) the weights' zero point. */
#define X4_SUMS                                                                                   \
  "smlad r4, r0, r9, r4\n\t"                                                                      \
  "smlad r5, r1, r9, r5\n\t"                                                                      \
  "smlad r6, r2, r9, r6\n\t"                                                                      \
  "smlad r7, r3, r9, r7\n\t"
/* One chunk of 4 depth: the (w0, w2) lanes against the rows' (v0, v2), then (w1, w3);
 * start is X4_SUMS, or the first chunk's variant that starts the sums. */
#define X4_CHUNK(even, odd, start)                                                               \
  "ldr r8, [r11], #4\n\t" even "ldm r10!, {r0-r3}\n\t" start odd "ldm r10!, {r0-r3}\n\t" X4_SUMS
/* The other chunks, unrolled: ADD PC, r12 enters the run at the (X4_RUN - chunks + 1)th of its
 * X4_RUN chunks (r12, loaded with xs, is that many times 52 bytes: 13 4-byte instructions). PC
 * reads as the ADD's address + 4, where the run starts after a 2-byte NOP. */
#define X4_RUN 15
#define X4_CHUNK_BYTES 52
#define X4_SUMS3(even, odd)                                                                       \
  X4_CHUNK(even, odd, X4_SUMS) X4_CHUNK(even, odd, X4_SUMS) X4_CHUNK(even, odd, X4_SUMS)
#define X4_REST(even, odd)                                                                        \
  "add pc, r12\n\t"                                                                               \
  "nop\n\t" X4_SUMS3(even, odd) X4_SUMS3(even, odd) X4_SUMS3(even, odd) X4_SUMS3(even, odd)     \
      X4_SUMS3(even, odd)
/* Requantize sum acc with mult, r2 round_zp, r3 shift (see the header) into r8. */
#define X4_REQUANT(acc, mult)                                                                     \
  "smmlar r8, " acc ", " mult ", r2\n\t"                                                          \
  "add r8, r8, " acc ", asr #31\n\t"                                                              \
  "asr r8, r8, r3\n\t"                                                                            \
  "ssat r8, #8, r8\n\t"

typedef struct {
  int8_t *out;          /* [sp, #0]  output of channel 0, row 0 */
  const int32_t *wq;    /* [sp, #4] */
  const uint32_t *xs;   /* [sp, #8] */
  int32_t skip;         /* [sp, #12] bytes of X4_REST to skip */
  int32_t out_row;      /* [sp, #16] output step between the 4 rows */
  const int32_t *end;   /* [sp, #20] wq after the last channel */
} fc_x4_job;

/* FULLY_CONNECTED: per output channel, words {2 bias, weights (4 per word, zero padded), mult,
 * round_zp} in one stream; outputs of consecutive channels are consecutive. */
__attribute__((noinline)) static void fc_x4_run(const fc_x4_job *job) {
  register const fc_x4_job *j __asm__("r11") = job;
  __asm__ volatile(
      "ldm r11, {r0-r5}\n\t"
      "push {r0-r5}\n\t"
      "mov lr, r0\n\t"
      "mov r11, r1\n\t"
      "1:\n\t"
      "ldr r4, [r11], #4\n\t" /* the bias starts every sum, r4's last */
      "ldrd r10, r12, [sp, #8]\n\t" X4_CHUNK(
          "sxtb16 r9, r8\n\t", "sxtb16 r9, r8, ror #8\n\t",
          "smlad r5, r1, r9, r4\n\t"
          "smlad r6, r2, r9, r4\n\t"
          "smlad r7, r3, r9, r4\n\t"
          "smlad r4, r0, r9, r4\n\t")
          X4_REST("sxtb16 r9, r8\n\t", "sxtb16 r9, r8, ror #8\n\t")
      "ldm r11!, {r0, r2}\n\t"
      "rbit r3, r2\n\t"
      "clz r3, r3\n\t"
      "add r3, r3, #1\n\t"
      "ldrd r1, r9, [sp, #16]\n\t"
      "add r12, lr, r1\n\t" X4_REQUANT("r5", "r0") "strb r8, [lr, r1]\n\t" X4_REQUANT("r6", "r0")
      "strb r8, [lr, r1, lsl #1]\n\t" X4_REQUANT("r7", "r0") "strb r8, [r12, r1, lsl #1]\n\t"
      X4_REQUANT("r4", "r0") "strb r8, [lr], #1\n\t"
      "cmp r11, r9\n\t"
      "bne 1b\n\t"
      "add sp, sp, #24"
      : "+r"(j)
      :
      : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r12", "lr", "cc",
        "memory");
}

typedef struct {
  int32_t mult;        /* [sp, #0] */
  int32_t round_zp;    /* [sp, #4] */
  int32_t shift;       /* [sp, #8] */
  const int8_t *w_end; /* [sp, #12] w after the last row */
  int32_t w_skip;      /* [sp, #16] bytes from a row's last word to the next row */
  const uint32_t *xs;  /* [sp, #20] */
  int32_t skip;        /* [sp, #24] bytes of X4_REST to skip */
  int8_t *out;         /* [sp, #28] output of weight row 0, expanded row 0 */
  int32_t out_step;    /* [sp, #32] output step between weight rows; rows' outputs adjacent */
  uint32_t zn;         /* [sp, #36] -zero_point of w in both lanes */
  const int8_t *w;     /* [sp, #40] */
  int32_t pad;         /* [sp, #44] keeps sp 8-byte aligned */
} bmm_x4_job;

/* BATCH_MATMUL: weight rows are lhs rows (SXTAB16 removes their zero point), one
 * requantization for all. */
__attribute__((noinline)) static void bmm_x4_run(const bmm_x4_job *job) {
  register const bmm_x4_job *j __asm__("r11") = job;
  __asm__ volatile(
      "ldm r11, {r0-r10}\n\t"
      "push {r0-r11}\n\t"
      "mov lr, r9\n\t"
      "mov r11, r10\n\t"
      "1:\n\t"
      "ldrd r10, r12, [sp, #20]\n\t" X4_CHUNK(
          "sxtab16 r9, lr, r8\n\t", "sxtab16 r9, lr, r8, ror #8\n\t",
          "smuad r4, r0, r9\n\t"
          "smuad r5, r1, r9\n\t"
          "smuad r6, r2, r9\n\t"
          "smuad r7, r3, r9\n\t")
          X4_REST("sxtab16 r9, lr, r8\n\t", "sxtab16 r9, lr, r8, ror #8\n\t")
      "ldm sp, {r1, r2, r3, r9, r10}\n\t" /* mult, round_zp, shift, w_end, w_skip */
      "ldrd r12, r0, [sp, #28]\n\t"
      "add r0, r12, r0\n\t"
      "str r0, [sp, #28]\n\t" X4_REQUANT("r4", "r1") "strb r8, [r12]\n\t"
      X4_REQUANT("r5", "r1") "strb r8, [r12, #1]\n\t" X4_REQUANT("r6", "r1")
      "strb r8, [r12, #2]\n\t" X4_REQUANT("r7", "r1") "strb r8, [r12, #3]\n\t"
      "add r11, r11, r10\n\t"
      "cmp r11, r9\n\t"
      "bne 1b\n\t"
      "add sp, sp, #48"
      : "+r"(j)
      :
      : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r12", "lr", "cc",
        "memory");
}
#undef X4_SUMS
#undef X4_CHUNK
#undef X4_SUMS3
#undef X4_REST
#undef X4_REQUANT

/* Up to this many channels (or lhs rows) of a group of fewer than 4 rows (or columns) go
 * through a buffer, whose unused rows are dropped. */
#define X4_PART 16

void etx_fully_connected_x4(const etx_fc_x4_params *p, const int8_t *in, const int32_t *wq,
                            int8_t *out) {
  const int32_t rows = p->rows, depth = p->depth, od = p->out_depth;
  const int32_t chunks = (depth + 3) >> 2, words = chunks + 3;
  uint32_t xs[8 * chunks];
  int8_t tmp[4 * X4_PART];
  fc_x4_job job;
  job.xs = xs;
  job.skip = (X4_RUN - chunks + 1) * X4_CHUNK_BYTES;
  for (int32_t r0 = 0; r0 < rows; r0 += 4) {
    const int32_t n = rows - r0 < 4 ? rows - r0 : 4;
    int8_t *o = out + r0 * od;
    x4_fill_rows(xs, in + r0 * depth, depth, depth, n, p->in_zp);
    if (n == 4) {
      job.out = o;
      job.out_row = od;
      job.wq = wq;
      job.end = wq + od * words;
      fc_x4_run(&job);
      continue;
    }
    for (int32_t c0 = 0; c0 < od; c0 += X4_PART) {
      const int32_t m = od - c0 < X4_PART ? od - c0 : X4_PART;
      job.out = tmp;
      job.out_row = m;
      job.wq = wq + c0 * words;
      job.end = job.wq + m * words;
      fc_x4_run(&job);
      for (int32_t q = 0; q < n; ++q) {
        memcpy(o + q * od + c0, tmp + q * m, (size_t)m);
      }
    }
  }
}

/* bmm_x4_run over rows lhs rows from l, the last one from last if not null; outputs step
 * out_step apart from out. */
static void bmm_x4_rows(bmm_x4_job *job, const int8_t *l, int32_t rows, int32_t depth,
                        const int8_t *last, int8_t *out, int32_t out_step) {
  const int32_t direct = last ? rows - 1 : rows, words = (depth + 3) & ~3;
  job->out = out;
  job->out_step = out_step;
  if (direct > 0) {
    job->w = l;
    job->w_end = l + direct * depth;
    job->w_skip = depth - words;
    bmm_x4_run(job);
  }
  if (last) {
    job->out = out + direct * out_step;
    job->w = last;
    job->w_end = last + words;
    job->w_skip = 0;
    bmm_x4_run(job);
  }
}

/* Roles: the 4 expanded rows are 4 rhs columns (zero point removed), the int8 words lhs rows. */
void etx_batch_matmul_x4(const etx_bmm_x4_params *p, const int8_t *lhs, const int8_t *rhs,
                         int8_t *out) {
  const int32_t rows = p->rows, depth = p->depth, cols = p->cols;
  const int32_t ks = p->rhs_row_stride, js = p->rhs_col_stride;
  const int32_t chunks = (depth + 3) >> 2;
  uint32_t xs[8 * chunks];
  uint32_t last_words[chunks];
  int8_t *last = (int8_t *)last_words;
  int8_t tmp[4 * X4_PART];
  /* Words past depth read into the next row (times zero lanes); the last row is copied so that
   * no read passes the tensor. */
  const int32_t copied = depth & 3 ? 1 : 0;
  bmm_x4_job job;
  job.xs = xs;
  job.skip = (X4_RUN - chunks + 1) * X4_CHUNK_BYTES;
  job.mult = p->mult;
  job.round_zp = p->round_zp;
  job.shift = x4_shift(p->round_zp);
  job.zn = lanes(-p->lhs_zp);
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *l = lhs + b * p->lhs_batch_stride;
    const int8_t *r = rhs + b * p->rhs_batch_stride;
    int8_t *o = out + b * rows * cols;
    if (copied) {
      memset(last, 0, sizeof last_words);
      memcpy(last, l + (rows - 1) * depth, (size_t)depth);
    }
    for (int32_t j0 = 0; j0 < cols; j0 += 4) {
      const int32_t n = cols - j0 < 4 ? cols - j0 : 4;
      const int8_t *col = r + j0 * js;
      if (ks == 1) {
        x4_fill_rows(xs, col, js, depth, n, p->rhs_zp);
      } else if (js == 1 && n == 4) {
        x4_fill_cols(xs, col, ks, depth, p->rhs_zp);
      } else {
        memset(xs, 0, (size_t)chunks * 32);
        for (int32_t c = 0; c < n; ++c) {
          for (int32_t k = 0; k < depth; ++k) {
            int16_t *h = (int16_t *)(void *)(xs + 8 * (k >> 2) + 4 * (k & 1) + c);
            h[(k >> 1) & 1] = (int16_t)(2 * (col[k * ks + c * js] - p->rhs_zp));
          }
        }
      }
      if (n == 4) {
        bmm_x4_rows(&job, l, rows, depth, copied ? last : 0, o + j0, cols);
        continue;
      }
      for (int32_t i0 = 0; i0 < rows; i0 += X4_PART) {
        const int32_t m = rows - i0 < X4_PART ? rows - i0 : X4_PART;
        bmm_x4_rows(&job, l + i0 * depth, m, depth, copied && i0 + m == rows ? last : 0, tmp, 4);
        for (int32_t i = 0; i < m; ++i) {
          memcpy(o + (i0 + i) * cols + j0, tmp + 4 * i, (size_t)n);
        }
      }
    }
  }
}
#else
static inline int32_t x4_requant(int32_t acc2, int32_t mult, int32_t round_zp, int32_t shift) {
  const int64_t top = (int64_t)round_zp * 4294967296LL + (int64_t)acc2 * mult + 2147483648LL;
  return clamp32(((int32_t)(top >> 32) + (acc2 >> 31)) >> shift, -128, 127);
}

void etx_fully_connected_x4(const etx_fc_x4_params *p, const int8_t *in, const int32_t *wq,
                            int8_t *out) {
  const int32_t words = ((p->depth + 3) >> 2) + 3;
  for (int32_t r = 0; r < p->rows; ++r) {
    const int8_t *x = in + r * p->depth;
    for (int32_t c = 0; c < p->out_depth; ++c) {
      const int32_t *ch = wq + c * words;
      const int8_t *w = (const int8_t *)(ch + 1); /* little-endian words */
      int32_t acc = ch[0];
      for (int32_t k = 0; k < p->depth; ++k) {
        acc += 2 * (x[k] - p->in_zp) * w[k];
      }
      const int32_t round_zp = ch[words - 1];
      out[r * p->out_depth + c] =
          (int8_t)x4_requant(acc, ch[words - 2], round_zp, x4_shift(round_zp));
    }
  }
}

void etx_batch_matmul_x4(const etx_bmm_x4_params *p, const int8_t *lhs, const int8_t *rhs,
                         int8_t *out) {
  const int32_t shift = x4_shift(p->round_zp);
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *l = lhs + b * p->lhs_batch_stride;
    const int8_t *r = rhs + b * p->rhs_batch_stride;
    int8_t *o = out + b * p->rows * p->cols;
    for (int32_t i = 0; i < p->rows; ++i) {
      for (int32_t j = 0; j < p->cols; ++j) {
        int32_t acc = 0;
        for (int32_t k = 0; k < p->depth; ++k) {
          const int32_t a = l[i * p->depth + k] - p->lhs_zp;
          acc += 2 * a * (r[k * p->rhs_row_stride + j * p->rhs_col_stride] - p->rhs_zp);
        }
        o[i * p->cols + j] = (int8_t)x4_requant(acc, p->mult, p->round_zp, shift);
      }
    }
  }
}
#endif
