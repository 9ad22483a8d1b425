"""How the host side heals: the decoder under arbitrary bytes (hypothesis), a reset noticed by
its BOOT frame, a damaged reply resent at once, and the session repeating a sample after a
reset. A scripted fake port stands in for the device; tests/test_fault_injection.py does the
same against real firmware in QEMU."""

from __future__ import annotations

import contextlib
import struct
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgetx.errors import DeviceError
from edgetx.hil.session import RECOVERIES_PER_SAMPLE, Session
from edgetx.link import DeviceInfo, DeviceReset, FrameError, Link, RunResult
from edgetx.link.frames import SEQ_NONE, Frame, FrameDecoder, FrameType, decode_frame, encode_frame

INFO = struct.pack("<HIIII", 1, 4, 2, 64, 25_000_000) + b"\x03abc\x03aot"
BOOT = encode_frame(Frame(FrameType.BOOT, SEQ_NONE, INFO))


@given(st.binary(max_size=3000))
def test_decode_frame_raises_only_frame_error(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        decode_frame(data)


@given(st.lists(st.binary(max_size=400), max_size=20), st.integers(1, 2000))
def test_decoder_never_raises_and_yields_only_typed_items(chunks: list[bytes], limit: int) -> None:
    decoder = FrameDecoder(max_frame_bytes=limit)
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert isinstance(item, Frame | FrameError)
            if isinstance(item, Frame):
                assert len(item.payload) <= limit
        assert len(decoder.pending) <= limit


@given(st.binary(max_size=500), st.binary(max_size=200))
def test_a_frame_after_any_garbage_is_received(garbage: bytes, payload: bytes) -> None:
    frame = Frame(FrameType.RUN_REPLY, 5, payload)
    decoder = FrameDecoder()
    decoder.feed(garbage)
    assert decoder.feed(encode_frame(frame))[-1] == frame


class ScriptedPort:
    """A serial port whose device answers each request with the next scripted behaviour:
    a callable from the request to the bytes to send back."""

    def __init__(self, script: list) -> None:
        self.port = "scripted://"
        self.timeout: float | None = 0
        self.script = list(script)
        self.requests: list[Frame] = []
        self._decoder = FrameDecoder()
        self._out = bytearray()

    @property
    def in_waiting(self) -> int:
        return len(self._out)

    def read(self, size: int = 1) -> bytes:
        if not self._out:
            raise AssertionError("the host waited for a timeout instead of resending")
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def write(self, data: bytes) -> int:
        for item in self._decoder.feed(data):
            assert isinstance(item, Frame)
            self.requests.append(item)
            self._out += self.script.pop(0)(item)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def reply(request: Frame) -> bytes:
    if request.type == FrameType.PING:
        return encode_frame(Frame(FrameType.PING_REPLY, request.seq, request.payload))
    if request.type == FrameType.INFO:
        return encode_frame(Frame(FrameType.INFO_REPLY, request.seq, INFO))
    out = bytes([request.payload[0], request.payload[1]])
    return encode_frame(Frame(FrameType.RUN_REPLY, request.seq, struct.pack("<Q", 9) + out))


def damaged(request: Frame) -> bytes:
    wire = bytearray(reply(request))
    wire[4] = (wire[4] ^ 0x10) or 0x20  # damaged, yet no 0x00 that would split the frame
    return bytes(wire)


def reset(request: Frame) -> bytes:
    return BOOT  # the device restarted; this request is lost


def test_a_damaged_reply_is_resent_at_once() -> None:
    port = ScriptedPort([damaged, reply])
    link = Link(port)  # type: ignore[arg-type]
    assert link.run(b"\x01\x02\x03\x04").output == b"\x01\x02"
    assert [f.seq for f in port.requests] == [0, 0]  # the same request, answered from cache


def test_boot_while_waiting_raises_device_reset() -> None:
    link = Link(ScriptedPort([reset]))  # type: ignore[arg-type]
    with pytest.raises(DeviceReset, match="reset while a request was outstanding") as e:
        link.run(b"\x01\x02\x03\x04")
    assert DeviceInfo.from_payload(e.value.boot).board_id == "abc"


def test_sync_skips_a_boot_frame() -> None:
    port = ScriptedPort([lambda r: BOOT + reply(r)])
    Link(port).sync()  # type: ignore[arg-type]


def check(info: DeviceInfo) -> None:
    assert info.board_id == "abc"


def run_session(script: list, samples: list[bytes]) -> tuple[list, Session, ScriptedPort]:
    port = ScriptedPort(script)
    session = Session(Link(port), check, Link.run)  # type: ignore[arg-type]
    results: list[tuple[int, RunResult]] = []
    session.measure(
        list(enumerate(samples)), lambda i, r: results.append((i, r)), threading.Event()
    )
    return results, session, port


def test_session_repeats_the_sample_in_flight_after_a_reset() -> None:
    # sync (PING, PING, INFO), sample 0, then a reset during sample 1: re-sync, repeat it.
    script = [reply, reply, reply, reply, reset, reply, reply, reply]
    results, session, port = run_session(script, [b"\x00\x01zz", b"\x02\x03zz", b"\x04\x05zz"])
    assert [(i, r.output) for i, r in results] == [
        (0, b"\x00\x01"),
        (1, b"\x02\x03"),
        (2, b"\x04\x05"),
    ]
    assert (session.stats.resets, session.stats.resyncs) == (1, 1)
    kinds = [FrameType(f.type).name for f in port.requests]
    assert kinds == ["PING", "PING", "INFO", "RUN", "RUN", "PING", "RUN", "RUN"]


def test_session_gives_up_on_a_device_that_keeps_resetting() -> None:
    script = [reply, reply, reply] + [reset, reply] * RECOVERIES_PER_SAMPLE + [reset]
    with pytest.raises(DeviceError, match=f"did not recover after {RECOVERIES_PER_SAMPLE}"):
        run_session(script, [b"\x00\x01zz"])
