/* Element-wise binary kernels with broadcasting. */
#include "edgetx_rt_internal.h"

static int32_t binary_one(const etx_binary_params *p, int32_t x, int32_t y) {
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

/* The int8 path, one run along the innermost dimension at a time with the operator's kind a
 * constant, so each kind compiles to its own loop; a second input broadcast along the run (a
 * LayerNorm mean or scale per row, a scalar) is rescaled once per run, not once per element. */
typedef struct {
  etx_rq in1, in2, out; /* the op's three rescalings, rounding constants computed once */
} rescalings;

static inline int32_t rescale(const etx_binary_params *p, etx_binary_kind kind, int32_t v,
                              int32_t offset, const etx_rq *q) {
  if (kind == ETX_MUL) {
    return v + offset;
  }
  return etx_rq_apply((v + offset) * (1 << p->left_shift), q); /* in1/in2_shift <= 0 */
}

static inline int32_t combine(const etx_binary_params *p, const rescalings *q,
                              etx_binary_kind kind, int32_t sa, int32_t sb) {
  int32_t raw;
  if (kind == ETX_MUL) {
    raw = etx_rq_apply((int32_t)((uint32_t)sa * (uint32_t)sb), &q->out);
  } else if (kind == ETX_SQDIFF) {
    const int32_t d = sa - sb;
    raw = etx_rq_apply((int32_t)((uint32_t)d * (uint32_t)d), &q->out);
  } else {
    raw = etx_rq_apply(sa + sb, &q->out); /* ADD (and SUB, with sb negated) */
  }
  return clamp32(raw + p->out_zp, p->act_min, p->act_max);
}

/* sign_b is -1 to compute SUB as ADD of the negated rescaled second input. */
static inline void run_s8(const etx_binary_params *p, const rescalings *q, etx_binary_kind kind,
                          int32_t sign_b, const int8_t *a, int32_t step_a, const int8_t *b,
                          int32_t step_b, int8_t *o, int32_t n) {
  if (step_b == 0) {
    const int32_t sb = sign_b * rescale(p, kind, *b, p->in2_offset, &q->in2);
    for (int32_t i = 0; i < n; ++i, a += step_a) {
      o[i] = (int8_t)combine(p, q, kind, rescale(p, kind, *a, p->in1_offset, &q->in1), sb);
    }
  } else {
    for (int32_t i = 0; i < n; ++i, a += step_a, b += step_b) {
      const int32_t sa = rescale(p, kind, *a, p->in1_offset, &q->in1);
      const int32_t sb = sign_b * rescale(p, kind, *b, p->in2_offset, &q->in2);
      o[i] = (int8_t)combine(p, q, kind, sa, sb);
    }
  }
}

static void binary_s8(const etx_binary_params *p, const int8_t *in1, const int8_t *in2,
                      int8_t *out) {
  const int32_t last = p->ndims - 1;
  const int32_t n = p->shape[last], step1 = p->stride1[last], step2 = p->stride2[last];
  int32_t idx[ETX_MAX_DIMS] = {0};
  const rescalings q = {etx_rq_make(p->in1_mult, p->in1_shift),
                        etx_rq_make(p->in2_mult, p->in2_shift),
                        etx_rq_make(p->out_mult, p->out_shift)};
  int32_t o1 = 0, o2 = 0, runs = 1;
  for (int32_t d = 0; d < last; ++d) {
    runs *= p->shape[d];
  }
  for (int32_t r = 0; r < runs; ++r, out += n) {
    switch (p->kind) {
    case ETX_MUL:
      run_s8(p, &q, ETX_MUL, 1, in1 + o1, step1, in2 + o2, step2, out, n);
      break;
    case ETX_SQDIFF:
      run_s8(p, &q, ETX_SQDIFF, 1, in1 + o1, step1, in2 + o2, step2, out, n);
      break;
    default:
      run_s8(p, &q, ETX_ADD, p->kind == ETX_SUB ? -1 : 1, in1 + o1, step1, in2 + o2, step2, out,
             n);
      break;
    }
    /* Advance the odometer over the outer dimensions, keeping both input offsets. */
    for (int32_t d = last - 1; d >= 0; --d) {
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

void etx_binary(const etx_binary_params *params, const void *in1, const void *in2, void *out) {
  /* A local copy: stores through out may alias *params, which would force reloads per element. */
  const etx_binary_params local = *params, *p = &local;
  if (p->elem_bytes == 1 && p->ndims > 0) {
    binary_s8(p, (const int8_t *)in1, (const int8_t *)in2, (int8_t *)out);
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
          (int16_t)binary_one(p, ((const int16_t *)in1)[o1], ((const int16_t *)in2)[o2]);
    } else {
      ((int8_t *)out)[i] =
          (int8_t)binary_one(p, ((const int8_t *)in1)[o1], ((const int8_t *)in2)[o2]);
    }
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
