"""Flash runners: exact command lines from each board's manifest, and diagnoses, no hardware."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from edgetx.boards import all_boards, load_board
from edgetx.cli import main
from edgetx.errors import DeviceError, ToolMissing, UserError
from edgetx.flash import (
    RUNNERS,
    EsptoolRunner,
    OpenocdRunner,
    PyocdRunner,
    StFlashRunner,
)
from edgetx.flash.command import flash

FW = Path("/fw")


def test_openocd_argv() -> None:
    r = OpenocdRunner.from_board(load_board("nucleo-f446re"))
    assert r.argv(FW, None) == [
        "openocd",
        "-f", "interface/stlink.cfg",
        "-f", "target/stm32f4x.cfg",
        "-c", "program /fw/firmware.elf verify reset exit",
    ]  # fmt: skip


def test_pyocd_argv() -> None:
    r = PyocdRunner.from_board(load_board("nucleo-h743zi2"))
    assert r.argv(FW, None) == [
        "pyocd", "flash", "--target", "stm32h743zitx", "/fw/firmware.elf",
    ]  # fmt: skip


def test_st_flash_argv_writes_the_bin_at_the_flash_origin() -> None:
    r = StFlashRunner.from_board(load_board("b-l475e-iot01a"))
    assert r.argv(FW, None) == [
        "st-flash", "--reset", "write", "/fw/firmware.bin", "0x8000000",
    ]  # fmt: skip
    assert StFlashRunner(0x0800_0000, True).argv(FW, None)[:2] == [
        "st-flash", "--connect-under-reset",
    ]  # fmt: skip


def test_esptool_argv_esp32() -> None:
    r = EsptoolRunner.from_board(load_board("esp32-devkitc"))
    assert r.argv(FW, "/dev/ttyUSB0") == [
        "esptool.py", "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud", "460800",
        "--before", "default_reset", "--after", "hard_reset",
        "write_flash", "--flash_mode", "dio", "--flash_freq", "40m", "--flash_size", "4MB",
        "0x1000", "/fw/build/bootloader/bootloader.bin",
        "0x8000", "/fw/build/partition_table/partition-table.bin",
        "0x10000", "/fw/build/edgetx_app.bin",
    ]  # fmt: skip


def test_esptool_argv_esp32s3_bootloader_at_zero() -> None:
    argv = EsptoolRunner.from_board(load_board("esp32-s3-devkitc-1")).argv(FW, "/dev/ttyUSB1")
    assert argv[argv.index("--chip") + 1] == "esp32s3"
    assert argv[argv.index("--flash_size") + 1] == "8MB"
    assert argv[-6:-4] == ["0x0", "/fw/build/bootloader/bootloader.bin"]


def test_esptool_needs_a_port() -> None:
    with pytest.raises(UserError, match="give --port"):
        EsptoolRunner.from_board(load_board("esp32-devkitc")).argv(FW, None)


def test_every_manifest_runner_builds_a_command_line() -> None:
    for board in all_boards():
        for name in board.runners:
            runner = RUNNERS[name].from_board(board)
            if runner.caps.flash:
                port = "/dev/ttyX" if runner.caps.serial_port else None
                argv = runner.argv(FW, port)  # type: ignore[attr-defined]
                assert argv[0] == runner.program  # type: ignore[attr-defined]


def test_caps_are_declared_and_unsupported_operations_refused_by_name() -> None:
    assert RUNNERS["qemu"].caps.console and not RUNNERS["qemu"].caps.flash
    assert RUNNERS["esptool"].caps.serial_port and not RUNNERS["openocd"].caps.serial_port
    with pytest.raises(UserError, match="runner 'openocd' does not serve a console"):
        OpenocdRunner(("target/stm32f4x.cfg",)).start(FW / "firmware.elf")


@pytest.fixture
def fake_fw(tmp_path: Path) -> Path:
    fw = tmp_path / "fw"
    fw.mkdir()
    (fw / "firmware.elf").write_bytes(b"\x7fELF")
    (fw / "firmware.bin").write_bytes(b"\0" * 4)
    info = {
        "board": "nucleo-f446re", "runtime": "aot", "elf": str(fw / "firmware.elf"),
        "flash_bytes": 4, "ram_bytes": 4, "arena_bytes": 0, "macs": 0,
        "input_bytes": 1, "output_bytes": 1,
    }  # fmt: skip
    (fw / "build.json").write_text(json.dumps(info))
    return fw


def _path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str | None) -> None:
    """PATH holds only a fake st-flash (a shell script), or nothing at all."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if script is not None:
        tool = bin_dir / "st-flash"
        tool.write_text(f"#!/bin/sh\n{script}\n")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_missing_tool_names_it_the_install_and_the_port(
    fake_fw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _path_with(tmp_path, monkeypatch, None)
    with pytest.raises(ToolMissing, match=r"'openocd' not found.*apt-get install openocd.*ttyACM7"):
        flash(fake_fw, "nucleo-f446re", port="/dev/ttyACM7")
    code = main(["flash", str(fake_fw), "--board", "nucleo-f446re", "--port", "/dev/ttyACM7",
                 "--runner", "st-flash"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "apt-get install stlink-tools" in err and "Traceback" not in err


def test_flash_runs_the_tool_and_prints_the_console(
    fake_fw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    log = tmp_path / "argv"
    _path_with(tmp_path, monkeypatch, f'echo "$@" > {log}')
    flash(fake_fw, "nucleo-f446re", runner="st-flash", port="/dev/ttyACM3")
    assert log.read_text().split() == [
        "--reset",
        "write",
        str(fake_fw / "firmware.bin"),
        "0x8000000",
    ]
    assert "console at /dev/ttyACM3" in capsys.readouterr().out


def test_failing_tool_is_a_device_error_with_its_output(
    fake_fw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _path_with(tmp_path, monkeypatch, "echo no ST-Link found >&2; exit 1")
    with pytest.raises(
        DeviceError, match=r"(?s)exit status 1 \(board at port /dev/ttyACM3\).*ST-Link"
    ):
        flash(fake_fw, "nucleo-f446re", runner="st-flash", port="/dev/ttyACM3")


def test_unknown_runner_and_missing_image(fake_fw: Path, tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(UserError, match="has no runner 'esptool'; it has openocd, pyocd, st-flash"):
        flash(fake_fw, "nucleo-f446re", runner="esptool", port="/dev/ttyACM0")
    os.remove(fake_fw / "firmware.bin")
    _path_with(tmp_path, monkeypatch, "exit 0")
    with pytest.raises(UserError, match=r"firmware\.bin does not exist"):
        flash(fake_fw, "nucleo-f446re", runner="st-flash", port="/dev/ttyACM0")
