"""Render, build and boot the cortex-m firmware in QEMU with a stand-in model, over the link."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetx import proc
from edgetx.boards import Board, load_board
from edgetx.build import build
from edgetx.codegen import BuildError, build_firmware, render_project
from edgetx.errors import DeviceError, ToolMissing, UserError
from edgetx.flash import QemuRunner
from edgetx.link import DeviceReportedError, Link
from edgetx.link.frames import ErrorCode, FrameType
from edgetx.link.seeded import SEED_MAX, seeded_inputs

ECHO_MODEL = Path(__file__).parent / "fixtures" / "echo_model"
INPUT_BYTES, OUTPUT_BYTES = 1280, 8
# Stack the agent must leave unused at its deepest: an FPU exception frame (104 bytes) taken
# there, and room for kernels to grow.
STACK_MARGIN = 256
STACK_PAINT = 0xA5
# RAM the agent may take besides the model's arena, the stack and its receive buffer
# (max_payload): frame header, CRC and alignment, the kept reply, the output, the tick counter.
AGENT_RAM_BYTES = 128
needs_toolchain = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm",
)


def echo_model(data: bytes) -> bytes:
    """Python twin of tests/fixtures/echo_model/echo_model.c."""
    signed = [b - 256 if b > 127 else b for b in data]
    sums = [sum(signed[i::OUTPUT_BYTES]) >> 4 for i in range(OUTPUT_BYTES)]
    return bytes(max(-128, min(127, s)) & 0xFF for s in sums)


@pytest.fixture(scope="module")
def board() -> Board:
    return load_board("qemu-mps2-an386")


@pytest.fixture(scope="module")
def elf(board: Board, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_firmware(render_project(board, ECHO_MODEL, tmp_path_factory.mktemp("fw") / "fw"))


@pytest.fixture(scope="module")
def link(board: Board, elf: Path) -> Iterator[Link]:
    with QemuRunner.from_board(board) as qemu, Link.open(qemu.start(elf)) as link:
        link.sync()
        yield link


@pytest.mark.qemu
@needs_toolchain
def test_info(link: Link, board: Board) -> None:
    info = link.info()
    assert info.protocol_version == 1
    assert info.board_id == board.id
    assert info.runtime == "echo"
    assert (info.input_bytes, info.output_bytes) == (INPUT_BYTES, OUTPUT_BYTES)
    assert info.tick_hz == board.timer.clock_hz
    assert info.max_payload == INPUT_BYTES


@pytest.mark.qemu
@needs_toolchain
@pytest.mark.parametrize("payload", [b"", b"\x00", b"hello\x00\x00world", bytes(range(256)) * 5])
def test_ping(link: Link, payload: bytes) -> None:
    assert link.ping(payload) == payload


@pytest.mark.qemu
@needs_toolchain
def test_run_matches_python(link: Link) -> None:
    rng = random.Random(2024)
    for _ in range(50):
        data = rng.randbytes(INPUT_BYTES)
        result = link.run(data)
        assert result.output == echo_model(data)
        assert result.ticks > 0


@pytest.mark.qemu
@needs_toolchain
def test_run_ticks_repeat_exactly_under_icount(link: Link) -> None:
    data = bytes(INPUT_BYTES)
    assert link.run(data).ticks == link.run(data).ticks


@pytest.mark.qemu
@needs_toolchain
def test_wrong_input_length_is_reported(link: Link) -> None:
    with pytest.raises(DeviceReportedError) as e:
        link.run(bytes(10))
    assert e.value.code == ErrorCode.LENGTH


@pytest.mark.qemu
@needs_toolchain
def test_run_seeded_runs_the_input_the_host_computes(link: Link) -> None:
    rng = random.Random(5)
    seeds = [0, 1, 1234567, SEED_MAX, *(rng.randrange(SEED_MAX + 1) for _ in range(20))]
    for seed, x in zip(seeds, seeded_inputs(seeds, INPUT_BYTES), strict=True):
        seeded, sent = link.run_seeded(seed), link.run(x.tobytes())
        assert seeded.output == sent.output == echo_model(x.tobytes())
        assert seeded.ticks == sent.ticks  # the generation is not timed
    with pytest.raises(DeviceReportedError) as e:
        link._request(FrameType.RUN_SEEDED, bytes(7), 1.0)  # a seed is 8 bytes
    assert e.value.code == ErrorCode.LENGTH


@pytest.mark.qemu
@needs_toolchain
def test_garbage_on_the_line_then_resync(link: Link) -> None:
    link.port.write(b"\x01\x02\xff" * 100 + b"\x00\x07junk\x00")
    assert link.ping(b"after") == b"after"


@pytest.mark.qemu
@needs_toolchain
def test_throughput(link: Link) -> None:
    data = bytes(INPUT_BYTES)
    count = 30
    start = time.perf_counter()
    for _ in range(count):
        link.run(data)
    rate = count / (time.perf_counter() - start)
    print(f"RUN round trips with {INPUT_BYTES}-byte input: {rate:.1f}/s")
    assert rate > 5


@pytest.mark.qemu
@needs_toolchain
def test_qemu_that_dies_at_start_reports_its_stderr(elf: Path) -> None:
    with pytest.raises(DeviceError, match="unsupported machine type"):
        QemuRunner("no-such-machine").start(elf)


def test_qemu_argv() -> None:
    assert QemuRunner("mps2-an386").argv(Path("/fw/firmware.elf"), 4321) == [
        "qemu-system-arm",
        "-machine", "mps2-an386",
        "-nographic",
        "-monitor", "none",
        "-kernel", "/fw/firmware.elf",
        "-icount", "shift=0,align=off,sleep=off",
        "-serial", "tcp:127.0.0.1:4321,server=on,wait=on,nodelay=on",
    ]  # fmt: skip


def test_missing_toolchain_raises_tool_missing(
    board: Board, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fw = render_project(board, ECHO_MODEL, tmp_path / "fw")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    make = shutil.which("make")
    if make is not None:
        os.symlink(make, bin_dir / "make")
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(ToolMissing, match=r"arm-none-eabi-gcc.*apt-get install gcc-arm-none-eabi"):
        build_firmware(fw)


@needs_toolchain
def test_compile_error_is_reported(board: Board, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(ECHO_MODEL, model)
    (model / "broken.c").write_text("int broken(void) { return missing_name; }\n")
    fw = render_project(board, model, tmp_path / "fw")
    with pytest.raises(BuildError, match="missing_name"):
        build_firmware(fw)


def test_render_is_atomic(board: Board, tmp_path: Path) -> None:
    out = tmp_path / "fw"
    render_project(board, ECHO_MODEL, out)
    (out / "marker").write_text("first render")
    with pytest.raises(UserError, match=r"edgetx_model\.h"):
        render_project(board, tmp_path / "no-model", out)
    assert (out / "marker").read_text() == "first render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fw"]
    render_project(board, ECHO_MODEL, out)
    assert not (out / "marker").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fw"]
    assert (out / "linker.ld").read_text().count("@") == 0


class _QmpQemu(QemuRunner):
    """QEMU with a QMP socket, to read the guest's memory after a session."""

    def __init__(self, machine: str, qmp: Path) -> None:
        super().__init__(machine)
        self.qmp = qmp

    def argv(self, elf: Path, port: int) -> list[str]:
        return [*super().argv(elf, port), "-qmp", f"unix:{self.qmp},server=on,wait=off"]

    def read_memory(self, address: int, size: int, into: Path) -> bytes:
        with socket.socket(socket.AF_UNIX) as sock, sock.makefile("rw") as qmp:
            sock.connect(str(self.qmp))
            qmp.readline()  # greeting
            save = {"val": address, "size": size, "filename": str(into)}
            for command in (
                {"execute": "qmp_capabilities"},
                {"execute": "memsave", "arguments": save},
            ):
                qmp.write(json.dumps(command) + "\n")
                qmp.flush()
                while "return" not in (reply := json.loads(qmp.readline())):
                    assert "error" not in reply, reply
        return into.read_bytes()


