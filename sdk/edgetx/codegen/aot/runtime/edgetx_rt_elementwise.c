/* Element-wise binary kernels with broadcasting. */
#include "edgetx_rt_internal.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#endif

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

/* The int8 path. Each rescaling is rewritten once per call so that its exact result is the
 * high word of one 32x32+64 multiply-accumulate (SMLAL) whose addend needs no 64-bit constant:
 *
 * - an input's etx_rdbpot(etx_srdhm((x + offset) << left, mult), r), with r = -shift in
 *   [0, left + 1] (r = 0 only for mult = 2^30, the input of larger scale), equals
 *   hi(acc * mult + c) with acc = (x + offset) << (left + 1 - r) and c = cpos, less nadj when
 *   acc < 0: cpos = 2^31 + 2^(31 - r), nadj = 2^(32 - r) (r = 0: 2^31 and 0). Scaling the
 *   rounding sum by 2^(1 - r) puts the floor at bit 32. Another value added to the high word
 *   (the rescaled other input of an ADD) comes for free.
 * - the output's requantization is an etx_rqz (see edgetx_rt_internal.h).
 *
 * fast_make checks these conditions and the int8 output range (the clamp is one saturation);
 * anything else takes the general path (binary_one). One run along the innermost dimension is
 * one loop with the operator's kind a constant; an input broadcast along the run (a LayerNorm
 * mean or scale per row) is rescaled once per run. */
typedef struct {
  int32_t offset, k, mult;
  uint32_t cpos, nadj;
  int32_t left, shift; /* as given, for in_once */
  int32_t fast;         /* whether in_apply may be used */
} in_rq;

typedef struct {
  in_rq in1, in2;
  etx_rqz out;
} fast_params;

static inline int32_t smlal_hi(uint32_t lo, int32_t hi, int32_t a, int32_t b) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  __asm__("smlal %[lo], %[hi], %[a], %[b]" : [lo] "+r"(lo), [hi] "+r"(hi) : [a] "r"(a), [b] "r"(b));
  return hi;
#else
  return (int32_t)(((int64_t)a * b + (int64_t)lo + (int64_t)((uint64_t)(uint32_t)hi << 32)) >>
                   32);
#endif
}

/* The rescaled input x, plus add (exactly: add rides in the high word). */
static inline int32_t in_apply(const in_rq *q, int32_t x, int32_t add) {
  const int32_t acc = (x + q->offset) * (1 << q->k);
  return smlal_hi(q->cpos - ((uint32_t)(acc >> 31) & q->nadj), add, acc, q->mult);
}

/* The rescaling of an input broadcast along the run, computed once per run: in its general
 * form where the fast one does not hold. */
static int32_t in_once(const in_rq *q, int32_t x) {
  if (q->fast) {
    return in_apply(q, x, 0);
  }
  return etx_rdbpot(etx_srdhm((x + q->offset) * (1 << q->left), q->mult), -q->shift);
}

static inline int8_t out_apply(const etx_rqz *q, int32_t acc) {
  const int32_t v = etx_rqz_apply(acc, q);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  return (int8_t)__ssat(v, 8);
#else
  return (int8_t)clamp32(v, -128, 127);
#endif
}

/* One output from the two inputs' int8 values. */
static inline int8_t fast_one(const fast_params *f, etx_binary_kind kind, int32_t x, int32_t y) {
  switch (kind) {
  case ETX_MUL:
    return out_apply(&f->out, (x + f->in1.offset) * (y + f->in2.offset));
  case ETX_ADD:
    return out_apply(&f->out, in_apply(&f->in1, x, in_apply(&f->in2, y, 0)));
  default: {
    const int32_t d = in_apply(&f->in1, x, 0) - in_apply(&f->in2, y, 0);
    return out_apply(&f->out, kind == ETX_SQDIFF ? d * d : d);
  }
  }
}

