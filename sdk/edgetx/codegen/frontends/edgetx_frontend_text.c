/* edgetx_frontend.h for text: the UTF-8 bytes are buffered, then hashed at the end. */
#include <string.h>

#include "edgetx_frontend.h"
#include "edgetx_hash_embedding.h"

static uint8_t text[EDGETX_HASH_MAX_TEXT_BYTES];
static uint32_t text_len;
static int8_t *out;

void edgetx_frontend_begin(int8_t *input) {
    out = input;
    text_len = 0;
}

int edgetx_frontend_push(const uint8_t *data, uint32_t len) {
    if (out == 0 || len > EDGETX_HASH_MAX_TEXT_BYTES - text_len) {
        out = 0;
        return -1;
    }
    memcpy(text + text_len, data, len);
    text_len += len;
    return 0;
}

int edgetx_frontend_end(void) {
    if (out == 0 || edgetx_hash_embed(text, text_len, out) < 0) {
        out = 0;
        return -1;
    }
    out = 0;
    return 0;
}
