/* EELBERT-style hashed n-gram embedding, spec v1 (docs/hash-embedding.md): UTF-8 text in,
 * int8 model input [EDGETX_HASH_SEQ_LEN][EDGETX_HASH_WIDTH] out. The same integers as
 * sdk/edgetx/frontends/hash_embedding.py; constants in edgetx_hash_embedding_config.h. */
#ifndef EDGETX_HASH_EMBEDDING_H
#define EDGETX_HASH_EMBEDDING_H

#include <stdint.h>

#include "edgetx_hash_embedding_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the number of tokens embedded (at most EDGETX_HASH_SEQ_LEN), or -1 when len is
 * over EDGETX_HASH_MAX_TEXT_BYTES (out is then untouched). */
int edgetx_hash_embed(const uint8_t *text, uint32_t len, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif
