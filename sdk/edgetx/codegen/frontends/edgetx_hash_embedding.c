/* Hashed n-gram embedding; see edgetx_hash_embedding.h and docs/hash-embedding.md. */
#include "edgetx_hash_embedding.h"

#define FNV_OFFSET 0xCBF29CE484222325ull
#define FNV_PRIME 0x100000001B3ull

/* A character of the wrapped token: a byte range of the text, or a boundary marker. */
typedef struct {
    uint32_t start;
    uint32_t len; /* 0 for a marker */
    uint8_t marker;
} hash_char;

typedef struct {
    const uint8_t *text;
    const uint64_t *seeds;
    int32_t sums[EDGETX_HASH_WIDTH];
    int32_t counts[3];
} hash_state;

static const int order_dims[3] = {EDGETX_HASH_DIM1, EDGETX_HASH_DIM2, EDGETX_HASH_DIM3};

static int is_separator(uint8_t b) {
    return (b >= 0x09 && b <= 0x0D) || b == 0x20 || (b >= 0x21 && b <= 0x2F) ||
           (b >= 0x3A && b <= 0x40) || (b >= 0x5B && b <= 0x60) || (b >= 0x7B && b <= 0x7E);
}

static uint8_t lower_at(const uint8_t *text, uint32_t i) {
    const uint8_t b = text[i];
    if (b >= 0x41 && b <= 0x5A) {
        return (uint8_t)(b + 0x20);
    }
    if (i > 0 && text[i - 1] == 0xC3 && b >= 0x80 && b <= 0x9E && b != 0x97) {
        return (uint8_t)(b + 0x20);
    }
    return b;
}

static uint64_t fnv_char(uint64_t h, const hash_state *s, const hash_char *c) {
    if (c->len == 0) {
        return (h ^ c->marker) * FNV_PRIME;
    }
    for (uint32_t i = 0; i < c->len; i++) {
        h = (h ^ lower_at(s->text, c->start + i)) * FNV_PRIME;
    }
    return h;
}

/* Add the n-gram ending at ring[(pos) % 3] of the given order. */
static void add_ngram(hash_state *s, const hash_char ring[3], uint32_t pos, int order) {
    uint64_t h = FNV_OFFSET;
    for (int k = order - 1; k >= 0; k--) {
        h = fnv_char(h, s, &ring[(pos - (uint32_t)k) % 3]);
    }
    int col = 0;
    for (int o = 1; o < order; o++) {
        col += order_dims[o - 1];
    }
    for (int j = 0; j < order_dims[order - 1]; j++) {
        const uint32_t u = (uint32_t)((h * s->seeds[col + j]) >> 48);
        s->sums[col + j] += 2 * (int32_t)u - 65535;
    }
    s->counts[order - 1]++;
}

/* floor(a / b) for b > 0. */
static int64_t floor_div(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void embed_token(hash_state *s, uint32_t start, uint32_t end, int8_t *row) {
    for (int j = 0; j < EDGETX_HASH_WIDTH; j++) {
        s->sums[j] = 0;
    }
    s->counts[0] = s->counts[1] = s->counts[2] = 0;
    hash_char ring[3];
    uint32_t pos = 0;
    ring[0].start = 0;
    ring[0].len = 0;
    ring[0].marker = '<';
    for (uint32_t i = start; i <= end; i++) {
        if (i < end && i != start && s->text[i] >= 0x80 && s->text[i] <= 0xBF) {
            continue; /* continuation byte: part of the current character */
        }
        hash_char *c = &ring[++pos % 3];
        if (i == end) {
            c->start = 0;
            c->len = 0;
            c->marker = '>';
        } else {
            uint32_t j = i + 1;
            while (j < end && s->text[j] >= 0x80 && s->text[j] <= 0xBF) {
                j++;
            }
            c->start = i;
            c->len = j - i;
            c->marker = 0;
            add_ngram(s, ring, pos, 1);
        }
        add_ngram(s, ring, pos, 2);
        if (pos >= 2) {
            add_ngram(s, ring, pos, 3);
        }
    }
    int col = 0;
    for (int o = 0; o < 3; o++) {
        const int64_t den = (int64_t)s->counts[o] << 32;
        for (int j = 0; j < order_dims[o]; j++, col++) {
            int64_t q = EDGETX_HASH_ZERO_POINT +
                        floor_div(2 * (int64_t)s->sums[col] * EDGETX_HASH_QUANT_MULT + den, 2 * den);
            q = q < -128 ? -128 : (q > 127 ? 127 : q);
            row[col] = (int8_t)q;
        }
    }
}

int edgetx_hash_embed(const uint8_t *text, uint32_t len, int8_t *out) {
    if (len > EDGETX_HASH_MAX_TEXT_BYTES) {
        return -1;
    }
    uint64_t seeds[EDGETX_HASH_WIDTH];
    uint64_t state = EDGETX_HASH_SEED;
    for (int j = 0; j < EDGETX_HASH_WIDTH; j++) {
        state += 0x9E3779B97F4A7C15ull;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        seeds[j] = (z ^ (z >> 31)) | 1u;
    }
    hash_state s;
    s.text = text;
    s.seeds = seeds;
    int n_tokens = 0;
    uint32_t i = 0;
    while (i < len && n_tokens < EDGETX_HASH_SEQ_LEN) {
        if (is_separator(text[i])) {
            i++;
            continue;
        }
        uint32_t end = i;
        while (end < len && !is_separator(text[end])) {
            end++;
        }
        embed_token(&s, i, end, out + n_tokens * EDGETX_HASH_WIDTH);
        n_tokens++;
        i = end;
    }
    for (int k = n_tokens * EDGETX_HASH_WIDTH; k < EDGETX_HASH_SEQ_LEN * EDGETX_HASH_WIDTH; k++) {
        out[k] = (int8_t)EDGETX_HASH_ZERO_POINT;
    }
    return n_tokens;
}
