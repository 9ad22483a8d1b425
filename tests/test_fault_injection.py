"""The link heals: real firmware in QEMU behind a TCP proxy that drops, corrupts and duplicates
bytes in both directions, and a device reset mid-run. Every sample must be measured exactly
once, with the same results as over a clean link.

The firmware is the echo stand-in model with a 16-byte input: with 1% of bytes faulted, a
frame of n bytes arrives intact with probability 0.99^n, so the 1,300-byte RUN frame of the
audio model would almost never pass (0.99^1300 is about 2e-6). Surviving such a line with large
inputs needs chunked transfers, which protocol v1 does not have.
"""

from __future__ import annotations

import random
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetx.boards import Board, load_board
from edgetx.codegen import build_firmware, render_project
from edgetx.flash import QemuRunner
from edgetx.hil.session import Session
from edgetx.link import DeviceInfo, Link, RunResult, client
from edgetx.link.frames import Frame, FrameDecoder, FrameType

pytestmark = [
    pytest.mark.qemu,
    pytest.mark.skipif(
        shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
        reason="needs arm-none-eabi-gcc and qemu-system-arm",
    ),
]

ECHO_MODEL = Path(__file__).parent / "fixtures" / "echo_model"
INPUT_BYTES, OUTPUT_BYTES = 16, 8
SAMPLES = 300
RESET_AT = 150
FAULT_RATE = 0.01  # of bytes, each way; a fault drops, corrupts or duplicates its byte


def echo_model(data: bytes) -> bytes:
    """Python twin of tests/fixtures/echo_model/echo_model.c."""
    signed = [b - 256 if b > 127 else b for b in data]
    sums = [sum(signed[i::OUTPUT_BYTES]) >> 4 for i in range(OUTPUT_BYTES)]
    return bytes(max(-128, min(127, s)) & 0xFF for s in sums)


class ResettableQemu(QemuRunner):
    """QemuRunner with its monitor on a Unix socket, so the test can press reset."""

    def __init__(self, machine: str, monitor: Path) -> None:
        super().__init__(machine)
        self.monitor = monitor

    def argv(self, elf: Path, port: int) -> list[str]:
        argv = super().argv(elf, port)
        at = argv.index("-monitor") + 1
        argv[at] = f"unix:{self.monitor},server=on,wait=off"
        return argv

    def reset(self) -> None:
        """system_reset: the guest restarts from its ELF and loses all RAM state."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.monitor))
            s.sendall(b"system_reset\n")
            s.settimeout(5)
            seen = b""
            while b"system_reset" not in seen:  # the monitor echoes the command once run
                seen += s.recv(4096)


class FaultyProxy:
    """TCP proxy to `upstream` that faults a `rate` fraction of the bytes each way (drops,
    corrupts or duplicates each, equally likely), with seeded randomness.

    `raw_from_device` keeps what the device sent before faults, to count its BOOT frames.
    """

    def __init__(self, upstream: tuple[str, int], rate: float, seed: int) -> None:
        self.upstream = upstream
        self.rate = rate
        self.seed = seed
        self.faults = {d: {"drop": 0, "corrupt": 0, "duplicate": 0} for d in ("up", "down")}
        self.raw_from_device = bytearray()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        host, _ = self._server.accept()
        device = socket.create_connection(self.upstream)
        for s in (host, device):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socks = [host, device]
        for src, dst, name, seed in (
            (host, device, "up", self.seed),
            (device, host, "down", ~self.seed),
        ):
            t = threading.Thread(target=self._pump, args=(src, dst, name, seed), daemon=True)
            t.start()
            self._threads.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket, name: str, seed: int) -> None:
        rng = random.Random(seed)
        counts = self.faults[name]
        while True:
            try:
                data = src.recv(4096)
            except OSError:
                return
            if not data:
                return
            if name == "down":
                self.raw_from_device += data
            out = bytearray()
            for b in data:
                if rng.random() >= self.rate:
                    out.append(b)
                    continue
                kind = rng.choice(("drop", "corrupt", "duplicate"))
                counts[kind] += 1
                if kind == "corrupt":
                    out.append(b ^ rng.randrange(1, 256))
                elif kind == "duplicate":
                    out += bytes([b, b])
            try:
                dst.sendall(out)
            except OSError:
                return

    def close(self) -> None:
        self._server.close()
        for s in self._socks:
            s.close()


@pytest.fixture(scope="module")
def board() -> Board:
    return load_board("qemu-mps2-an386")


@pytest.fixture(scope="module")
def elf(board: Board, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tmp_path_factory.mktemp("model")
    shutil.copy(ECHO_MODEL / "echo_model.c", model)
    header = (ECHO_MODEL / "edgetx_model.h").read_text()
    header = header.replace("INPUT_BYTES 1280", f"INPUT_BYTES {INPUT_BYTES}")
    assert f"INPUT_BYTES {INPUT_BYTES}" in header
    (model / "edgetx_model.h").write_text(header)
    return build_firmware(render_project(board, model, tmp_path_factory.mktemp("fw") / "fw"))


@pytest.fixture()
def sockdir() -> Iterator[Path]:
    """A short directory for Unix sockets (their paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="etx-"))
    yield path
    shutil.rmtree(path)


