/* edgetx serial protocol: COBS-framed binary frames with a sequence number and CRC-32.
 * Portable C99 (and C++), no hardware dependencies; see docs/protocol.md. */
#ifndef EDGETX_PROTOCOL_H
#define EDGETX_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ETX_PROTOCOL_VERSION 1u
#define ETX_SEQ_NONE 0xFFFFu /* seq of frames not answering a request (BOOT, unattributable ERROR) */
#define ETX_HEADER_BYTES 3u  /* type u8, seq u16 LE */
#define ETX_CRC_BYTES 4u
#define ETX_OVERHEAD (ETX_HEADER_BYTES + ETX_CRC_BYTES)
/* Decoded size of a frame with p payload bytes, and its worst-case size on the wire: COBS adds
 * one code byte per 254 bytes plus one, and a 0x00 delimiter goes before and after every frame. */
#define ETX_FRAME_BYTES(p) ((p) + ETX_OVERHEAD)
#define ETX_WIRE_BYTES(p) (ETX_FRAME_BYTES(p) + ETX_FRAME_BYTES(p) / 254u + 1u + 2u)

enum {
    ETX_PING = 0x01,
    ETX_INFO = 0x02,
    ETX_RUN = 0x03,
    ETX_RUN_RAW = 0x04, /* payload: flags u8, raw input bytes for the front end (if built in) */
    ETX_RUN_SEEDED = 0x05, /* payload: seed u64; the device makes the input itself */
    ETX_REPLY = 0x80, /* a reply's type is the request's type | ETX_REPLY */
    ETX_BOOT = 0xF0,
    ETX_ERROR = 0xFF
};

enum {
    ETX_E_FRAME = 1,    /* bad COBS, or shorter than header + CRC */
    ETX_E_CRC = 2,      /* CRC mismatch */
    ETX_E_TOO_LONG = 3, /* frame larger than the receive buffer */
    ETX_E_TYPE = 4,     /* unknown request type */
    ETX_E_LENGTH = 5,   /* payload length wrong for the request type */
    ETX_E_RAW = 6       /* the front end rejected the raw input */
};

typedef struct {
    uint8_t type;
    uint16_t seq;
    const uint8_t *payload; /* points into the receiver's buffer */
    size_t len;
    uint32_t crc; /* CRC of the whole frame, identifies a retransmission */
} etx_frame;

/* Streaming receiver: decodes COBS byte by byte into buf, never writing past cap. */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    uint8_t block;    /* data bytes left in the current COBS block */
    uint8_t started;  /* a code byte of this frame has been seen */
    uint8_t last_max; /* the last code byte was 0xFF, so no implicit zero follows its block */
    uint8_t error;    /* first error in this frame, reported at its closing delimiter */
} etx_rx;

typedef enum { ETX_RX_MORE, ETX_RX_FRAME, ETX_RX_ERROR } etx_rx_result;

void etx_rx_init(etx_rx *rx, uint8_t *buf, size_t cap);

/* Feed one byte. ETX_RX_FRAME: *frame is valid until the next call. ETX_RX_ERROR: *error holds
 * an ETX_E_* code; such a frame cannot be trusted, so its seq is unknown. */
etx_rx_result etx_rx_push(etx_rx *rx, uint8_t byte, etx_frame *frame, uint8_t *error);

/* Receives a frame's wire bytes from etx_send, in order, a byte at a time. */
typedef void etx_put_fn(void *ctx, uint8_t byte);

/* Send one frame as 0x00, COBS(type, seq, payload, crc), 0x00 through put, without a buffer:
 * each COBS block's length comes from looking ahead in the frame's bytes. */
void etx_send(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, etx_put_fn *put,
              void *ctx);

/* etx_send into out. Returns the number of bytes written, or 0 when cap is too small. */
size_t etx_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len, uint8_t *out,
                  size_t cap);

/* CRC-32 (IEEE 802.3, as zlib.crc32): pass 0 to start, the previous result to continue. */
uint32_t etx_crc32(uint32_t crc, const uint8_t *p, size_t n);

/* RUN_SEEDED's input: n bytes of splitmix64 from seed, each output little-endian (the host's
 * twin is edgetx.link.seeded). */
void etx_seeded_fill(uint64_t seed, uint8_t *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif
