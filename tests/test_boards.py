"""Board manifests (the typed loader is the schema), firmware builds for every ARM board, and
HIL on the three emulated boards through real QEMU and pyserial."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgetx.boards import ManifestError, all_boards, load_board, load_board_file
from edgetx.build import build
from edgetx.cli import main
from edgetx.elf import elf_sizes
from edgetx.errors import UserError
from edgetx.paths import BOARDS_DIR

ISSUE_BOARDS = {
    "nucleo-f446re", "nucleo-f746zg", "nucleo-h743zi2", "b-l475e-iot01a", "esp32-devkitc",
    "esp32-s3-devkitc-1", "qemu-mps2-an386", "qemu-mps2-an505", "qemu-netduinoplus2",
}  # fmt: skip
ARM_BOARDS = sorted(b.id for b in all_boards() if b.template == "cortex-m")
QEMU_BOARDS = sorted(b.id for b in all_boards() if b.emulated)


def test_every_manifest_is_valid() -> None:
    boards = all_boards()
    assert {b.id for b in boards} >= ISSUE_BOARDS
    for b in boards:
        assert b.flash.size_bytes > 0 and b.ram.size_bytes > 0
        assert b.default_runner in b.runners and set(b.settings) == set(b.runners)
        assert b.emulated == (b.runners == ("qemu",))
        assert b.emulated or b.usb, f"{b.id}: a real board needs USB ids for port discovery"


def test_boards_lists_every_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for board_id in ISSUE_BOARDS:
        assert re.search(rf"^{board_id} ", out, re.M), board_id
    assert "usb 0483:374e" in out and "qemu mps2-an505" in out


def test_datasheet_facts() -> None:
    an386, an505 = load_board("qemu-mps2-an386"), load_board("qemu-mps2-an505")
    assert (an386.flash.origin, an386.ram.origin, an386.console.base_address) == (
        0, 0x2000_0000, 0x4000_4000,
    )  # fmt: skip
    # AN505 boots Secure: code and data at the Secure aliases, UART0 at its Secure address.
    assert (an505.flash.origin, an505.ram.origin, an505.console.base_address) == (
        0x1000_0000, 0x3800_0000, 0x5020_0000,
    )  # fmt: skip
    assert an505.mcu.core == "cortex-m33" and an505.timer.clock_hz == 20_000_000
    netduino = load_board("qemu-netduinoplus2")
    assert netduino.console.base_address == 0x4001_1000 and netduino.clock is None
    f446 = load_board("nucleo-f446re")
    assert f446.clock is not None and f446.clock.sysclk_hz == f446.mcu.clock_hz == 180_000_000
    assert (f446.flash.size_bytes, f446.ram.size_bytes) == (512 * 1024, 128 * 1024)
    assert f446.console.instance == "USART2" and f446.console.tx_pin == "PA2"
    esp32, s3 = load_board("esp32-devkitc"), load_board("esp32-s3-devkitc-1")
    boot = {b.id: b.settings["esptool"].bootloader_offset for b in (esp32, s3)}  # type: ignore[union-attr]
    assert boot == {"esp32-devkitc": 0x1000, "esp32-s3-devkitc-1": 0x0}


def test_unknown_board_lists_known_ones() -> None:
    with pytest.raises(UserError, match=r"unknown board 'nope'.*qemu-mps2-an386"):
        load_board("nope")


AN386, F446, ESP32 = "qemu-mps2-an386", "nucleo-f446re", "esp32-devkitc"
USB_BLOCK = '[[usb]]\nvid = 0x0483\npid = 0x374B\ndescription = "ST-LINK/V2-1"\n'


@pytest.mark.parametrize(
    ("board_id", "old", "new", "message"),
    [
        (AN386, "clock_hz = 25_000_000\n", "clock_hz = '25MHz'\n", "must be int"),
        (AN386, 'id = "qemu-mps2-an386"', 'id = "other"', "must equal the file"),
        (AN386, "[timer]", "[timer_]", "missing field 'timer'"),
        (AN386, 'driver = "cmsdk_uart"', 'driver = "usb"', "expected one of"),
        (AN386, 'runners = ["qemu"]', 'runners = ["qemu", "pyocd"]', "field 'upload.pyocd'"),
        (AN386, 'vendor = "Arm"', 'vendor = "Arm"\nflavour = 1', "unknown field 'flavour'"),
        (F446, "pll_n = 180", "pll_n = 168", "168000000 Hz, but mcu.clock_hz is 180000000"),
        (F446, "clock_hz = 45_000_000", "clock_hz = 50_000_000", "neither APB clock"),
        (F446, "apb1_div = 4", "apb1_div = 3", "clock.apb1_div' must be one of"),
        (F446, 'tx_pin = "PA2"', 'tx_pin = "A2"', "must look like PA2"),
        (F446, 'family = "stm32f4"', 'family = "stm32g0"', "stm32_usart needs mcu.family"),
        (F446, USB_BLOCK, "usb = []\n", r"needs at least one \[\[usb\]\]"),
        (F446, 'default_runner = "openocd"', 'default_runner = "esptool"', "'esptool'; expected"),
        (ESP32, 'chip = "esp32"', 'chip = "esp8266"', "upload.esptool.chip"),
        (ESP32, 'driver = "esp_uart"', 'driver = "stm32_usart"', "expected one of esp_uart"),
    ],
)
def test_schema_violations_are_named(
    tmp_path: Path, board_id: str, old: str, new: str, message: str
) -> None:
    text = (BOARDS_DIR / f"{board_id}.toml").read_text()
    assert old in text
    path = tmp_path / f"{board_id}.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ManifestError, match=message):
        load_board_file(path)


@pytest.fixture(scope="module")
def firmware(converted: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """AOT firmware of the shared converted model, built once per ARM board."""
    root = tmp_path_factory.mktemp("boards-fw")
    return {b: Path(build(converted / "model", b, root / b).elf).parent for b in ARM_BOARDS}


@pytest.mark.qemu
@pytest.mark.parametrize("board_id", ARM_BOARDS)
def test_aot_firmware_builds_for_every_arm_board(firmware: dict[str, Path], board_id: str) -> None:
    board = load_board(board_id)
    flash, ram = elf_sizes(firmware[board_id] / "firmware.elf")
    assert 0 < flash < board.flash.size_bytes and 0 < ram < board.ram.size_bytes
    config = (firmware[board_id] / "board_config.h").read_text()
    assert f'#define EDGETX_BOARD_ID "{board_id}"' in config
    assert ("EDGETX_HAS_CLOCKS 1u" in config) == (board.clock is not None)


@pytest.mark.qemu
@pytest.mark.parametrize("board_id", QEMU_BOARDS)
def test_hil_on_emulated_board_agrees_with_tflm(
    board_id: str, firmware: dict[str, Path], converted: Path, tmp_path: Path
) -> None:
    from edgetx.hil import run_hil

    report = run_hil(firmware[board_id], board_id, converted / "eval.npz", tmp_path, limit=20)
    assert report["samples"] == 20 and report["board"] == board_id
    assert report["agreement_with_host"] == 1.0 and report["mismatches"] == []
    assert report["latency"]["unit"] == "instructions" and report["latency"]["p50"] > 0


PROBE_MODEL = Path(__file__).parent / "fixtures" / "probe_model"


@pytest.mark.qemu
@pytest.mark.parametrize("board_id", QEMU_BOARDS)
def test_emulated_board_fpu_and_tick_rate(board_id: str, tmp_path: Path) -> None:
    """The FPU is enabled (a float multiply gives the right answer instead of a fault), and under
    -icount shift=0 the board's timer counts exactly timer.clock_hz per 10^9 instructions."""
    from edgetx.codegen import build_firmware, render_project
    from edgetx.flash import QemuRunner
    from edgetx.link import Link

    board = load_board(board_id)
    elf = build_firmware(render_project(board, PROBE_MODEL, tmp_path / "fw"))
    loops = 1_000_000
    with QemuRunner.from_board(board) as qemu, Link.open(qemu.start(elf)) as link:
        link.sync()
        short, long = (
            link.run((n * loops).to_bytes(4, "little") + a) for n, a in ((1, b"\x14"), (2, b"\xec"))
        )
    assert (short.output[0], long.output[0]) == (30, 256 - 29)  # 20 -> 30.25, -20 -> -29.75
    # One instruction is 1 ns, so ticks * 10^9 = instructions * clock_hz, within one tick;
    # the extra loops are subs + bne, 2 instructions each.
    ticks = long.ticks - short.ticks
    assert abs(ticks * 10**9 - 2 * loops * board.timer.clock_hz) <= 10**9
