"""The one place that runs external programs, so every command line is logged and testable."""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from edgetx.errors import ToolMissing

log = logging.getLogger("edgetx.proc")

INSTALL_HINTS = {
    "arm-none-eabi-gcc": (
        "install it with 'apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi'"
    ),
    "qemu-system-arm": "install it with 'apt-get install qemu-system-arm'",
    "make": "install it with 'apt-get install make'",
    "gcc": "install it with 'apt-get install gcc'",
    "g++": "install it with 'apt-get install g++'",
}


def require(program: str) -> str:
    """Return the full path of program, or raise ToolMissing with an install hint."""
    path = shutil.which(program)
    if path is None:
        hint = INSTALL_HINTS.get(program, "install it or add it to PATH")
        raise ToolMissing(program, hint)
    return path


def run(
    argv: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv to completion, capturing output. The program must be on PATH."""
    args = [str(a) for a in argv]
    require(args[0])
    log.info("run: %s", shlex.join(args))
    return subprocess.run(args, cwd=cwd, check=check, env=env, capture_output=True, text=True)


def spawn(argv: Sequence[str | Path], *, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start argv in the background (e.g. an emulator), output discarded."""
    args = [str(a) for a in argv]
    require(args[0])
    log.info("spawn: %s", shlex.join(args))
    return subprocess.Popen(
        args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
