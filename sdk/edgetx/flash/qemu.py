"""QEMU as power plus console (labgrid's model): start() boots the ELF and returns the URL of
the emulated UART, which QEMU serves on a local TCP port."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import time
from pathlib import Path
from typing import ClassVar, Self

from edgetx import proc
from edgetx.boards import Board
from edgetx.errors import DeviceError, UserError
from edgetx.flash.runner import Runner, RunnerCaps

HOST = "127.0.0.1"
LISTEN_TIMEOUT_S = 10.0  # QEMU opens its console port within about 0.1 s here
STOP_TIMEOUT_S = 5.0
PORT_ATTEMPTS = 5  # another process may take the free port before QEMU binds it
_LISTENING = b"waiting for connection"  # QEMU's stderr note once the server socket is bound
_PORT_TAKEN = "Address already in use"


class QemuRunner(Runner):
    name = "qemu"
    caps: ClassVar[RunnerCaps] = RunnerCaps(flash=False, console=True, serial_port=False)

    def __init__(self, machine: str) -> None:
        self.machine = machine
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = b""

    @classmethod
    def from_board(cls, board: Board) -> Self:
        if board.qemu is None:
            raise UserError(f"board {board.id!r} has no [upload.qemu] table; it is not emulated")
        return cls(board.qemu.machine)

    def argv(self, elf: Path, port: int) -> list[str]:
        # icount makes SysTick count instructions: timings repeat exactly from run to run.
        # wait=on holds the guest until the host connects, so no boot output is lost.
        return [
            "qemu-system-arm",
            "-machine", self.machine,
            "-nographic",
            "-monitor", "none",
            "-kernel", str(elf),
            "-icount", "shift=0,align=off,sleep=off",
            "-serial", f"tcp:{HOST}:{port},server=on,wait=on,nodelay=on",
        ]  # fmt: skip

    def start(self, elf: Path) -> str:
        if self._proc is not None:
            raise DeviceError("QEMU is already running; stop() it first")
        if not elf.is_file():
            raise UserError(f"firmware {elf} does not exist")
        for _ in range(PORT_ATTEMPTS):
            port = _free_port()
            self._proc, self._stderr = proc.spawn(self.argv(elf, port)), b""
            if self._wait_listening():
                return f"socket://{HOST}:{port}"
            message = self._stderr.decode(errors="replace").strip()
            self._proc = None
            if _PORT_TAKEN not in message:
                raise DeviceError(f"QEMU exited while starting:\n{message}")
        raise DeviceError(f"QEMU found no free TCP port for its console in {PORT_ATTEMPTS} tries")

    def stop(self) -> None:
        """Stop QEMU; if it had already exited with an error, raise DeviceError with its stderr."""
        p, self._proc = self._proc, None
        if p is None:
            return
        exited = p.poll()
        if exited is None:
            p.terminate()
            try:
                p.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        assert p.stderr is not None
        self._stderr += p.stderr.read()
        p.stderr.close()
        if exited:
            message = self._stderr.decode(errors="replace").strip()
            raise DeviceError(f"QEMU exited with status {exited}:\n{message}")

    def _wait_listening(self) -> bool:
        """True once QEMU listens on its console port, False if it exited first."""
        assert self._proc is not None and self._proc.stderr is not None
        fd = self._proc.stderr.fileno()
        deadline = time.monotonic() + LISTEN_TIMEOUT_S
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 0.1)[0]:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:  # EOF: QEMU exited
                self._proc.wait()
                self._proc.stderr.close()
                return False
            self._stderr += chunk
            if _LISTENING in self._stderr:
                return True
        self.stop()
        raise DeviceError(f"QEMU did not open its console port within {LISTEN_TIMEOUT_S} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]
