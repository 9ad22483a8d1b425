"""Render, build and boot the cortex-m firmware in QEMU with a stand-in model, over the link."""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetx.boards import Board, load_board
from edgetx.codegen import BuildError, build_firmware, render_project
from edgetx.errors import DeviceError, ToolMissing, UserError
from edgetx.flash import QemuRunner
from edgetx.link import DeviceReportedError, Link
from edgetx.link.frames import ErrorCode, FrameType
from edgetx.link.seeded import SEED_MAX, seeded_inputs

ECHO_MODEL = Path(__file__).parent / "fixtures" / "echo_model"
INPUT_BYTES, OUTPUT_BYTES = 1280, 8
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
