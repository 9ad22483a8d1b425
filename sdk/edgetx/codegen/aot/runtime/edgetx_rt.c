/* See edgetx_rt.h. Every formula mirrors the TFLM reference kernel it replaces;
 * the generator's tests compare each against the TFLM interpreter bit for bit. */
#include "edgetx_rt_internal.h"

int32_t etx_mbqm64(int64_t x, int32_t multiplier, int shift) {
  const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int total_shift = 15 - shift;
  return (int32_t)((x * reduced + ((int64_t)1 << (total_shift - 1))) >> total_shift);
}
