/* Device agent: answers PING, INFO, RUN, RUN_SEEDED and RUN_RAW requests (docs/protocol.md). */
#include <string.h>

#include "board_config.h"
#include "console.h"
#include "edgetx_model.h"
#include "protocol.h"
#include "ticks.h"

/* A firmware built with `edgetx build --frontend` has its front end in model/: RUN_RAW. */
#if defined(__has_include)
#if __has_include("edgetx_frontend.h")
#include "edgetx_frontend.h"
#define EDGETX_HAS_FRONTEND 1
#endif
#endif

#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define STRLEN(s) (sizeof(s) - 1u)
#define RUN_REPLY_BYTES (8u + EDGETX_MODEL_OUTPUT_BYTES)
#define INFO_BYTES (18u + 1u + STRLEN(EDGETX_BOARD_ID) + 1u + STRLEN(EDGETX_MODEL_RUNTIME))
#ifdef EDGETX_HAS_FRONTEND
#define REPLY_BYTES (16u + EDGETX_MODEL_OUTPUT_BYTES) /* RUN_RAW's last reply */
#else
#define REPLY_BYTES RUN_REPLY_BYTES
#endif
#define CACHE_BYTES MAX(REPLY_BYTES, INFO_BYTES)
#define MAX_PAYLOAD MAX((size_t)EDGETX_MODEL_INPUT_BYTES, CACHE_BYTES)
#define RX_CAP ETX_FRAME_BYTES(MAX_PAYLOAD)
/* A payload starts 3 bytes into its frame: offset the buffer so it lands on 16 bytes for the model. */
#define RX_ALIGN_PAD (16u - ETX_HEADER_BYTES)

static uint8_t rx_storage[RX_ALIGN_PAD + RX_CAP] __attribute__((aligned(16)));
/* Where a request's payload lands; RUN_SEEDED makes its input here, as if a RUN had sent it. */
#define RX_PAYLOAD (rx_storage + RX_ALIGN_PAD + ETX_HEADER_BYTES)
static int8_t output[EDGETX_MODEL_OUTPUT_BYTES] __attribute__((aligned(16)));
/* The last reply's payload, kept so that a retransmitted request is answered without running it
 * again. Replies are COBS-encoded as they are sent, so none needs a wire buffer. PING's reply is
 * its request's payload, echoed from the receive buffer: a retransmitted PING echoes the same. */
static struct {
    uint8_t kept;
    uint8_t type;
    uint16_t seq;
    uint32_t crc;
    size_t len;
    uint8_t payload[CACHE_BYTES];
} last;

static uint8_t *put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        *p++ = (uint8_t)(v >> (8u * i));
    return p;
}

/* The info record (docs/protocol.md) is known at compile time. Its strings are stored without
 * their NUL (nonstring): the record gives their lengths. */
#define LE16(v) (uint8_t)(v), (uint8_t)((v) >> 8)
#define LE32(v) LE16(v), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)
static const struct {
    uint8_t head[19];
    char board_id[STRLEN(EDGETX_BOARD_ID)] __attribute__((nonstring));
    uint8_t runtime_len;
    char runtime[STRLEN(EDGETX_MODEL_RUNTIME)] __attribute__((nonstring));
} info = {
    {LE16(ETX_PROTOCOL_VERSION), LE32(EDGETX_MODEL_INPUT_BYTES), LE32(EDGETX_MODEL_OUTPUT_BYTES),
     LE32(MAX_PAYLOAD), LE32(EDGETX_TICK_HZ), STRLEN(EDGETX_BOARD_ID)},
    EDGETX_BOARD_ID,
    STRLEN(EDGETX_MODEL_RUNTIME),
    EDGETX_MODEL_RUNTIME,
};

static void console_put(void *ctx, uint8_t byte)
{
    (void)ctx;
    console_write(&byte, 1);
}

static void send(uint8_t type, uint16_t seq, const uint8_t *p, size_t n)
{
    etx_send(type, seq, p, n, console_put, NULL);
}

/* The handlers below write their reply's payload into last.payload and return its type. */
static uint8_t error_reply(uint8_t code)
{
    last.payload[0] = code;
    last.len = 1;
    return ETX_ERROR;
}

