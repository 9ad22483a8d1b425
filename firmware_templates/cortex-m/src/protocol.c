#include "protocol.h"

uint32_t etx_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    /* Nibble table: 64 bytes of flash instead of 1 KB, two lookups per byte. */
    static const uint32_t table[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
    };
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ table[crc & 0xFu];
        crc = (crc >> 4) ^ table[crc & 0xFu];
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

typedef struct {
    uint8_t *out;
    size_t cap;
    size_t pos;      /* next free byte */
    size_t code_pos; /* where the current block's code byte goes */
    uint8_t code;
} cobs_writer;

static void cobs_put_raw(cobs_writer *w, uint8_t byte)
{
    if (w->pos < w->cap)
        w->out[w->pos] = byte;
    w->pos++;
}

static void cobs_close_block(cobs_writer *w)
{
    if (w->code_pos < w->cap)
        w->out[w->code_pos] = w->code;
    w->code_pos = w->pos++;
    w->code = 1;
}

static void cobs_put(cobs_writer *w, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == 0) {
            cobs_close_block(w);
            continue;
        }
        cobs_put_raw(w, p[i]);
        if (++w->code == 0xFF)
            cobs_close_block(w);
    }
}

size_t etx_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, uint8_t *out,
                  size_t cap)
{
    const uint8_t header[ETX_HEADER_BYTES] = {type, (uint8_t)seq, (uint8_t)(seq >> 8)};
    uint32_t crc = etx_crc32(etx_crc32(0, header, sizeof header), payload, len);
    const uint8_t trailer[ETX_CRC_BYTES] = {(uint8_t)crc, (uint8_t)(crc >> 8),
                                            (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
    cobs_writer w = {out, cap, 0, 0, 1};

    cobs_put_raw(&w, 0); /* leading delimiter: ends any garbage the receiver holds */
    w.code_pos = w.pos++;
    cobs_put(&w, header, sizeof header);
    cobs_put(&w, payload, len);
    cobs_put(&w, trailer, sizeof trailer);
    if (w.code_pos < w.cap)
        w.out[w.code_pos] = w.code;
    cobs_put_raw(&w, 0);
    return w.pos <= cap ? w.pos : 0;
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
