"""esptool through the board's USB-UART: writes bootloader, partition table and app.

The three images are what `idf.py build` leaves in the ESP-IDF project's build/ directory;
edgetx renders that project but does not build ESP-IDF images itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from edgetx.boards import Board, EsptoolSettings
from edgetx.codegen.project import ESP_APP_NAME
from edgetx.errors import UserError
from edgetx.flash.runner import CommandRunner, RunnerCaps

FLASH_BAUD = 460_800  # what ESP-IDF's own flash target uses


class EsptoolRunner(CommandRunner):
    name = "esptool"
    caps: ClassVar[RunnerCaps] = RunnerCaps(flash=True, console=False, serial_port=True)
    program = "esptool.py"
    install_hint = "install it with 'pip install esptool' (ESP-IDF also ships it)"
    build_hint = "run 'idf.py build' in the firmware directory first (ESP-IDF makes the images)"

    def __init__(self, settings: EsptoolSettings) -> None:
        self.settings = settings

    @classmethod
    def from_board(cls, board: Board) -> Self:
        settings = board.settings["esptool"]
        assert isinstance(settings, EsptoolSettings)
        return cls(settings)

    def image_files(self, fwdir: Path) -> list[Path]:
        build = fwdir / "build"
        return [
            build / "bootloader" / "bootloader.bin",
            build / "partition_table" / "partition-table.bin",
            build / f"{ESP_APP_NAME}.bin",
        ]

    def argv(self, fwdir: Path, port: str | None) -> list[str]:
        if port is None:
            raise UserError("esptool flashes through the board's serial port; give --port")
        s = self.settings
        boot, table, app = (str(f) for f in self.image_files(fwdir))
        return [
            self.program, "--chip", s.chip, "--port", port, "--baud", str(FLASH_BAUD),
            "--before", "default_reset", "--after", "hard_reset",
            "write_flash", "--flash_mode", s.flash_mode, "--flash_freq", s.flash_freq,
            "--flash_size", s.flash_size,
            hex(s.bootloader_offset), boot, hex(s.partition_table_offset), table,
            hex(s.app_offset), app,
        ]  # fmt: skip
