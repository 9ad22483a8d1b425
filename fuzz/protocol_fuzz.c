/* libFuzzer harness for the device-side frame layer (firmware_templates/cortex-m/src/protocol.c).
 *
 * Built with -fsanitize=fuzzer,address,undefined (fuzz/Makefile). Every buffer is a heap block
 * of exactly the size the code is told, so AddressSanitizer reports any byte read or written
 * outside it: a frame whose COBS code bytes or length lie must stay inside the receive buffer.
 *
 * Input: byte 0 picks the receive buffer size (0..63, small so that too-long frames are common),
 * byte 1 picks an encoder output size; the rest is a byte stream fed to etx_rx_push. Each frame
 * received is checked, re-encoded (into an exact-size and a too-small buffer) and decoded again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            __builtin_trap();                                                                  \
    } while (0)

static uint8_t sum_bytes(const uint8_t *p, size_t n)
{
    uint8_t s = 0; /* reads every byte, so ASan checks the whole range */
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* Encode a frame into exactly cap bytes; when it fits, decode it again and compare. */
static void round_trip(const etx_frame *f, size_t cap)
{
    uint8_t *wire = malloc(cap); /* ASan gives even 0 bytes an address to guard */
    size_t n = etx_encode(f->type, f->seq, f->payload, f->len, wire, cap);
    CHECK(n <= cap);
    CHECK(n == 0 || n <= ETX_WIRE_BYTES(f->len));
    if (n == 0) {
        CHECK(cap < ETX_WIRE_BYTES(f->len) || cap < 2);
        free(wire);
        return;
    }
    CHECK(wire[0] == 0 && wire[n - 1] == 0 && memchr(wire + 1, 0, n - 2) == NULL);
    size_t rcap = ETX_FRAME_BYTES(f->len);
    uint8_t *buf = malloc(rcap);
    etx_rx rx;
    etx_frame g;
    uint8_t err = 0;
    int frames = 0;
    etx_rx_init(&rx, buf, rcap);
    for (size_t i = 0; i < n; i++) {
        etx_rx_result r = etx_rx_push(&rx, wire[i], &g, &err);
        CHECK(r != ETX_RX_ERROR);
        if (r == ETX_RX_FRAME) {
            frames++;
            CHECK(g.type == f->type && g.seq == f->seq && g.len == f->len);
            CHECK(memcmp(g.payload, f->payload, f->len) == 0);
        }
    }
    CHECK(frames == 1);
    free(buf);
    free(wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cap = data[0] % 64u;
    size_t out_cap = data[1];
    uint8_t *buf = malloc(cap);
    etx_rx rx;
    etx_frame f;
    uint8_t err;

    etx_rx_init(&rx, buf, cap);
    for (size_t i = 2; i < size; i++) {
        switch (etx_rx_push(&rx, data[i], &f, &err)) {
        case ETX_RX_FRAME: {
            CHECK(f.payload == buf + ETX_HEADER_BYTES);
            CHECK(f.len + ETX_OVERHEAD <= cap);
            uint32_t crc = etx_crc32(0, buf, ETX_HEADER_BYTES + f.len);
            CHECK(crc == f.crc);
            (void)sum_bytes(f.payload, f.len);
            /* Copy out: the payload lives in buf, which the next push may overwrite. */
            uint8_t *payload = malloc(f.len ? f.len : 1);
            memcpy(payload, f.payload, f.len);
            etx_frame copy = f;
            copy.payload = payload;
            round_trip(&copy, ETX_WIRE_BYTES(f.len));
            round_trip(&copy, out_cap);
            free(payload);
            break;
        }
        case ETX_RX_ERROR:
            CHECK(err == ETX_E_FRAME || err == ETX_E_CRC || err == ETX_E_TOO_LONG);
            break;
        case ETX_RX_MORE:
            break;
        }
        CHECK(rx.len <= cap);
    }
    free(buf);
    return 0;
}