static uint8_t run_model(uint8_t type, const uint8_t *input)
{
    uint64_t start = ticks_start();
    edgetx_model_invoke((const int8_t *)input, output);
    uint64_t elapsed = ticks_now() - start;
    memcpy(put_le(last.payload, elapsed, 8), output, EDGETX_MODEL_OUTPUT_BYTES);
    last.len = RUN_REPLY_BYTES;
    return (uint8_t)(type | ETX_REPLY);
}

/* The seed is read before its bytes are overwritten by the input generated in their place. */
static uint8_t run_seeded(const etx_frame *req)
{
    uint64_t seed = 0;
    for (unsigned i = 0; i < 8u; i++)
        seed |= (uint64_t)req->payload[i] << (8u * i);
    etx_seeded_fill(seed, RX_PAYLOAD, EDGETX_MODEL_INPUT_BYTES);
    return run_model(ETX_RUN_SEEDED, RX_PAYLOAD);
}

#ifdef EDGETX_HAS_FRONTEND
/* RUN_RAW: raw input in chunks through the front end, then the model (docs/protocol.md). */
#define RAW_BEGIN 1u
#define RAW_END 2u
static int8_t raw_input[EDGETX_MODEL_INPUT_BYTES] __attribute__((aligned(16)));
static uint64_t raw_ticks; /* front end ticks of the current input, over all its chunks */

static uint8_t run_raw(const etx_frame *req)
{
    if (req->len < 1)
        return error_reply(ETX_E_LENGTH);
    const uint8_t flags = req->payload[0];
    uint64_t start = ticks_now();
    if (flags & RAW_BEGIN) {
        edgetx_frontend_begin(raw_input);
        raw_ticks = 0;
    }
    int rc = edgetx_frontend_push(req->payload + 1, (uint32_t)(req->len - 1));
    if (rc == 0 && (flags & RAW_END))
        rc = edgetx_frontend_end();
    raw_ticks += ticks_now() - start;
    if (rc != 0)
        return error_reply(ETX_E_RAW);
    last.len = 0;
    if (!(flags & RAW_END))
        return ETX_RUN_RAW | ETX_REPLY;
    start = ticks_start();
    edgetx_model_invoke(raw_input, output);
    uint64_t elapsed = ticks_now() - start;
    memcpy(put_le(put_le(last.payload, elapsed, 8), raw_ticks, 8), output,
           EDGETX_MODEL_OUTPUT_BYTES);
    last.len = REPLY_BYTES;
    return ETX_RUN_RAW | ETX_REPLY;
}
#endif

static uint8_t handle(const etx_frame *req)
{
    switch (req->type) {
    case ETX_INFO:
        if (req->len != 0)
            return error_reply(ETX_E_LENGTH);
        memcpy(last.payload, &info, sizeof info);
        last.len = sizeof info;
        return ETX_INFO | ETX_REPLY;
    case ETX_RUN:
        if (req->len != EDGETX_MODEL_INPUT_BYTES)
            return error_reply(ETX_E_LENGTH);
        return run_model(ETX_RUN, req->payload);
    case ETX_RUN_SEEDED:
        if (req->len != 8u)
            return error_reply(ETX_E_LENGTH);
        return run_seeded(req);
#ifdef EDGETX_HAS_FRONTEND
    case ETX_RUN_RAW:
        return run_raw(req);
#endif
    default:
        return error_reply(ETX_E_TYPE);
    }
}

int main(void)
{
    etx_rx rx;
    etx_frame frame;
    uint8_t code;

    console_init();
    ticks_init();
    etx_rx_init(&rx, rx_storage + RX_ALIGN_PAD, RX_CAP);
    send(ETX_BOOT, ETX_SEQ_NONE, (const uint8_t *)&info, sizeof info);
    for (;;) {
        switch (etx_rx_push(&rx, console_getc(), &frame, &code)) {
        case ETX_RX_FRAME:
            if (frame.type == ETX_PING) {
                last.kept = 0; /* any other request replaces the kept reply */
                send(ETX_PING | ETX_REPLY, frame.seq, frame.payload, frame.len);
                break;
            }
            if (!last.kept || frame.seq != last.seq || frame.crc != last.crc) {
                last.type = handle(&frame);
                last.kept = 1;
                last.seq = frame.seq;
                last.crc = frame.crc;
            }
            send(last.type, last.seq, last.payload, last.len);
            break;
        case ETX_RX_ERROR:
            send(ETX_ERROR, ETX_SEQ_NONE, &code, 1);
            break;
        case ETX_RX_MORE:
            break;
        }
    }
}