/* a and b step by 1 along the run, or by 0 where broadcast (fast_make checks). */
static inline void run_s8(const fast_params *f, etx_binary_kind kind, const int8_t *a,
                          int32_t step_a, const int8_t *b, int32_t step_b, int8_t *o, int32_t n) {
  if (kind == ETX_ADD && step_b == 0) {
    const int32_t sb = in_once(&f->in2, *b);
    for (int32_t i = 0; i < n; ++i) {
      o[i] = out_apply(&f->out, in_apply(&f->in1, a[i], sb));
    }
  } else if (kind == ETX_MUL && step_b == 0) {
    const int32_t yb = *b + f->in2.offset;
    for (int32_t i = 0; i < n; ++i) {
      o[i] = out_apply(&f->out, (a[i] + f->in1.offset) * yb);
    }
  } else if ((kind == ETX_SQDIFF || kind == ETX_SUB) && step_b == 0) {
    const int32_t sb = in_once(&f->in2, *b);
    for (int32_t i = 0; i < n; ++i) {
      const int32_t d = in_apply(&f->in1, a[i], 0) - sb;
      o[i] = out_apply(&f->out, kind == ETX_SQDIFF ? d * d : d);
    }
  } else if (kind == ETX_SUB && step_a == 0) { /* the others have swapped their inputs */
    const int32_t sa = in_once(&f->in1, *a);
    for (int32_t i = 0; i < n; ++i) {
      o[i] = out_apply(&f->out, sa - in_apply(&f->in2, b[i], 0));
    }
  } else {
    for (int32_t i = 0; i < n; ++i) {
      o[i] = fast_one(f, kind, a[i], b[i]);
    }
  }
}

/* An input's in_rq; whether its rescaling has the form above. */
static int in_make(int32_t offset, int32_t mult, int32_t shift, int32_t left, in_rq *q) {
  const int32_t r = -shift;
  const int ok = r == 0 ? mult == (1 << 30) : (r >= 1 && r <= left + 1);
  q->offset = offset;
  q->mult = mult;
  q->left = left;
  q->shift = shift;
  q->k = ok ? left + 1 - r : 0;
  q->cpos = ok && r > 0 ? 0x80000000u + (1u << (31 - r)) : 0x80000000u;
  q->nadj = ok && r > 0 ? 1u << (32 - r) : 0u;
  q->fast = ok;
  return ok;
}

/* Whether the fast int8 path applies; fills f if so. An input broadcast along the innermost
 * dimension is rescaled by in_once, so only the other needs the fast form. */
static int fast_make(const etx_binary_params *p, fast_params *f) {
  const int32_t last = p->ndims - 1;
  int ok = p->elem_bytes == 1 && p->ndims > 0 && p->act_min == -128 && p->act_max == 127 &&
           (uint32_t)p->stride1[p->ndims - 1] <= 1 && (uint32_t)p->stride2[p->ndims - 1] <= 1 &&
           etx_rqz_make(p->out_mult, p->out_shift, p->out_zp, &f->out);
  if (!ok) {
    return 0;
  }
  ok = in_make(p->in1_offset, p->in1_mult, p->in1_shift, p->left_shift, &f->in1) ||
       p->stride1[last] == 0;
  ok = (in_make(p->in2_offset, p->in2_mult, p->in2_shift, p->left_shift, &f->in2) ||
        p->stride2[last] == 0) &&
       ok;
  return ok || p->kind == ETX_MUL; /* MUL uses only the offsets */
}

static void binary_s8(const etx_binary_params *p, const fast_params *f, const int8_t *in1,
                      const int8_t *in2, int8_t *out) {
  const int32_t last = p->ndims - 1;
  const int32_t n = p->shape[last], step1 = p->stride1[last], step2 = p->stride2[last];
  int32_t idx[ETX_MAX_DIMS] = {0};
  int32_t o1 = 0, o2 = 0, runs = 1;
  for (int32_t d = 0; d < last; ++d) {
    runs *= p->shape[d];
  }
  /* All but SUB commute: with the first input broadcast along the run, swap the inputs. */
  const int swap = p->kind != ETX_SUB && step1 == 0 && step2 != 0;
  fast_params local = *f;
  if (swap) {
    local.in1 = f->in2;
    local.in2 = f->in1;
  }
  for (int32_t r = 0; r < runs; ++r, out += n) {
    const int8_t *a = swap ? in2 + o2 : in1 + o1, *b = swap ? in1 + o1 : in2 + o2;
    const int32_t step_a = swap ? step2 : step1, step_b = swap ? step1 : step2;
    switch (p->kind) {
    case ETX_MUL:
      run_s8(&local, ETX_MUL, a, step_a, b, step_b, out, n);
      break;
    case ETX_ADD:
      run_s8(&local, ETX_ADD, a, step_a, b, step_b, out, n);
      break;
    case ETX_SQDIFF:
      run_s8(&local, ETX_SQDIFF, a, step_a, b, step_b, out, n);
      break;
    default:
      run_s8(&local, ETX_SUB, a, step_a, b, step_b, out, n);
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
  fast_params f;
  if (fast_make(p, &f)) {
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
