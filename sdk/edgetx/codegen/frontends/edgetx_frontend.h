/* Streaming raw-input front end of the device agent: raw bytes in, the model's int8 input out.
 * One implementation is linked per firmware: edgetx_frontend_logmel.c (int16 little-endian PCM)
 * or edgetx_frontend_text.c (UTF-8 text). */
#ifndef EDGETX_FRONTEND_H
#define EDGETX_FRONTEND_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Start a new input that will be written to input (the model's input tensor). */
void edgetx_frontend_begin(int8_t *input);

/* Feed the next bytes of raw input. Returns 0, or -1 when they are not acceptable (a PCM chunk
 * of odd length, text over the length limit); the input must then be begun again. */
int edgetx_frontend_push(const uint8_t *data, uint32_t len);

/* Complete the model input from everything pushed. Returns 0, or -1 when no input is begun. */
int edgetx_frontend_end(void);

#ifdef __cplusplus
}
#endif

#endif
