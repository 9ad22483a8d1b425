/* edgetx_frontend.h for audio: frames are computed as soon as their samples have arrived, so
 * only one frame of PCM is buffered (a 1 s clip would not fit a 32 KB part's RAM). */
#include <string.h>

#include "edgetx_frontend.h"
#include "edgetx_logmel.h"

#define N EDGETX_LOGMEL_N_FFT
#define HOP EDGETX_LOGMEL_HOP

#if HOP > N
#error "the streaming log-mel front end needs hop_length <= n_fft"
#endif

static int16_t samples[N]; /* the current frame's samples received so far */
static uint32_t held;      /* number of valid samples in samples[] */
static uint32_t total;     /* samples of the clip consumed (at most CLIP_SAMPLES) */
static int frame;          /* next frame to compute */
static int8_t *out;

static void add_sample(int16_t s) {
    samples[held++] = s;
    if (held == N) {
        if (frame < EDGETX_LOGMEL_N_FRAMES) {
            edgetx_logmel_frame(samples, out + frame * EDGETX_LOGMEL_N_MELS);
        }
        frame++;
        memmove(samples, samples + HOP, (N - HOP) * sizeof samples[0]);
        held = N - HOP;
    }
}

void edgetx_frontend_begin(int8_t *input) {
    out = input;
    held = 0;
    total = 0;
    frame = 0;
}

int edgetx_frontend_push(const uint8_t *data, uint32_t len) {
    if (out == 0 || len % 2 != 0) {
        out = 0;
        return -1;
    }
    for (uint32_t i = 0; i < len && total < EDGETX_LOGMEL_CLIP_SAMPLES; i += 2, total++) {
        add_sample((int16_t)(uint16_t)(data[i] | (data[i + 1] << 8)));
    }
    return 0;
}

int edgetx_frontend_end(void) {
    if (out == 0) {
        return -1;
    }
    while (frame < EDGETX_LOGMEL_N_FRAMES) {
        add_sample(0); /* zero padding to the clip length */
    }
    out = 0;
    return 0;
}
