"""st-flash (stlink-tools) through an ST-LINK: writes the raw image at the flash origin."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from edgetx.boards import Board, StFlashSettings
from edgetx.flash.runner import CommandRunner


class StFlashRunner(CommandRunner):
    name = "st-flash"
    program = "st-flash"
    install_hint = "install it with 'apt-get install stlink-tools'"

    def __init__(self, flash_origin: int, connect_under_reset: bool) -> None:
        self.flash_origin = flash_origin
        self.connect_under_reset = connect_under_reset

    @classmethod
    def from_board(cls, board: Board) -> Self:
        settings = board.settings["st-flash"]
        assert isinstance(settings, StFlashSettings)
        return cls(board.flash.origin, settings.connect_under_reset)

    def image_files(self, fwdir: Path) -> list[Path]:
        return [fwdir / "firmware.bin"]

    def argv(self, fwdir: Path, port: str | None) -> list[str]:
        under_reset = ["--connect-under-reset"] if self.connect_under_reset else []
        bin_file = str(fwdir / "firmware.bin")
        return [self.program, *under_reset, "--reset", "write", bin_file, hex(self.flash_origin)]
