"""Find a real board's serial port from the USB VID/PID pairs in its manifest."""

from __future__ import annotations

from serial.tools import list_ports

from edgetx.boards import Board
from edgetx.errors import UserError


def _usb_id(vid: int | None, pid: int | None) -> str:
    return f"{vid:04x}:{pid:04x}" if vid is not None and pid is not None else "no USB id"


def find_port(board: Board, override: str | None = None) -> str:
    """The serial port of board: override if given, else the one port whose VID/PID matches."""
    if override is not None:
        return override
    if not board.usb:
        raise UserError(f"board {board.id} has no USB ids in its manifest; give --port")
    wanted = {(u.vid, u.pid) for u in board.usb}
    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    matches = [p for p in ports if (p.vid, p.pid) in wanted]
    if len(matches) == 1:
        return matches[0].device
    looked_for = ", ".join(f"{_usb_id(u.vid, u.pid)} ({u.description})" for u in board.usb)
    if not matches:
        seen = ", ".join(f"{p.device} [{_usb_id(p.vid, p.pid)}]" for p in ports) or "none"
        raise UserError(
            f"no serial port of {board.id} found: looked for USB {looked_for}; ports seen: "
            f"{seen}. Connect the board (and check its USB cable carries data) or give --port"
        )
    found = ", ".join(
        f"{p.device} [{_usb_id(p.vid, p.pid)}, serial {p.serial_number or '?'}]" for p in matches
    )
    raise UserError(f"{len(matches)} ports match {board.id}: {found}; choose one with --port")
