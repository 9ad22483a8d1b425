/* Fixed-point log-mel front end: int16 PCM frames in, int8 model input out.
 * The arithmetic is specified in sdk/edgetx/frontends/logmel_fixed.py, which computes the
 * same integers; the constants come from the generated edgetx_logmel_tables.c/.h. */
#ifndef EDGETX_LOGMEL_H
#define EDGETX_LOGMEL_H

#include <stdint.h>

#include "edgetx_logmel_tables.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Q16 log2 of the floored mel accumulators of one frame of EDGETX_LOGMEL_N_FFT samples. */
void edgetx_logmel_frame_log2(const int16_t *frame, int32_t *log2_out);

/* The int8 model input row (EDGETX_LOGMEL_N_MELS values) of one frame. */
void edgetx_logmel_frame(const int16_t *frame, int8_t *out);

/* The whole model input [N_FRAMES][N_MELS] of a clip of n samples (zero-padded or trimmed to
 * EDGETX_LOGMEL_CLIP_SAMPLES). */
void edgetx_logmel_clip(const int16_t *pcm, uint32_t n, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif
