/* Fused LayerNorm (etx_layer_norm): the converter's chain of int8 operators run per row, with
 * no intermediate tensor in memory and one pass per row for each of the chain's sums. */
#include "edgetx_rt_binary.h"

/* The int8 MEAN of a row's sum (as etx_mean). A left shift (a mean of larger scale than its
 * input) makes MultiplyByQuantizedMultiplier one rounding high multiply: its SRDHM cannot
 * saturate (mult >= 0) and its right shift is 0. */
static int32_t row_mean(uint32_t sum, int32_t zp, int32_t n, const etx_rq *rq, int32_t out_zp) {
  const int32_t acc = (int32_t)(sum - (uint32_t)zp * (uint32_t)n);
  int32_t v;
  if (rq->shift >= 0) {
    const int64_t a = (int32_t)((uint32_t)acc << rq->shift);
    v = (int32_t)((a * rq->mult + ((int64_t)1 << 30)) >> 31);
  } else {
    v = etx_rq_right(acc, rq);
  }
  return clamp32(v + out_zp, -128, 127);
}

/* The fast paths below hold where x, then x * r, has the larger scale of its SQUARED_DIFFERENCE
 * and ADD (the usual case), whose rescaling is then exact (a shift); any other chain takes
 * the general path. */

/* The sum over a row of SQUARED_DIFFERENCE(x, m). */
static ETX_SPECIALISE uint32_t sq_sum(const etx_fast_params *f, const int8_t *x, int32_t m,
                                      int32_t n) {
  const int32_t cx = f->in1.c - etx_in_once(&f->in2, m);
  const etx_rq2 out = f->out;
  uint32_t sum = 0;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t d = x[i] * (1 << ETX_EXACT_SHIFT_SQDIFF) + cx;
    sum += (uint32_t)etx_out2_pos(&out, d * (d + d));
  }
  return sum;
}

/* y = ADD(MUL(x, r), s) over a row: the product's acc2 = x * 2rr + 2c, the sum's
 * acc2 = p << (shift + 1) + 2ck. */
static ETX_SPECIALISE void normalise(const etx_fast_params *fm, const etx_fast_params *fa,
                                     const int8_t *x, int32_t r, int32_t s, int8_t *y,
                                     int32_t n) {
  const int32_t rr2 = 2 * (r + fm->in2.offset), c2 = fm->in1.offset * rr2;
  const int32_t ck2 = 2 * (fa->in1.c + etx_in_once(&fa->in2, s));
  const etx_rq2 om = fm->out, oa = fa->out;
  for (int32_t i = 0; i < n; ++i) {
    const int32_t p = etx_out2(&om, x[i] * rr2 + c2);
    y[i] = (int8_t)etx_out2(&oa, p * (1 << (ETX_EXACT_SHIFT_ADD + 1)) + ck2);
  }
}

void etx_layer_norm(const etx_layer_norm_params *p, const int8_t *rsqrt_table, const int8_t *x,
                    int8_t *y) {
  const int32_t rows = p->rows, n = p->depth;
  const etx_rq rq_mean = etx_rq_make(p->mean_mult, p->mean_shift);
  const etx_rq rq_var = etx_rq_make(p->var_mult, p->var_shift);
  etx_fast_params fs, fm, fa, frm, fsub;
  const int fast_sq = etx_fast_make(&p->sqdiff, 1, 0, &fs) && fs.in1.exact;
  const int fast = etx_fast_make(&p->mul_x, 1, 0, &fm) && etx_fast_make(&p->add_y, 1, 0, &fa) &&
                   fa.in1.exact;
  /* The per-row scalars: MUL(r, m), then SUB with the constant (rescaled once). */
  const int fast_rm = etx_fast_make(&p->mul_rm, 0, 0, &frm);
  const int fast_sub = etx_fast_make(&p->sub, 0, 0, &fsub);
  const int32_t sc = p->sub_const_first ? etx_in_once(&fsub.in1, p->sub_const)
                                        : etx_in_once(&fsub.in2, p->sub_const);
  for (int32_t row = 0; row < rows; ++row, x += n, y += n) {
    const int32_t m = row_mean(etx_sum_s8(x, n), p->x_zp, n, &rq_mean, p->mean_zp);
    uint32_t sq = 0;
    if (fast_sq) {
      sq = sq_sum(&fs, x, m, n);
    } else {
      for (int32_t i = 0; i < n; ++i) {
        sq += (uint32_t)etx_binary_one(&p->sqdiff, x[i], m);
      }
    }
    const int32_t v = row_mean(sq, p->sq_zp, n, &rq_var, p->var_zp);
    const int32_t r = rsqrt_table[(uint8_t)v];
    const int32_t rm = fast_rm ? etx_out2(&frm.out, (r + frm.in1.offset) *
                                                        (2 * (m + frm.in2.offset)))
                               : etx_binary_one(&p->mul_rm, r, m);
    int32_t s;
    if (!fast_sub) {
      s = p->sub_const_first ? etx_binary_one(&p->sub, p->sub_const, rm)
                             : etx_binary_one(&p->sub, rm, p->sub_const);
    } else if (p->sub_const_first) {
      s = etx_out2(&fsub.out, 2 * (sc - etx_in_once(&fsub.in2, rm)));
    } else {
      s = etx_out2(&fsub.out, 2 * (etx_in_once(&fsub.in1, rm) - sc));
    }
    if (fast) {
      normalise(&fm, &fa, x, r, s, y, n);
    } else {
      for (int32_t i = 0; i < n; ++i) {
        y[i] = (int8_t)etx_binary_one(&p->add_y, etx_binary_one(&p->mul_x, x[i], r), s);
      }
    }
  }
}
