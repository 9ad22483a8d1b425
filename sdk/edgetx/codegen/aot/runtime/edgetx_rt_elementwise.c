/* Element-wise binary kernels with broadcasting. */
#include "edgetx_rt_binary.h"

int32_t etx_binary_one(const etx_binop *p, int32_t x, int32_t y) {
  const int32_t a = x + p->in1_offset;
  const int32_t b = y + p->in2_offset;
  int32_t raw;
  if (p->kind == ETX_MUL) {
    raw = etx_mbqm((int32_t)((uint32_t)a * (uint32_t)b), p->out_mult, p->out_shift);
  } else {
    const int32_t sa = etx_rdbpot(etx_srdhm(a * (1 << p->left_shift), p->in1_mult), -p->in1_shift);
    const int32_t sb = etx_rdbpot(etx_srdhm(b * (1 << p->left_shift), p->in2_mult), -p->in2_shift);
    if (p->kind == ETX_SQDIFF) {
      const int32_t d = sa - sb;
      raw = etx_mbqm((int32_t)((uint32_t)d * (uint32_t)d), p->out_mult, p->out_shift);
    } else {
      const int32_t s = p->kind == ETX_ADD ? sa + sb : sa - sb;
      raw = etx_rdbpot(etx_srdhm(s, p->out_mult), -p->out_shift);
    }
  }
  return clamp32(raw + p->out_zp, p->act_min, p->act_max);
}

/* advance (edgetx_rt_internal.h) over the first ndims dimensions of p's shape, keeping both
 * inputs' offsets. Always inlined: as plain inline, the audio example's ADD and MUL cost 80 more
 * instructions. */
static ETX_SPECIALISE void advance2(const etx_binary_params *p, int32_t ndims, int32_t *idx,
                                   int32_t *o1, int32_t *o2) {
  for (int32_t d = ndims - 1; d >= 0; --d) {
    *o1 += p->stride1[d];
    *o2 += p->stride2[d];
    if (++idx[d] < p->shape[d]) {
      return;
    }
    *o1 -= p->stride1[d] * p->shape[d];
    *o2 -= p->stride2[d] * p->shape[d];
    idx[d] = 0;
  }
}

/* The rescaled x plus add, in the exact form when ex (a constant of each specialised copy). */
static ETX_SPECIALISE int32_t rescale(const etx_in_rq *q, int ex, int32_t shift, int32_t x,
                                      int32_t add) {
  return ex ? x * (1 << shift) + q->c + add : etx_in_apply(q, x, add);
}

/* One run: a steps by 1; b by 1, or by 0 where broadcast. ex: a's rescaling is exact. SUB
 * computes b - a when its inputs were swapped: neg (0 or -1) flips the sign. */
static ETX_SPECIALISE void run_s8(const etx_fast_params *f, etx_binary_kind kind, int ex,
                                  int32_t neg, const int8_t *a, const int8_t *b, int32_t step_b,
                                  int8_t *o, int32_t n) {
  const etx_in_rq qa = f->in1, qb = f->in2;
  const etx_rq2 out = f->out;
  const int32_t shift = kind == ETX_SQDIFF ? ETX_EXACT_SHIFT_SQDIFF : ETX_EXACT_SHIFT_ADD;
  if (kind == ETX_MUL) {
    const int32_t oa = qa.offset, ob2 = 2 * qb.offset;
    if (step_b == 0) {
      const int32_t yb2 = 2 * *b + ob2;
      for (int32_t i = 0; i < n; ++i) {
        o[i] = (int8_t)etx_out2(&out, (a[i] + oa) * yb2);
      }
    } else {
      for (int32_t i = 0; i < n; ++i) {
        o[i] = (int8_t)etx_out2(&out, (a[i] + oa) * (2 * b[i] + ob2));
      }
    }
    return;
  }
  if (step_b == 0) {
    const int32_t sb = etx_in_once(&qb, *b);
    for (int32_t i = 0; i < n; ++i) {
      int32_t s = rescale(&qa, ex, shift, a[i], kind == ETX_ADD ? sb : -sb);
      if (kind == ETX_SUB) {
        s = (s ^ neg) - neg;
      }
      o[i] = (int8_t)(kind == ETX_SQDIFF ? etx_out2_pos(&out, s * (s + s))
                                         : etx_out2(&out, s + s));
    }
    return;
  }
  for (int32_t i = 0; i < n; ++i) {
    int32_t s;
    if (kind == ETX_ADD) {
      s = ex ? etx_in_apply(&qb, b[i], a[i] * (1 << shift) + qa.c)
             : etx_in_apply(&qa, a[i], etx_in_apply(&qb, b[i], 0));
    } else {
      s = rescale(&qa, ex, shift, a[i], -etx_in_apply(&qb, b[i], 0));
    }
    if (kind == ETX_SUB) {
      s = (s ^ neg) - neg;
    }
    o[i] = (int8_t)(kind == ETX_SQDIFF ? etx_out2_pos(&out, s * (s + s)) : etx_out2(&out, s + s));
  }
}

