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
#define MAX_PAYLOAD MAX(MAX((size_t)EDGETX_MODEL_INPUT_BYTES, REPLY_BYTES), INFO_BYTES)
#define RX_CAP ETX_FRAME_BYTES(MAX_PAYLOAD)
/* A payload starts 3 bytes into its frame: offset the buffer so it lands on 16 bytes for the model. */
#define RX_ALIGN_PAD (16u - ETX_HEADER_BYTES)

static uint8_t rx_storage[RX_ALIGN_PAD + RX_CAP] __attribute__((aligned(16)));
/* Where a request's payload lands; RUN_SEEDED makes its input here, as if a RUN had sent it. */
#define RX_PAYLOAD (rx_storage + RX_ALIGN_PAD + ETX_HEADER_BYTES)
static int8_t output[EDGETX_MODEL_OUTPUT_BYTES] __attribute__((aligned(16)));
/* The last reply stays here so a retransmitted request is answered without running it again. */
static uint8_t reply[ETX_WIRE_BYTES(MAX_PAYLOAD)];
static size_t reply_len;
static uint16_t reply_seq;
static uint32_t reply_crc;

static uint8_t *put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        *p++ = (uint8_t)(v >> (8u * i));
    return p;
}

static uint8_t *put_str(uint8_t *p, const char *s, size_t n)
{
    *p++ = (uint8_t)n;
    memcpy(p, s, n);
    return p + n;
}

static size_t info_payload(uint8_t *out)
{
    uint8_t *p = put_le(out, ETX_PROTOCOL_VERSION, 2);
    p = put_le(p, EDGETX_MODEL_INPUT_BYTES, 4);
    p = put_le(p, EDGETX_MODEL_OUTPUT_BYTES, 4);
    p = put_le(p, MAX_PAYLOAD, 4);
    p = put_le(p, EDGETX_TICK_HZ, 4);
    p = put_str(p, EDGETX_BOARD_ID, STRLEN(EDGETX_BOARD_ID));
    p = put_str(p, EDGETX_MODEL_RUNTIME, STRLEN(EDGETX_MODEL_RUNTIME));
    return (size_t)(p - out);
}

static size_t encode_reply(const etx_frame *req, uint8_t type, const uint8_t *p, size_t n)
{
    return etx_encode(type, req->seq, p, n, reply, sizeof reply);
}

static size_t encode_error(const etx_frame *req, uint8_t code)
{
    return encode_reply(req, ETX_ERROR, &code, 1);
}

static size_t run_model(const etx_frame *req, const uint8_t *input)
{
    uint8_t payload[RUN_REPLY_BYTES];
    uint64_t start = ticks_start();
    edgetx_model_invoke((const int8_t *)input, output);
    uint64_t elapsed = ticks_now() - start;
    memcpy(put_le(payload, elapsed, 8), output, EDGETX_MODEL_OUTPUT_BYTES);
    return encode_reply(req, (uint8_t)(req->type | ETX_REPLY), payload, sizeof payload);
}

/* The seed is read before its bytes are overwritten by the input generated in their place. */
static size_t run_seeded(const etx_frame *req)
{
    uint64_t seed = 0;
    for (unsigned i = 0; i < 8u; i++)
        seed |= (uint64_t)req->payload[i] << (8u * i);
    etx_seeded_fill(seed, RX_PAYLOAD, EDGETX_MODEL_INPUT_BYTES);
    return run_model(req, RX_PAYLOAD);
}

#ifdef EDGETX_HAS_FRONTEND
/* RUN_RAW: raw input in chunks through the front end, then the model (docs/protocol.md). */
#define RAW_BEGIN 1u
#define RAW_END 2u
static int8_t raw_input[EDGETX_MODEL_INPUT_BYTES] __attribute__((aligned(16)));
static uint64_t raw_ticks; /* front end ticks of the current input, over all its chunks */

static size_t run_raw(const etx_frame *req)
{
    uint8_t payload[REPLY_BYTES];
    if (req->len < 1)
        return encode_error(req, ETX_E_LENGTH);
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
        return encode_error(req, ETX_E_RAW);
    if (!(flags & RAW_END))
        return encode_reply(req, ETX_RUN_RAW | ETX_REPLY, payload, 0);
    start = ticks_start();
    edgetx_model_invoke(raw_input, output);
    uint64_t elapsed = ticks_now() - start;
    memcpy(put_le(put_le(payload, elapsed, 8), raw_ticks, 8), output, EDGETX_MODEL_OUTPUT_BYTES);
    return encode_reply(req, ETX_RUN_RAW | ETX_REPLY, payload, sizeof payload);
}
#endif

static size_t handle(const etx_frame *req)
{
    uint8_t info[INFO_BYTES];
    switch (req->type) {
    case ETX_PING:
        return encode_reply(req, ETX_PING | ETX_REPLY, req->payload, req->len);
    case ETX_INFO:
        if (req->len != 0)
            return encode_error(req, ETX_E_LENGTH);
        return encode_reply(req, ETX_INFO | ETX_REPLY, info, info_payload(info));
    case ETX_RUN:
        if (req->len != EDGETX_MODEL_INPUT_BYTES)
            return encode_error(req, ETX_E_LENGTH);
        return run_model(req, req->payload);
    case ETX_RUN_SEEDED:
        if (req->len != 8u)
            return encode_error(req, ETX_E_LENGTH);
        return run_seeded(req);
#ifdef EDGETX_HAS_FRONTEND
    case ETX_RUN_RAW:
        return run_raw(req);
#endif
    default:
        return encode_error(req, ETX_E_TYPE);
    }
}

static void send_unattributed(uint8_t type, const uint8_t *p, size_t n)
{
    uint8_t wire[ETX_WIRE_BYTES(INFO_BYTES)];
    console_write(wire, etx_encode(type, ETX_SEQ_NONE, p, n, wire, sizeof wire));
}

int main(void)
{
    etx_rx rx;
    etx_frame frame;
    uint8_t code;
    uint8_t info[INFO_BYTES];

    console_init();
    ticks_init();
    etx_rx_init(&rx, rx_storage + RX_ALIGN_PAD, RX_CAP);
    send_unattributed(ETX_BOOT, info, info_payload(info));
    for (;;) {
        switch (etx_rx_push(&rx, console_getc(), &frame, &code)) {
        case ETX_RX_FRAME:
            if (reply_len == 0 || frame.seq != reply_seq || frame.crc != reply_crc) {
                reply_len = handle(&frame);
                reply_seq = frame.seq;
                reply_crc = frame.crc;
            }
            console_write(reply, reply_len);
            break;
        case ETX_RX_ERROR:
            send_unattributed(ETX_ERROR, &code, 1);
            break;
        case ETX_RX_MORE:
            break;
        }
    }
}
