"""Runner base: one small class per way of getting firmware onto a target (Zephyr west style).

Boards choose runners and pass their per-board settings through `from_board`; runners know
nothing else about boards. What a runner can do is declared data in `caps`, and an operation
it lacks is refused by name. A flasher is a `CommandRunner`: it only builds a command line.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from edgetx import proc
from edgetx.boards import Board
from edgetx.errors import DeviceError, ToolMissing, UserError

_OUTPUT_LINES = 8  # of a failed flasher's output, shown to the user


@dataclass(frozen=True)
class RunnerCaps:
    flash: bool  # writes the image to the target's persistent storage
    console: bool  # start() runs the image and returns a console URL for edgetx.link
    serial_port: bool  # flashes through the board's serial port (so it needs one)


class Runner(ABC):
    """Gets an image onto a target; a context manager that stops what it started."""

    name: ClassVar[str]
    caps: ClassVar[RunnerCaps]

    @classmethod
    @abstractmethod
    def from_board(cls, board: Board) -> Self: ...

    def flash(self, fwdir: Path, port: str | None) -> None:
        """Write fwdir's image to the target's flash."""
        raise UserError(f"runner {self.name!r} does not flash; it {self._does()}")

    def start(self, elf: Path) -> str:
        """Run elf on the target; return the console URL (a pyserial URL)."""
        raise UserError(f"runner {self.name!r} does not serve a console; it {self._does()}")

    def stop(self) -> None:  # noqa: B027 (not abstract: a flasher leaves nothing running)
        """Power the target off. Safe to call when it is not running."""

    def _does(self) -> str:
        return "writes flash" if self.caps.flash else "runs an emulator with a console"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class CommandRunner(Runner):
    """A flasher that is one external program: subclasses build its command line."""

    caps: ClassVar[RunnerCaps] = RunnerCaps(flash=True, console=False, serial_port=False)
    program: ClassVar[str]
    install_hint: ClassVar[str]  # how to get `program`: an apt package or a pip install
    build_hint: ClassVar[str] = "run 'edgetx build' for this board first"

    @abstractmethod
    def argv(self, fwdir: Path, port: str | None) -> list[str]:
        """The command line that writes fwdir's image; port is the board's serial port, which
        only serial flashers (caps.serial_port) put on it."""

    def image_files(self, fwdir: Path) -> list[Path]:
        """The files of fwdir that argv() hands to the program."""
        return [fwdir / "firmware.elf"]

    def flash(self, fwdir: Path, port: str | None) -> None:
        fwdir = Path(fwdir)
        tried = f" (board at port {port})" if port else ""
        if shutil.which(self.program) is None:
            raise ToolMissing(self.program, f"{self.install_hint}; nothing was flashed{tried}")
        for f in self.image_files(fwdir):
            if not f.is_file():
                raise UserError(f"{f} does not exist; {self.build_hint}")
        result = proc.run(self.argv(fwdir, port), check=False)
        if result.returncode != 0:
            lines = (result.stderr + result.stdout).strip().splitlines()[-_OUTPUT_LINES:]
            raise DeviceError(
                f"{self.program} failed with exit status {result.returncode}{tried}; "
                f"is the board connected and powered?\n" + "\n".join(lines)
            )