@pytest.mark.qemu
@needs_toolchain
def test_stack_and_agent_ram_leave_their_margins(
    converted: Path, board: Board, tmp_path: Path
) -> None:
    """Paint the reserved stack, run the deepest requests on a real AOT model, read the
    high-water mark back: linker.ld's reservation must keep STACK_MARGIN bytes unused."""
    built = build(converted / "model", board.id, tmp_path / "fw")
    symbols = proc.run(["arm-none-eabi-nm", built.elf]).stdout.split()
    reserved = int(symbols[symbols.index("_estack") - 2], 16) - board.ram.origin
    (tmp_path / "paint.bin").write_bytes(bytes([STACK_PAINT]) * reserved)
    painted = tmp_path / "painted.elf"
    proc.run([
        "arm-none-eabi-objcopy", "--set-section-flags", ".stack=alloc,load,contents",
        "--update-section", f".stack={tmp_path / 'paint.bin'}", built.elf, painted,
    ])  # fmt: skip
    qemu = _QmpQemu(board.qemu.machine, tmp_path / "qmp.sock")
    with qemu, Link.open(qemu.start(painted)) as link:
        link.sync()
        info = link.info()
        link.ping(random.Random(1).randbytes(info.max_payload))
        link.run_seeded(1)
        link.run(bytes(info.input_bytes))
        stack = qemu.read_memory(board.ram.origin, reserved, tmp_path / "stack.bin")
    used = reserved - next(i for i, b in enumerate(stack) if b != STACK_PAINT)
    assert used > STACK_MARGIN  # the model's kernels ran on the painted stack
    assert used + STACK_MARGIN <= reserved, f"stack: {used} of {reserved} bytes used"
    link_ram = built.ram_bytes - built.arena_bytes - reserved - info.max_payload
    assert link_ram <= AGENT_RAM_BYTES


@pytest.mark.qemu
@needs_toolchain
def test_static_constructors_run_before_main(board: Board, tmp_path: Path) -> None:
    """The start-up code runs .init_array, as a tflm app's C++ globals need."""
    model = tmp_path / "model"
    shutil.copytree(ECHO_MODEL, model)
    (model / "echo_model.c").write_text(
        '#include "edgetx_model.h"\n'
        "static int8_t constructed;\n"
        "__attribute__((constructor)) static void construct(void) { constructed = 42; }\n"
        "void edgetx_model_invoke(const int8_t *input, int8_t *output)\n"
        "{\n"
        "    (void)input;\n"
        "    for (int i = 0; i < EDGETX_MODEL_OUTPUT_BYTES; i++)\n"
        "        output[i] = constructed;\n"
        "}\n"
    )
    elf = build_firmware(render_project(board, model, tmp_path / "fw"))
    with QemuRunner.from_board(board) as qemu, Link.open(qemu.start(elf)) as link:
        link.sync()
        assert link.run(bytes(INPUT_BYTES)).output == bytes([42] * OUTPUT_BYTES)
