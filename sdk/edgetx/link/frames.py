"""Frame layer of the edgetx serial protocol (docs/protocol.md), mirroring src/protocol.c.

A frame is type (u8), seq (u16 LE), payload, CRC-32 (u32 LE, zlib's) of everything before it,
COBS-encoded and sent between two 0x00 delimiters.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from edgetx.link.errors import FrameError

PROTOCOL_VERSION = 1
SEQ_NONE = 0xFFFF  # seq of frames that answer no request: BOOT, unattributable ERROR
HEADER = struct.Struct("<BH")
CRC = struct.Struct("<I")
OVERHEAD = HEADER.size + CRC.size
REPLY = 0x80  # a reply's type is its request's type | REPLY
# The host never needs frames this large; the bound keeps garbage without delimiters finite.
MAX_FRAME_BYTES = 1 << 20


class FrameType(IntEnum):
    PING = 0x01
    INFO = 0x02
    RUN = 0x03
    RUN_RAW = 0x04  # raw audio/text in chunks for the firmware's front end
    RUN_SEEDED = 0x05  # the device makes the input from a seed (edgetx.link.seeded)
    PING_REPLY = 0x81
    INFO_REPLY = 0x82
    RUN_REPLY = 0x83
    RUN_RAW_REPLY = 0x84
    RUN_SEEDED_REPLY = 0x85
    BOOT = 0xF0
    ERROR = 0xFF


class ErrorCode(IntEnum):
    FRAME = 1  # bad COBS, or shorter than header + CRC
    CRC = 2
    TOO_LONG = 3  # larger than the device's receive buffer
    TYPE = 4  # unknown request type
    LENGTH = 5  # payload length wrong for the request type
    RAW = 6  # the front end rejected the raw input


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""


def cobs_encode(data: bytes) -> bytes:
    out = bytearray([0])
    code_at, code = 0, 1
    for b in data:
        if b:
            out.append(b)
            code += 1
        if not b or code == 0xFF:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS block sequence (no delimiters); FrameError if a code byte overruns."""
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0:
            raise FrameError("COBS data contains a 0x00 byte")
        end = i + code
        if end > len(data):
            raise FrameError(f"COBS code byte {code} at {i} runs past the frame end")
        out += data[i + 1 : end]
        i = end
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def encode_frame(frame: Frame) -> bytes:
    body = HEADER.pack(frame.type, frame.seq) + frame.payload
    return b"\x00" + cobs_encode(body + CRC.pack(zlib.crc32(body))) + b"\x00"


def decode_frame(data: bytes) -> Frame:
    """Decode the bytes between two delimiters; FrameError if they are not a valid frame."""
    body = cobs_decode(data)
    if len(body) < OVERHEAD:
        raise FrameError(f"frame of {len(body)} bytes is shorter than header + CRC")
    (crc,) = CRC.unpack_from(body, len(body) - CRC.size)
    if zlib.crc32(body[: -CRC.size]) != crc:
        raise FrameError("frame CRC mismatch")
    frame_type, seq = HEADER.unpack_from(body)
    return Frame(frame_type, seq, body[HEADER.size : -CRC.size])


class FrameDecoder:
    """Splits a byte stream at 0x00 delimiters into frames; garbage becomes FrameError items."""

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        items: list[Frame | FrameError] = []
        for i, chunk in enumerate(data.split(b"\x00")):
            if i:  # a delimiter came before this chunk
                items += self._finish()
            if not self._overflow:
                self._buf += chunk
                if len(self._buf) > self.max_frame_bytes:
                    self._buf.clear()
                    self._overflow = True
        return items

    @property
    def pending(self) -> bytes:
        """Bytes of an unfinished frame."""
        return bytes(self._buf)

    def _finish(self) -> list[Frame | FrameError]:
        raw, overflow = bytes(self._buf), self._overflow
        self._buf.clear()
        self._overflow = False
        if overflow:
            return [FrameError(f"frame longer than {self.max_frame_bytes} bytes")]
        if not raw:
            return []
        try:
            return [decode_frame(raw)]
        except FrameError as e:
            return [e]