@pytest.fixture()
def qemu(board: Board, elf: Path, sockdir: Path) -> Iterator[tuple[ResettableQemu, str]]:
    assert board.qemu is not None
    with ResettableQemu(board.qemu.machine, sockdir / "monitor.sock") as q:
        yield q, q.start(elf)


def inputs() -> list[tuple[int, bytes]]:
    rng = random.Random(7)
    return [(i, rng.randbytes(INPUT_BYTES)) for i in range(SAMPLES)]


def check(info: DeviceInfo) -> None:
    assert (info.input_bytes, info.output_bytes) == (INPUT_BYTES, OUTPUT_BYTES)


def measure(url: str, reset: ResettableQemu | None = None) -> tuple[list, Session]:
    """(index, result) in arrival order; with `reset`, the device is reset as sample RESET_AT
    is requested, so that request is in flight while the device restarts."""
    results: list[tuple[int, RunResult]] = []
    pending_reset = [reset]

    def run(link: Link, payload: bytes) -> RunResult:
        if len(results) == RESET_AT and (runner := pending_reset.pop() if pending_reset else None):
            runner.reset()
        return link.run(payload)

    with Link.open(url) as link:
        session = Session(link, check, run)
        session.measure(inputs(), lambda i, r: results.append((i, r)), threading.Event())
    return results, session


def boot_frames(raw: bytes) -> int:
    items = FrameDecoder().feed(bytes(raw))
    return sum(isinstance(f, Frame) and f.type == FrameType.BOOT for f in items)


def test_reset_mid_run_is_noticed_and_the_sample_rerun(qemu: tuple[ResettableQemu, str]) -> None:
    runner, url = qemu
    results, session = measure(url, reset=runner)
    assert [i for i, _ in results] == list(range(SAMPLES))
    assert session.stats.resets == 1  # a clean line: the BOOT frame always arrives
    for (i, r), (_, x) in zip(results, inputs(), strict=True):
        assert r.output == echo_model(x), i


def test_faulty_line_and_reset_give_the_clean_results(
    qemu: tuple[ResettableQemu, str],
    board: Board,
    elf: Path,
    sockdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, clean_url = qemu
    clean, _ = measure(clean_url)

    # The echo model answers in microseconds: a short RUN timeout keeps lost frames cheap.
    monkeypatch.setattr(client, "RUN_TIMEOUT_S", 0.3)
    assert board.qemu is not None
    with ResettableQemu(board.qemu.machine, sockdir / "faulty.sock") as runner:
        host, port = runner.start(elf).removeprefix("socket://").split(":")
        proxy = FaultyProxy((host, int(port)), FAULT_RATE, seed=1234)
        try:
            faulty, session = measure(proxy.url, reset=runner)
        finally:
            proxy.close()

    # Exactly once, in order, and equal to the clean run and to the Python twin.
    assert [i for i, _ in faulty] == list(range(SAMPLES))
    for (i, a), (_, b), (_, x) in zip(faulty, clean, inputs(), strict=True):
        assert a.output == b.output == echo_model(x), i
        assert a.ticks == b.ticks, (i, a.ticks, b.ticks)  # -icount: same work, same count
    assert boot_frames(proxy.raw_from_device) == 2  # the device really restarted once
    assert session.stats.resets <= 1  # its BOOT frame may itself be damaged on the way
    assert session.stats.resyncs >= session.stats.resets
    for direction, counts in proxy.faults.items():
        assert all(n > 0 for n in counts.values()), (direction, counts)
    print(f"faults injected: {proxy.faults}; link: {session.stats}")
