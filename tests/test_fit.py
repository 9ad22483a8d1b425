"""Fit checks: `edgetx fit` per manifest, and `edgetx build` refusing what does not fit."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from edgetx import build as build_module
from edgetx.boards import Region, all_boards, load_board
from edgetx.cli import main
from edgetx.errors import EdgetxError, UserError
from edgetx.fit import ESP_IDF_FLASH_BYTES, ESP_IDF_RAM_BYTES, fit_all

pytestmark = pytest.mark.qemu  # builds firmware with arm-none-eabi-gcc


def test_fit_builds_arm_boards_and_estimates_esp32(converted: Path, tmp_path: Path) -> None:
    an386, esp32 = load_board("qemu-mps2-an386"), load_board("esp32-devkitc")
    tiny = dataclasses.replace(an386, id="tiny-ram", ram=Region(0x2000_0000, 4096))
    fits = {f.board: f for f in fit_all(converted / "model", [an386, tiny, esp32])}
    built = build_module.build(converted / "model", an386.id, tmp_path / "fw")
    assert fits[an386.id].measured and fits[an386.id].fits
    assert (fits[an386.id].flash_bytes, fits[an386.id].ram_bytes) == (
        built.flash_bytes, built.ram_bytes,
    )  # fmt: skip
    assert not fits["tiny-ram"].fits and fits["tiny-ram"].ram_capacity == 4096
    estimate = fits[esp32.id]
    assert not estimate.measured and estimate.fits
    assert estimate.flash_bytes == built.flash_bytes + ESP_IDF_FLASH_BYTES
    assert estimate.ram_bytes == built.ram_bytes + ESP_IDF_RAM_BYTES


def test_fit_command_reports_every_board(
    converted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", str(converted / "model")]) == 0
    out = capsys.readouterr().out
    rows = {
        line.split()[0]: line for line in out.splitlines()[1:] if re.match(r"\S+ +(yes|NO) ", line)
    }
    assert set(rows) == {b.id for b in all_boards()}
    for board_id, row in rows.items():
        how = "estimate" if board_id.startswith("esp32") else "built"
        assert f" {how} " in row and row.count("free") == 2, row
    assert "estimate (ESP32, no Xtensa toolchain)" in out


def test_build_refuses_with_the_numbers(
    converted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = dataclasses.replace(load_board("qemu-mps2-an386"), ram=Region(0x2000_0000, 6144))
    monkeypatch.setattr(build_module, "load_board", lambda _id: board)
    out = tmp_path / "fw"
    with pytest.raises(EdgetxError, match=r"does not fit: RAM needs \d+ of 6144 bytes"):
        build_module.build(converted / "model", board.id, out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_fit_needs_a_converted_model(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"model\.tflite not found; run 'edgetx convert"):
        fit_all(tmp_path)