/* The common runs each in a function of its own, where the loop has every register; the rest
 * (an input of smaller scale stepping against a broadcast one) share one. */
#define ETX_RUN(name, kind, ex)                                                                  \
  static ETX_NOINLINE void name(const etx_fast_params *f, etx_binary_kind k, int32_t neg,       \
                                const int8_t *a, const int8_t *b, int32_t step_b, int8_t *o,    \
                                int32_t n) {                                                    \
    (void)k;                                                                                   \
    run_s8(f, kind, ex, neg, a, b, step_b, o, n);                                              \
  }
ETX_RUN(run_mul, ETX_MUL, 0)
ETX_RUN(run_add_exact, ETX_ADD, 1)
ETX_RUN(run_sqdiff_exact, ETX_SQDIFF, 1)
ETX_RUN(run_sub_exact, ETX_SUB, 1)
ETX_RUN(run_other, k, 0)

typedef void (*run_fn)(const etx_fast_params *, etx_binary_kind, int32_t, const int8_t *,
                       const int8_t *, int32_t, int8_t *, int32_t);

/* An input's etx_in_rq; whether its rescaling has the fast form. std: TFLM's int8 left shift
 * of the operator, the only one the exact form is specialised for. */
static int in_make(int32_t offset, int32_t mult, int32_t shift, int32_t left, int32_t std,
                   etx_in_rq *q) {
  const int32_t r = -shift;
  const int ok = r == 0 ? mult == (1 << 30) : (r >= 1 && r <= left + 1);
  q->offset = offset;
  q->mult = mult;
  q->left = left;
  q->shift = shift;
  q->k = ok ? left + 1 - r : 0;
  q->cpos = ok && r > 0 ? 0x80000000u + (1u << (31 - r)) : 0x80000000u;
  q->fast = ok;
  q->exact = ok && r == 0 && left == std;
  q->c = q->exact ? offset * (1 << (left - 1)) : 0;
  return ok;
}

int32_t etx_in_general(const etx_in_rq *q, int32_t x) {
  return etx_rdbpot(etx_srdhm((x + q->offset) * (1 << q->left), q->mult), -q->shift);
}

int etx_fast_make(const etx_binop *op, int32_t step1, int32_t step2, etx_fast_params *f) {
  const int32_t r = -op->out_shift, zp = op->out_zp;
  const int32_t std = op->kind == ETX_SQDIFF ? ETX_EXACT_SHIFT_SQDIFF + 1 : ETX_EXACT_SHIFT_ADD + 1;
  int ok = op->act_min == -128 && op->act_max == 127 && (uint32_t)step1 <= 1 &&
           (uint32_t)step2 <= 1 && r >= 2 && r <= 22 && zp >= -128 && zp <= 127;
  if (!ok) {
    return 0;
  }
  f->out.mult = op->out_mult;
  f->out.h2 = (1 << (r - 1)) + zp * (1 << r);
  f->out.r = r;
  ok = in_make(op->in1_offset, op->in1_mult, op->in1_shift, op->left_shift, std, &f->in1) ||
       step1 == 0;
  ok = (in_make(op->in2_offset, op->in2_mult, op->in2_shift, op->left_shift, std, &f->in2) ||
        step2 == 0) &&
       ok;
  return ok || op->kind == ETX_MUL; /* MUL uses only the offsets */
}

