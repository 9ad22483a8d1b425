"""OpenOCD through the board's debug probe: program the ELF, verify it, reset, exit."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from edgetx.boards import Board, OpenocdSettings
from edgetx.flash.runner import CommandRunner


class OpenocdRunner(CommandRunner):
    name = "openocd"
    program = "openocd"
    install_hint = "install it with 'apt-get install openocd'"

    def __init__(self, configs: tuple[str, ...]) -> None:
        self.configs = configs

    @classmethod
    def from_board(cls, board: Board) -> Self:
        settings = board.settings["openocd"]
        assert isinstance(settings, OpenocdSettings)
        return cls(settings.configs)

    def argv(self, fwdir: Path, port: str | None) -> list[str]:
        elf = fwdir / "firmware.elf"
        configs = [arg for cfg in self.configs for arg in ("-f", cfg)]
        return [self.program, *configs, "-c", f"program {elf} verify reset exit"]
