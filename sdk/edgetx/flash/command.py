"""`edgetx flash`: put firmware on a board with one of the board's runners."""

from __future__ import annotations

import time
from pathlib import Path

from edgetx.boards import load_board
from edgetx.build import read_build_info
from edgetx.errors import UserError
from edgetx.flash.esptool import EsptoolRunner
from edgetx.flash.openocd import OpenocdRunner
from edgetx.flash.pyocd import PyocdRunner
from edgetx.flash.qemu import QemuRunner
from edgetx.flash.runner import Runner
from edgetx.flash.stflash import StFlashRunner
from edgetx.link.labgrid_place import is_place, serial_url
from edgetx.ports import find_port

RUNNERS: dict[str, type[Runner]] = {
    r.name: r for r in (QemuRunner, OpenocdRunner, PyocdRunner, StFlashRunner, EsptoolRunner)
}


def flash(fwdir: Path, board_id: str, runner: str | None = None, port: str | None = None) -> None:
    """Flash fwdir's firmware. An emulator runs until interrupted, serving its console; a real
    board is flashed and its console port (found from USB VID/PID unless --port) is printed."""
    board = load_board(board_id)
    read_build_info(fwdir, board.id)
    name = runner or board.default_runner
    if name not in board.runners:
        known = ", ".join(board.runners)
        raise UserError(f"board {board.id} has no runner {name!r}; it has {known}")
    cls = RUNNERS[name]
    if cls.caps.console:
        if port is not None:
            raise UserError(f"runner {name!r} does not take --port; it serves its own console")
        with cls.from_board(board) as r:
            url = r.start(Path(fwdir) / "firmware.elf")
            print(f"{board.id} runs {fwdir} under {name}; console at {url} (Ctrl-C stops it)")
            print(
                f"  edgetx hil {fwdir} --board {board.id} --port {url} --dataset ... --report ..."
            )
            while True:
                time.sleep(1)
    console = find_port(board, port)
    if is_place(console) and not cls.caps.serial_port:
        raise UserError(
            f"runner {name!r} flashes through a probe attached to this machine, but the probe of "
            f"{console} is at its exporter: flash the place with labgrid ('labgrid-client -p "
            f"PLACE bootstrap {Path(fwdir) / 'firmware.elf'}' with a flashing driver in your "
            "labgrid environment), then run edgetx hil with this --port"
        )
    with cls.from_board(board) as r:
        r.flash(Path(fwdir), serial_url(console))
    print(f"flashed {fwdir} to {board.id} with {name}; console at {console}")
    print(f"  edgetx hil {fwdir} --board {board.id} --port {console} --dataset ... --report ...")