static void binary_s8(const etx_binary_params *p, const etx_fast_params *f, const int8_t *in1,
                      const int8_t *in2, int8_t *out) {
  const int32_t last = p->ndims - 1;
  const int32_t n = p->shape[last], step1 = p->stride1[last], step2 = p->stride2[last];
  int32_t idx[ETX_MAX_DIMS] = {0};
  int32_t o1 = 0, o2 = 0, runs = 1;
  for (int32_t d = 0; d < last; ++d) {
    runs *= p->shape[d];
  }
  /* The first operand of a run steps along it, and is the exact one where both step: swap
   * the inputs if that helps (SUB then flips its sign). */
  const etx_binary_kind kind = p->op.kind;
  const int swap = (step1 == 0 && step2 != 0) ||
                   (step1 == step2 && kind != ETX_MUL && !f->in1.exact && f->in2.exact);
  const int32_t neg = swap ? -1 : 0;
  etx_fast_params local = *f;
  if (swap) {
    local.in1 = f->in2;
    local.in2 = f->in1;
  }
  const int ex = local.in1.exact;
  const run_fn run = kind == ETX_MUL      ? run_mul
                     : !ex                ? run_other
                     : kind == ETX_ADD    ? run_add_exact
                     : kind == ETX_SQDIFF ? run_sqdiff_exact
                                          : run_sub_exact;
  for (int32_t r = 0; r < runs; ++r, out += n) {
    const int8_t *a = swap ? in2 + o2 : in1 + o1, *b = swap ? in1 + o1 : in2 + o2;
    run(&local, kind, neg, a, b, swap ? step1 : step2, out, n);
    advance2(p, last, idx, &o1, &o2);
  }
}

void etx_binary(const etx_binary_params *params, const void *in1, const void *in2, void *out) {
  /* A local copy: stores through out may alias *params, which would force reloads per element. */
  const etx_binary_params local = *params, *p = &local;
  etx_fast_params f;
  const int32_t last = p->ndims - 1;
  if (p->elem_bytes == 1 && p->ndims > 0 &&
      etx_fast_make(&p->op, p->stride1[last], p->stride2[last], &f)) {
    binary_s8(p, &f, (const int8_t *)in1, (const int8_t *)in2, (int8_t *)out);
    return;
  }
  const int wide = p->elem_bytes == 2;
  int32_t idx[ETX_MAX_DIMS] = {0};
  int32_t o1 = 0, o2 = 0, n = 1;
  for (int32_t d = 0; d < p->ndims; ++d) {
    n *= p->shape[d];
  }
  for (int32_t i = 0; i < n; ++i) {
    if (wide) {
      ((int16_t *)out)[i] =
          (int16_t)etx_binary_one(&p->op, ((const int16_t *)in1)[o1], ((const int16_t *)in2)[o2]);
    } else {
      ((int8_t *)out)[i] =
          (int8_t)etx_binary_one(&p->op, ((const int8_t *)in1)[o1], ((const int8_t *)in2)[o2]);
    }
    advance2(p, p->ndims, idx, &o1, &o2);
  }
}

/* etx_binary_k for one kind: the runs of x (stepping by 1) against k (by 0 or 1). */
static ETX_SPECIALISE void binary_k(const etx_binary_params *p, etx_binary_kind kind,
                                    const int8_t *x, const int32_t *k, int8_t *out) {
  const int32_t last = p->ndims - 1, n = p->shape[last], step_k = p->stride2[last];
  const int32_t r = -p->op.out_shift, offset = p->op.in1_offset;
  const etx_rq2 q = {p->op.out_mult, (1 << (r - 1)) + p->op.out_zp * (1 << r), r};
  int32_t idx[ETX_MAX_DIMS] = {0};
  int32_t o1 = 0, o2 = 0, runs = 1;
  for (int32_t d = 0; d < last; ++d) {
    runs *= p->shape[d];
  }
  for (int32_t run = 0; run < runs; ++run, out += n) {
    const int8_t *xr = x + o1;
    const int32_t *kr = k + o2;
    for (int32_t i = 0; i < n; ++i, kr += step_k) {
      out[i] = (int8_t)etx_out2(&q, kind == ETX_ADD
                                        ? xr[i] * (1 << (ETX_EXACT_SHIFT_ADD + 1)) + *kr
                                        : (xr[i] + offset) * *kr);
    }
    advance2(p, last, idx, &o1, &o2);
  }
}

void etx_binary_k(const etx_binary_params *params, const int8_t *x, const int32_t *k,
                  int8_t *out) {
  const etx_binary_params local = *params;
  if (local.op.kind == ETX_ADD) {
    binary_k(&local, ETX_ADD, x, k, out);
  } else {
    binary_k(&local, ETX_MUL, x, k, out);
  }
}

void etx_add_table(const etx_add_table_params *p, const int8_t *x, const int8_t *y,
                   const int8_t *e, int8_t *out) {
  const int32_t n = p->n, q2 = p->q2, k2 = p->k2;
  const etx_rq2 q = {p->mult, p->h2, p->r};
  for (int32_t i = 0; i < n; ++i) {
    const int32_t yi = y[i];
    out[i] = (int8_t)etx_out2(&q, x[i] * (1 << (ETX_EXACT_SHIFT_ADD + 1)) + yi * q2 + k2 +
                                      2 * e[yi]);
  }
}
