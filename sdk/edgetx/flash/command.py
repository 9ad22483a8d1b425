"""`edgetx flash`: put firmware on a board with one of the board's runners."""

from __future__ import annotations

import time
from pathlib import Path

from edgetx.boards import load_board
from edgetx.build import read_build_info
from edgetx.errors import UserError
from edgetx.flash.qemu import QemuRunner
from edgetx.flash.runner import Runner

RUNNERS: dict[str, type[Runner]] = {QemuRunner.name: QemuRunner}


def flash(fwdir: Path, board_id: str, runner: str | None = None, port: str | None = None) -> None:
    """Flash fwdir's firmware; an emulator runs until interrupted, serving its console."""
    board = load_board(board_id)
    read_build_info(fwdir, board.id)
    name = runner or board.default_runner
    if name not in board.runners:
        known = ", ".join(board.runners)
        raise UserError(f"board {board.id} has no runner {name!r}; it has {known}")
    if port is not None and not RUNNERS[name].caps.flash:
        raise UserError(f"runner {name!r} does not take --port; it serves its own console")
    with RUNNERS[name].from_board(board) as r:
        url = r.start(Path(fwdir) / "firmware.elf")
        print(f"{board.id} runs {fwdir} under {name}; console at {url} (Ctrl-C stops it)")
        print(f"  edgetx hil {fwdir} --board {board.id} --port {url} --dataset ... --report ...")
        while True:
            time.sleep(1)
