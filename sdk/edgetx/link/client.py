"""Host side of the edgetx serial protocol: requests with retries over any pyserial URL.

Works the same over `socket://` (QEMU), a device path such as /dev/ttyACM0, and `loop://`.
A request is resent with the same sequence number until its reply arrives; the device answers
a repeated request from its reply cache instead of running it again (docs/protocol.md). A BOOT
frame while a request is outstanding means the device reset and lost it: DeviceReset, so the
caller re-syncs and repeats its work (the reply cache did not survive the reset).
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType

import serial

from edgetx.link.errors import (
    DeviceReportedError,
    DeviceReset,
    FrameError,
    LinkError,
    LinkTimeout,
)
from edgetx.link.frames import (
    PROTOCOL_VERSION,
    REPLY,
    SEQ_NONE,
    ErrorCode,
    Frame,
    FrameDecoder,
    FrameType,
    encode_frame,
)
from edgetx.link.seeded import SEED_MAX

DEFAULT_BAUD = 115_200
# Timeouts per attempt, in seconds; a request's allowance adds the wire time of its bytes.
REPLY_TIMEOUT_S = 0.5  # a healthy device answers PING and INFO well within this
RUN_TIMEOUT_S = 5.0  # one inference; a transformer on a slow core takes about a second
SYNC_TIMEOUT_S = 0.25  # short, so sync retries quickly while the device boots
WIRE_MARGIN = 4  # times the nominal wire time at the link's baud (10 bits per byte)
ATTEMPTS = 3  # sends of one request before giving up
SYNC_ATTEMPTS = 20
# The port's read timeout, set once: each change of it renegotiates an RFC 2217 port (stock
# pyserial), which made every request about 20 times slower through ser2net.
READ_POLL_S = 0.02

INFO_FIXED = struct.Struct("<HIIII")  # version, input, output, max payload, tick Hz
TICKS = struct.Struct("<Q")
RAW_TICKS = struct.Struct("<QQ")  # model ticks, front end ticks
RAW_BEGIN, RAW_END = 1, 2  # RUN_RAW flags
SEED = struct.Struct("<Q")


@dataclass(frozen=True)
class DeviceInfo:
    protocol_version: int
    board_id: str
    runtime: str
    input_bytes: int
    output_bytes: int
    tick_hz: int
    max_payload: int

    @classmethod
    def from_payload(cls, payload: bytes) -> DeviceInfo:
        try:
            version, n_in, n_out, max_payload, tick_hz = INFO_FIXED.unpack_from(payload)
            strings, rest = [], payload[INFO_FIXED.size :]
            for _ in range(2):
                n = rest[0]
                if len(rest) < 1 + n:
                    raise FrameError(f"INFO string of {n} bytes runs past the payload")
                strings.append(rest[1 : 1 + n].decode("ascii"))
                rest = rest[1 + n :]
        except (struct.error, IndexError, UnicodeDecodeError) as e:
            raise FrameError(f"malformed INFO payload {payload.hex()}: {e}") from None
        return cls(version, strings[0], strings[1], n_in, n_out, tick_hz, max_payload)


@dataclass(frozen=True)
class RunResult:
    output: bytes
    ticks: int  # device timer ticks spent in the model call; DeviceInfo.tick_hz per second
    frontend_ticks: int | None = None  # RUN_RAW: ticks spent in the device's front end


class Link:
    """A request/reply session with one device."""

    def __init__(self, port: serial.SerialBase, baud: int = DEFAULT_BAUD) -> None:
        self.port = port
        self.port.timeout = READ_POLL_S
        self.baud = baud
        self._decoder = FrameDecoder()
        self._pending: deque[Frame] = deque()
        self._seq = 0
        self._received = bytearray()  # during the current request, for LinkTimeout
        self._rejection = ""
        self._raw_chunk: int | None = None  # RUN_RAW data bytes per frame, from INFO

    @classmethod
    def open(cls, url: str, baud: int = DEFAULT_BAUD) -> Link:
        try:
            port = serial.serial_for_url(url, baudrate=baud, timeout=0)
        except (serial.SerialException, OSError, ValueError) as e:
            raise LinkError(f"cannot open serial link {url}: {e}") from None
        sock = getattr(port, "_socket", None)  # socket:// only
        if sock is not None:
            # Without it Nagle holds every small frame for about 40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(port, baud)

    def __enter__(self) -> Link:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.port.close()

    def sync(self, attempts: int = SYNC_ATTEMPTS) -> None:
        """PING until a clean reply: skips a boot frame and any stale bytes on the line."""
        token = os.urandom(8)
        try:
            # A BOOT frame is expected here: the device may just have started.
            reply = self._request(FrameType.PING, token, SYNC_TIMEOUT_S, attempts, boot_ok=True)
        except LinkTimeout as e:
            raise LinkTimeout(
                f"no reply to {attempts} PINGs on {self.port.port}: check that the firmware "
                f"booted and that the URL and baud rate ({self.baud}) are right",
                e.partial,
            ) from None
        if reply.payload != token:
            raise FrameError("PING reply does not echo its payload")

    def ping(self, payload: bytes = b"") -> bytes:
        timeout = REPLY_TIMEOUT_S + self._wire_seconds(2 * len(payload))
        reply = self._request(FrameType.PING, payload, timeout)
        if reply.payload != payload:
            raise FrameError("PING reply does not echo its payload")
        return reply.payload

    def info(self) -> DeviceInfo:
        info = DeviceInfo.from_payload(self._request(FrameType.INFO, b"", REPLY_TIMEOUT_S).payload)
        if info.protocol_version != PROTOCOL_VERSION:
            raise LinkError(
                f"device speaks protocol v{info.protocol_version}, this host "
                f"v{PROTOCOL_VERSION}: rebuild the firmware with this edgetx"
            )
        return info

    def run(self, data: bytes) -> RunResult:
        """Run the model on one int8 input tensor."""
        return self._run(FrameType.RUN, data)

    def run_seeded(self, seed: int) -> RunResult:
        """Run the model on the input the device makes from seed, a u64; the host makes the
        same bytes with edgetx.link.seeded.seeded_inputs. Only the output crosses the link."""
        if not 0 <= seed <= SEED_MAX:
            raise ValueError(f"RUN_SEEDED takes a u64 seed (0..{SEED_MAX}), not {seed}")
        return self._run(FrameType.RUN_SEEDED, SEED.pack(seed))

    def run_raw(self, data: bytes) -> RunResult:
        """Run the firmware's front end (edgetx build --frontend) and then the model on raw
        input, int16 LE PCM or UTF-8 text, sent in chunks that fit the device's max_payload."""
        if self._raw_chunk is None:
            self._raw_chunk = (self.info().max_payload - 1) & ~1  # even: PCM samples stay whole
        step = self._raw_chunk
        chunks = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
        for k, chunk in enumerate(chunks):
            flags = (RAW_BEGIN if k == 0 else 0) | (RAW_END if k == len(chunks) - 1 else 0)
            timeout = RUN_TIMEOUT_S + self._wire_seconds(len(chunk) + 64)
            payload = self._request(FrameType.RUN_RAW, bytes([flags, *chunk]), timeout).payload
        if len(payload) < RAW_TICKS.size:
            raise FrameError(f"RUN_RAW reply of {len(payload)} bytes has no tick counts")
        ticks, frontend_ticks = RAW_TICKS.unpack_from(payload)
        return RunResult(payload[RAW_TICKS.size :], ticks, frontend_ticks)

    def _run(self, frame_type: FrameType, data: bytes) -> RunResult:
        timeout = RUN_TIMEOUT_S + self._wire_seconds(len(data) + 64)
        payload = self._request(frame_type, data, timeout).payload
        if len(payload) < TICKS.size:
            raise FrameError(f"{frame_type.name} reply of {len(payload)} bytes has no tick count")
        return RunResult(output=payload[TICKS.size :], ticks=TICKS.unpack_from(payload)[0])

    def _wire_seconds(self, nbytes: int) -> float:
        return WIRE_MARGIN * nbytes * 10 / self.baud

    def _request(
        self,
        frame_type: FrameType,
        payload: bytes,
        timeout: float,
        attempts: int = ATTEMPTS,
        *,
        boot_ok: bool = False,
    ) -> Frame:
        request = Frame(frame_type, self._seq, payload)
        self._seq = (self._seq + 1) % SEQ_NONE
        wire = encode_frame(request)
        self._received.clear()
        self._rejection = ""
        for _ in range(attempts):
            self._write(wire)
            reply = self._await(request.seq, timeout, boot_ok)
            if reply is None:
                continue
            if reply.type == FrameType.ERROR:
                code = reply.payload[0] if reply.payload else 0
                raise DeviceReportedError(code, _error_name(code))
            if reply.type != frame_type | REPLY:
                raise FrameError(f"reply to {frame_type.name} has type 0x{reply.type:02x}")
            return reply
        why = f"; the device reported {self._rejection}" if self._rejection else ""
        raise LinkTimeout(
            f"no reply to {frame_type.name} after {attempts} attempts of {timeout:.2f} s{why}",
            bytes(self._received),
        )

    def _await(self, seq: int, timeout: float, boot_ok: bool) -> Frame | None:
        """The reply to seq, or None when it is time to resend: on timeout, when the device
        reported a frame it could not attribute (it may have been our request), or when we
        received a damaged frame (it may have been our reply; the device resends it from its
        cache, so resending costs a round trip instead of a whole timeout)."""
        deadline = time.monotonic() + timeout
        damaged = False
        while True:
            while self._pending:
                frame = self._pending.popleft()
                if frame.seq == seq:
                    return frame
                if frame.type == FrameType.ERROR and frame.seq == SEQ_NONE:
                    self._rejection = _error_name(frame.payload[0] if frame.payload else 0)
                    return None
                if frame.type == FrameType.BOOT and not boot_ok:
                    raise DeviceReset(
                        f"device on {self.port.port} reset while a request was outstanding",
                        frame.payload,
                    )
                # Otherwise a stale reply to an earlier attempt: skip it.
            if damaged:
                return None
            if time.monotonic() >= deadline:
                return None
            data = self._read()
            self._received += data
            for item in self._decoder.feed(data):
                if isinstance(item, Frame):
                    self._pending.append(item)
                else:
                    damaged = True

    def _read(self) -> bytes:
        """What has arrived, waiting at most READ_POLL_S for the first byte."""
        try:
            return self.port.read(max(1, self.port.in_waiting))
        except serial.SerialException as e:
            raise LinkError(f"serial link {self.port.port} failed: {e}") from None

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except serial.SerialException as e:
            raise LinkError(f"serial link {self.port.port} failed: {e}") from None


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name.lower()
    except ValueError:
        return f"unknown error {code}"
