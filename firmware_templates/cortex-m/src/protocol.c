#include "protocol.h"

uint32_t etx_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    /* Bit by bit, with no table in flash: about 45 instructions a byte, a small fraction of the
     * byte's own time on the wire (87 us at 115200 baud). */
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (unsigned k = 0; k < 8u; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

void etx_rx_init(etx_rx *rx, uint8_t *buf, size_t cap)
{
    rx->buf = buf;
    rx->cap = cap;
    rx->len = 0;
    rx->block = 0;
    rx->started = 0;
    rx->last_max = 0;
    rx->error = 0;
}

static void rx_store(etx_rx *rx, uint8_t byte)
{
    if (rx->len == rx->cap) {
        rx->error = ETX_E_TOO_LONG;
        return;
    }
    rx->buf[rx->len++] = byte;
}

static etx_rx_result rx_finish(etx_rx *rx, etx_frame *frame, uint8_t *error)
{
    uint8_t code = rx->error;
    size_t len = rx->len;
    if (code == 0 && rx->block != 0)
        code = ETX_E_FRAME; /* a code byte promised more bytes than arrived */
    if (code == 0 && len < ETX_OVERHEAD)
        code = ETX_E_FRAME;
    if (code == 0) {
        const uint8_t *c = rx->buf + len - ETX_CRC_BYTES;
        uint32_t want = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
                        (uint32_t)c[3] << 24;
        if (etx_crc32(0, rx->buf, len - ETX_CRC_BYTES) != want)
            code = ETX_E_CRC;
        frame->crc = want;
    }
    etx_rx_init(rx, rx->buf, rx->cap);
    if (code != 0) {
        *error = code;
        return ETX_RX_ERROR;
    }
    frame->type = rx->buf[0];
    frame->seq = (uint16_t)(rx->buf[1] | rx->buf[2] << 8);
    frame->payload = rx->buf + ETX_HEADER_BYTES;
    frame->len = len - ETX_OVERHEAD;
    return ETX_RX_FRAME;
}

etx_rx_result etx_rx_push(etx_rx *rx, uint8_t byte, etx_frame *frame, uint8_t *error)
{
    if (byte == 0) {
        if (!rx->started && rx->error == 0)
            return ETX_RX_MORE; /* empty frame between two delimiters */
        return rx_finish(rx, frame, error);
    }
    if (rx->error != 0)
        return ETX_RX_MORE; /* discard until the next delimiter */
    if (rx->block == 0) {
        if (rx->started && !rx->last_max)
            rx_store(rx, 0);
        rx->started = 1;
        rx->last_max = byte == 0xFF;
        rx->block = (uint8_t)(byte - 1);
    } else {
        rx_store(rx, byte);
        rx->block--;
    }
    return ETX_RX_MORE;
}

/* A frame's bytes before COBS: header, payload, CRC. */
typedef struct {
    const uint8_t *payload;
    size_t len;
    uint8_t edge[ETX_OVERHEAD]; /* the header, then the CRC */
} frame_bytes;

static uint8_t frame_byte(const frame_bytes *f, size_t i)
{
    if (i < ETX_HEADER_BYTES)
        return f->edge[i];
    i -= ETX_HEADER_BYTES;
    return i < f->len ? f->payload[i] : f->edge[ETX_HEADER_BYTES + i - f->len];
}

void etx_send(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, etx_put_fn *put,
              void *ctx)
{
    frame_bytes f = {payload, len, {type, (uint8_t)seq, (uint8_t)(seq >> 8)}};
    uint32_t crc = etx_crc32(etx_crc32(0, f.edge, ETX_HEADER_BYTES), payload, len);
    for (unsigned k = 0; k < ETX_CRC_BYTES; k++)
        f.edge[ETX_HEADER_BYTES + k] = (uint8_t)(crc >> (8u * k));
    const size_t total = ETX_FRAME_BYTES(len);
    size_t i = 0;

    put(ctx, 0); /* leading delimiter: ends any garbage the receiver holds */
    for (;;) {
        /* A block: up to 254 non-zero bytes, then (implicitly) the zero that ends them. */
        size_t j = i;
        while (j < total && j - i < 254u && frame_byte(&f, j) != 0)
            j++;
        const uint8_t code = (uint8_t)(j - i + 1u);
        put(ctx, code);
        for (size_t k = i; k < j; k++)
            put(ctx, frame_byte(&f, k));
        if (code == 0xFF)
            i = j; /* a full block stands for no zero, so a block follows, maybe empty */
        else if (j == total)
            break;
        else
            i = j + 1u;
    }
    put(ctx, 0);
}

typedef struct {
    uint8_t *out;
    size_t cap;
    size_t pos;
} buffer_sink;

static void buffer_put(void *ctx, uint8_t byte)
{
    buffer_sink *b = (buffer_sink *)ctx;
    if (b->pos < b->cap)
        b->out[b->pos] = byte;
    b->pos++;
}

size_t etx_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, uint8_t *out,
                  size_t cap)
{
    buffer_sink b = {out, cap, 0};
    etx_send(type, seq, payload, len, buffer_put, &b);
    return b.pos <= cap ? b.pos : 0;
}

void etx_seeded_fill(uint64_t seed, uint8_t *out, size_t n)
{
    while (n > 0) {
        uint64_t z = (seed += UINT64_C(0x9E3779B97F4A7C15));
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        z ^= z >> 31;
        for (unsigned i = 0; i < 8u && n > 0; i++, n--, z >>= 8)
            *out++ = (uint8_t)z;
    }
}
