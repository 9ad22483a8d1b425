"""Port discovery from the manifests' USB VID/PID, against monkeypatched list_ports entries."""

from __future__ import annotations

import pytest
from serial.tools.list_ports_common import ListPortInfo

from edgetx import ports
from edgetx.boards import load_board
from edgetx.errors import UserError


def port(device: str, vid: int | None, pid: int | None, serial: str = "") -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial
    return info


@pytest.fixture
def attached(monkeypatch: pytest.MonkeyPatch) -> list[ListPortInfo]:
    entries: list[ListPortInfo] = []
    monkeypatch.setattr(ports.list_ports, "comports", lambda: list(entries))
    return entries


def test_the_one_matching_port_is_found(attached: list[ListPortInfo]) -> None:
    attached += [port("/dev/ttyS0", None, None), port("/dev/ttyACM0", 0x0483, 0x374B)]
    assert ports.find_port(load_board("nucleo-f446re")) == "/dev/ttyACM0"


def test_stlink_v3_is_not_a_v2_board(attached: list[ListPortInfo]) -> None:
    attached += [port("/dev/ttyACM0", 0x0483, 0x374B), port("/dev/ttyACM1", 0x0483, 0x374E)]
    assert ports.find_port(load_board("nucleo-h743zi2")) == "/dev/ttyACM1"


def test_esp32_s3_either_usb_port(attached: list[ListPortInfo]) -> None:
    attached.append(port("/dev/ttyACM0", 0x303A, 0x1001))
    assert ports.find_port(load_board("esp32-s3-devkitc-1")) == "/dev/ttyACM0"


def test_port_overrides_discovery(attached: list[ListPortInfo]) -> None:
    assert ports.find_port(load_board("esp32-devkitc"), "/dev/ttyUSB9") == "/dev/ttyUSB9"


def test_none_found_says_what_was_looked_for_and_seen(attached: list[ListPortInfo]) -> None:
    attached.append(port("/dev/ttyUSB0", 0x1A86, 0x7523))
    with pytest.raises(UserError) as e:
        ports.find_port(load_board("esp32-devkitc"))
    message = str(e.value)
    assert "no serial port of esp32-devkitc found" in message
    assert "10c4:ea60 (Silicon Labs CP210x" in message
    assert "/dev/ttyUSB0 [1a86:7523]" in message and "--port" in message


def test_nothing_attached(attached: list[ListPortInfo]) -> None:
    with pytest.raises(UserError, match="ports seen: none"):
        ports.find_port(load_board("b-l475e-iot01a"))


def test_several_found_are_listed_with_serial_numbers(attached: list[ListPortInfo]) -> None:
    attached += [
        port("/dev/ttyACM1", 0x0483, 0x374B, "0671FF53"),
        port("/dev/ttyACM0", 0x0483, 0x374B, "066BFF48"),
    ]
    with pytest.raises(UserError, match=r"2 ports match nucleo-f746zg: /dev/ttyACM0 .*066BFF48.*"
                       r"/dev/ttyACM1 .*0671FF53.*choose one with --port"):  # fmt: skip
        ports.find_port(load_board("nucleo-f746zg"))


def test_emulated_board_has_no_usb(attached: list[ListPortInfo]) -> None:
    with pytest.raises(UserError, match="no USB ids"):
        ports.find_port(load_board("qemu-mps2-an386"))
