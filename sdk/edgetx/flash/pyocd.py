"""pyOCD through the board's debug probe (CMSIS-DAP or ST-LINK)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from edgetx.boards import Board, PyocdSettings
from edgetx.flash.runner import CommandRunner


class PyocdRunner(CommandRunner):
    name = "pyocd"
    program = "pyocd"
    install_hint = (
        "install it with 'pip install pyocd', then the target's pack with "
        "'pyocd pack install <target>'"
    )

    def __init__(self, target: str) -> None:
        self.target = target

    @classmethod
    def from_board(cls, board: Board) -> Self:
        settings = board.settings["pyocd"]
        assert isinstance(settings, PyocdSettings)
        return cls(settings.target)

    def argv(self, fwdir: Path, port: str | None) -> list[str]:
        return [self.program, "flash", "--target", self.target, str(fwdir / "firmware.elf")]
