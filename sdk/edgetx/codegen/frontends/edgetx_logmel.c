/* Fixed-point log-mel; see edgetx_logmel.h and sdk/edgetx/frontends/logmel_fixed.py. */
#include "edgetx_logmel.h"

#define N EDGETX_LOGMEL_N_FFT
#define BINS (N / 2 + 1)

/* Working buffers: 4 KB for n_fft = 512, shared by every frame. */
static int32_t fft_re[N];
static int32_t fft_im[N];

static void fft(void) {
    for (int size = 2; size <= N; size *= 2) {
        const int half = size / 2;
        const int step = N / size;
        for (int base = 0; base < N; base += size) {
            for (int j = 0; j < half; j++) {
                const int64_t wr = edgetx_logmel_cos[j * step];
                const int64_t wi = edgetx_logmel_sin[j * step];
                const int a = base + j;
                const int b = a + half;
                const int64_t br = fft_re[b];
                const int64_t bi = fft_im[b];
                const int32_t tr = (int32_t)((br * wr - bi * wi + (1LL << 29)) >> 30);
                const int32_t ti = (int32_t)((br * wi + bi * wr + (1LL << 29)) >> 30);
                const int32_t ar = fft_re[a];
                const int32_t ai = fft_im[a];
                fft_re[a] = ar + tr;
                fft_im[a] = ai + ti;
                fft_re[b] = ar - tr;
                fft_im[b] = ai - ti;
            }
        }
    }
}

static int32_t log2_q16(uint64_t v) {
    const int e = 63 - __builtin_clzll(v);
    const uint64_t m = e >= 23 ? v >> (e - 23) : v << (23 - e);
    const int32_t mant = (int32_t)(m - (1u << 23));
    const int32_t idx = mant >> 16;
    const int32_t rem = mant & 0xFFFF;
    const int32_t t0 = edgetx_logmel_log2_table[idx];
    const int32_t t1 = edgetx_logmel_log2_table[idx + 1];
    return e * 65536 + t0 + (int32_t)(((int64_t)(t1 - t0) * rem + (1 << 15)) >> 16);
}

void edgetx_logmel_frame_log2(const int16_t *frame, int32_t *log2_out) {
    for (int n = 0; n < N; n++) {
        const int32_t x = frame[edgetx_logmel_bitrev[n]];
        fft_re[n] = (x * edgetx_logmel_window[edgetx_logmel_bitrev[n]] + (1 << 11)) >> 12;
        fft_im[n] = 0;
    }
    fft();
    /* Each bin's power is computed where a filter uses it: no uint64 power buffer (2 KB). */
    int offset = 0;
    for (int m = 0; m < EDGETX_LOGMEL_N_MELS; m++) {
        const int start = edgetx_logmel_mel_start[m];
        const int len = edgetx_logmel_mel_len[m];
        uint64_t acc = 0;
        for (int k = 0; k < len; k++) {
            const int64_t re = fft_re[start + k];
            const int64_t im = fft_im[start + k];
            const uint64_t power = (uint64_t)((re * re + im * im + 32) >> 6);
            acc += power * edgetx_logmel_mel_weights[offset + k];
        }
        offset += len;
        if (acc < EDGETX_LOGMEL_AMIN_ACC) {
            acc = EDGETX_LOGMEL_AMIN_ACC;
        }
        log2_out[m] = log2_q16(acc);
    }
}

void edgetx_logmel_frame(const int16_t *frame, int8_t *out) {
    int32_t l2[EDGETX_LOGMEL_N_MELS];
    edgetx_logmel_frame_log2(frame, l2);
    for (int m = 0; m < EDGETX_LOGMEL_N_MELS; m++) {
        const int64_t v = (int64_t)l2[m] - (int64_t)EDGETX_LOGMEL_ACC_SHIFT * 65536;
        int64_t q = EDGETX_LOGMEL_ZERO_POINT +
                    ((v * EDGETX_LOGMEL_QUANT_MULT + (1LL << 31)) >> 32);
        if (q < -128) {
            q = -128;
        }
        if (q > 127) {
            q = 127;
        }
        out[m] = (int8_t)q;
    }
}

void edgetx_logmel_clip(const int16_t *pcm, uint32_t n, int8_t *out) {
    int16_t frame[N];
    for (int f = 0; f < EDGETX_LOGMEL_N_FRAMES; f++) {
        const uint32_t start = (uint32_t)f * EDGETX_LOGMEL_HOP;
        for (int i = 0; i < N; i++) {
            const uint32_t at = start + (uint32_t)i;
            frame[i] = (at < n && at < EDGETX_LOGMEL_CLIP_SAMPLES) ? pcm[at] : 0;
        }
        edgetx_logmel_frame(frame, out + f * EDGETX_LOGMEL_N_MELS);
    }
}
