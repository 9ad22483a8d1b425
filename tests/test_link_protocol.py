"""Frame layer and Link retry logic, against a fake device (no hardware, no emulator)."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgetx.link import DeviceReportedError, FrameError, Link, LinkTimeout, RunResult, client
from edgetx.link.frames import (
    SEQ_NONE,
    ErrorCode,
    Frame,
    FrameDecoder,
    FrameType,
    cobs_decode,
    cobs_encode,
    decode_frame,
    encode_frame,
)
from edgetx.link.seeded import seeded_inputs

frames = st.builds(
    Frame,
    type=st.integers(0, 255),
    seq=st.integers(0, 0xFFFF),
    payload=st.binary(max_size=600),
)


@given(st.binary(max_size=2000))
def test_cobs_round_trip_has_no_zero(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert cobs_decode(encoded) == data


def test_cobs_known_vectors() -> None:
    assert cobs_encode(b"") == b"\x01"
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(b"\x11\x00\x22") == b"\x02\x11\x02\x22"
    assert cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255)) + b"\x01"


@given(frames)
def test_frame_round_trip(frame: Frame) -> None:
    wire = encode_frame(frame)
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    assert decode_frame(wire[1:-1]) == frame


def test_frame_layout() -> None:
    body = struct.pack("<BH", 0x01, 0x1234) + b"ab"
    assert decode_frame(cobs_encode(body + struct.pack("<I", zlib.crc32(body)))) == Frame(
        0x01, 0x1234, b"ab"
    )


@given(frames, st.integers(0, 10_000), st.integers(1, 255))
def test_any_corrupted_byte_is_detected(frame: Frame, where: int, flip: int) -> None:
    raw = bytearray(encode_frame(frame)[1:-1])
    raw[where % len(raw)] ^= flip
    if 0 in raw:  # the corruption split the frame: the decoder sees two bad frames
        items = FrameDecoder().feed(b"\x00" + bytes(raw) + b"\x00")
        assert frame not in items
        return
    with pytest.raises(FrameError):
        decode_frame(bytes(raw))


def test_lying_cobs_code_byte_is_rejected() -> None:
    with pytest.raises(FrameError, match="past the frame end"):
        decode_frame(b"\x09abc")


def test_short_frame_is_rejected() -> None:
    with pytest.raises(FrameError, match="shorter"):
        decode_frame(cobs_encode(b"\x01\x02"))


@given(st.binary(max_size=300), frames, st.binary(max_size=300), st.integers(1, 64))
def test_decoder_resyncs_after_garbage(
    before: bytes, frame: Frame, after: bytes, chunk: int
) -> None:
    stream = before + encode_frame(frame) + after
    decoder = FrameDecoder()
    items = []
    for i in range(0, len(stream), chunk):
        items += decoder.feed(stream[i : i + chunk])
    assert frame in items
    assert all(isinstance(i, Frame | FrameError) for i in items)


def test_decoder_bounds_a_frame_without_delimiters() -> None:
    decoder = FrameDecoder(max_frame_bytes=64)
    assert decoder.feed(b"\x01" * 1000) == []
    assert len(decoder.pending) == 0
    [error] = decoder.feed(b"\x00")
    assert isinstance(error, FrameError) and "longer than 64" in str(error)
    good = Frame(FrameType.PING, 1, b"x")
    assert decoder.feed(encode_frame(good)) == [good]


class FakeDevice:
    """A serial port whose far end answers frames like the firmware agent.

    Every reply follows some line noise. `faults` is consumed one entry per request received:
    "drop" swallows the reply, "corrupt" flips a byte in it, "reject" answers with an
    unattributed CRC error, None answers normally.
    """

    def __init__(self, faults: list[str | None] | None = None) -> None:
        self.port = "fake://"
        self.timeout: float | None = 0
        self.faults = list(faults or [])
        self.seen: list[Frame] = []
        self._decoder = FrameDecoder()
        self._out = bytearray()

    @property
    def in_waiting(self) -> int:
        return len(self._out)

    def read(self, size: int = 1) -> bytes:
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def write(self, data: bytes) -> int:
        for item in self._decoder.feed(data):
            assert isinstance(item, Frame)
            self.seen.append(item)
            fault = self.faults.pop(0) if self.faults else None
            reply = encode_frame(self.answer(item))
            self._out += b"\x17garbage"  # line noise before every reply
            if fault == "drop":
                continue
            if fault == "corrupt":
                reply = reply[:5] + bytes([reply[5] ^ 0x40 or 1]) + reply[6:]
            if fault == "reject":
                reply = encode_frame(Frame(FrameType.ERROR, SEQ_NONE, bytes([ErrorCode.CRC])))
            self._out += reply
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def answer(self, request: Frame) -> Frame:
        if request.type == FrameType.PING:
            return Frame(FrameType.PING_REPLY, request.seq, request.payload)
        if request.type == FrameType.INFO:
            info = struct.pack("<HIIII", 1, 16, 4, 64, 25_000_000) + b"\x03abc\x03aot"
            return Frame(FrameType.INFO_REPLY, request.seq, info)
        if request.type == FrameType.RUN and len(request.payload) == 16:
            out = bytes(sum(request.payload[i::4]) & 0xFF for i in range(4))
            return Frame(FrameType.RUN_REPLY, request.seq, struct.pack("<Q", 1234) + out)
        if request.type == FrameType.RUN_SEEDED and len(request.payload) == 8:
            x = seeded_inputs(struct.unpack("<Q", request.payload), 16)[0].tobytes()
            out = bytes(sum(x[i::4]) & 0xFF for i in range(4))
            return Frame(FrameType.RUN_SEEDED_REPLY, request.seq, struct.pack("<Q", 99) + out)
        return Frame(FrameType.ERROR, request.seq, bytes([ErrorCode.LENGTH]))


def fake_link(faults: list[str | None] | None = None) -> tuple[Link, FakeDevice]:
    device = FakeDevice(faults)
    return Link(device), device  # type: ignore[arg-type]


def test_ping_info_run() -> None:
    link, _ = fake_link()
    link.sync()
    assert link.ping(b"\x00\x01\x00") == b"\x00\x01\x00"
    info = link.info()
    assert (info.board_id, info.runtime, info.input_bytes, info.output_bytes) == (
        "abc",
        "aot",
        16,
        4,
    )
    assert (info.tick_hz, info.max_payload, info.protocol_version) == (25_000_000, 64, 1)
    result = link.run(bytes(range(16)))
    assert result.ticks == 1234
    assert result.output == bytes(sum(range(i, 16, 4)) for i in range(4))


@pytest.mark.parametrize("fault", ["drop", "corrupt", "reject"])
def test_request_is_resent_with_the_same_seq(fault: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "REPLY_TIMEOUT_S", 0.05)
    link, device = fake_link([fault])
    assert link.ping(b"hi") == b"hi"
    assert [f.seq for f in device.seen] == [0, 0]


def test_sequence_numbers_advance_and_skip_stale_replies() -> None:
    link, device = fake_link()
    device._out += encode_frame(Frame(FrameType.PING_REPLY, 7, b"stale"))
    link.ping(b"a")
    link.ping(b"b")
    assert [f.seq for f in device.seen] == [0, 1]


def test_device_error_is_raised_typed() -> None:
    link, _ = fake_link()
    with pytest.raises(DeviceReportedError, match="length") as e:
        link.run(b"short")
    assert e.value.code == ErrorCode.LENGTH


def test_run_seeded_sends_only_the_seed() -> None:
    link, device = fake_link()
    result = link.run_seeded(2**64 - 1)
    assert device.seen[-1] == Frame(FrameType.RUN_SEEDED, 0, b"\xff" * 8)
    x = seeded_inputs([2**64 - 1], 16)[0].tobytes()
    assert result == RunResult(bytes(sum(x[i::4]) & 0xFF for i in range(4)), 99)
    assert result.output == link.run(x).output  # the same model input as a RUN of those bytes
    for seed in (-1, 2**64):
        with pytest.raises(ValueError, match="u64"):
            link.run_seeded(seed)
    assert len(device.seen) == 2  # a bad seed never reaches the device


def test_silence_times_out_with_partial_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "REPLY_TIMEOUT_S", 0.02)
    link, _ = fake_link(["drop", "drop", "drop"])
    with pytest.raises(LinkTimeout, match="after 3 attempts") as e:
        link.ping(b"x")
    assert e.value.partial == b"\x17garbage" * 3


def test_malformed_info_is_a_frame_error() -> None:
    link, device = fake_link()
    answer = device.answer

    def truncated(request: Frame) -> Frame:
        reply = answer(request)
        return Frame(reply.type, reply.seq, reply.payload[:20])

    device.answer = truncated  # type: ignore[method-assign]
    with pytest.raises(FrameError, match="INFO"):
        link.info()


def test_loop_url_echoes_the_request_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # loop:// returns our own PING, whose seq matches but whose type is no reply.
    monkeypatch.setattr(client, "REPLY_TIMEOUT_S", 0.05)
    with Link.open("loop://") as link, pytest.raises(FrameError, match="type 0x01"):
        link.ping(b"x")


def test_open_failure_is_a_link_error() -> None:
    with pytest.raises(client.LinkError, match="cannot open"):
        Link.open("socket://127.0.0.1:1")
