from __future__ import annotations

from pathlib import Path

import pytest

from edgetx.boards import ManifestError, all_boards, load_board, load_board_file
from edgetx.errors import UserError
from edgetx.paths import BOARDS_DIR


def test_every_manifest_is_valid() -> None:
    boards = all_boards()
    assert "qemu-mps2-an386" in [b.id for b in boards]
    for b in boards:
        assert b.flash.size_bytes > 0 and b.ram.size_bytes > 0
        assert b.default_runner in b.runners


def test_an386_facts() -> None:
    b = load_board("qemu-mps2-an386")
    assert (b.flash.origin, b.ram.origin) == (0, 0x2000_0000)
    assert b.console.base_address == 0x4000_4000
    assert b.qemu is not None and b.qemu.machine == "mps2-an386"


def test_unknown_board_lists_known_ones() -> None:
    with pytest.raises(UserError, match=r"unknown board 'nope'.*qemu-mps2-an386"):
        load_board("nope")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("clock_hz = 25_000_000\n", "clock_hz = '25MHz'\n", 1), "must be int"),
        (lambda s: "flavour = 1\n" + s, "unknown field 'flavour'"),
        (lambda s: s.replace('driver = "cmsdk_uart"', 'driver = "usb"'), "expected one of"),
        (lambda s: s.replace('id = "qemu-mps2-an386"', 'id = "other"'), "must equal the file"),
        (lambda s: s.replace("[timer]", "[timer_]"), "missing field 'timer'"),
    ],
)
def test_schema_violations_are_named(tmp_path: Path, edit, message: str) -> None:
    text = (BOARDS_DIR / "qemu-mps2-an386.toml").read_text()
    path = tmp_path / "qemu-mps2-an386.toml"
    path.write_text(edit(text))
    with pytest.raises(ManifestError, match=message):
        load_board_file(path)
