"""Board manifests: one TOML file per board in boards/, the file name is the board id.

Values are typed and carry their unit in the key (`clock_hz`, `size_bytes`). The
loader is the schema: every field is checked for presence and type, and unknown
keys are refused, so a manifest is the whole truth about its board.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgetx.errors import UserError
from edgetx.paths import BOARDS_DIR

CONSOLE_DRIVERS = ("cmsdk_uart",)
TIMER_DRIVERS = ("systick",)
TEMPLATES = ("cortex-m",)
RUNNERS = ("qemu",)
FPUS = ("none", "fpv4-sp-d16", "fpv5-sp-d16", "fpv5-d16")


@dataclass(frozen=True)
class Mcu:
    name: str
    core: str
    arch: str
    fpu: str
    dsp: bool
    clock_hz: int


@dataclass(frozen=True)
class Region:
    origin: int
    size_bytes: int


@dataclass(frozen=True)
class Console:
    driver: str
    base_address: int
    clock_hz: int
    baud: int


@dataclass(frozen=True)
class Timer:
    driver: str
    clock_hz: int


@dataclass(frozen=True)
class QemuSettings:
    machine: str


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    vendor: str
    mcu: Mcu
    flash: Region
    ram: Region
    console: Console
    timer: Timer
    template: str
    default_runner: str
    runners: tuple[str, ...]
    qemu: QemuSettings | None
    path: Path

    @property
    def emulated(self) -> bool:
        return self.qemu is not None


class ManifestError(UserError):
    pass


class _Fields:
    """Typed access to one TOML table that records which keys were read."""

    def __init__(self, table: dict[str, Any], where: str, path: Path) -> None:
        self.table, self.where, self.path, self.seen = table, where, path, set()

    def get(self, key: str, kind: type, choices: tuple[str, ...] | None = None) -> Any:
        self.seen.add(key)
        if key not in self.table:
            self.fail(f"missing field '{self.where}{key}'")
        value = self.table[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self.fail(f"field '{self.where}{key}' must be {kind.__name__}, got {value!r}")
        if kind is int and value < 0:
            self.fail(f"field '{self.where}{key}' must not be negative")
        if choices is not None and value not in choices:
            self.fail(
                f"field '{self.where}{key}' is {value!r}; expected one of {', '.join(choices)}"
            )
        return value

    def sub(self, key: str, optional: bool = False) -> _Fields | None:
        if optional and key not in self.table:
            self.seen.add(key)
            return None
        return _Fields(self.get(key, dict), f"{self.where}{key}.", self.path)

    def done(self) -> None:
        extra = sorted(set(self.table) - self.seen)
        if extra:
            self.fail(f"unknown field '{self.where}{extra[0]}'")

    def fail(self, message: str) -> None:
        raise ManifestError(f"board manifest {self.path}: {message}")


def load_board_file(path: Path) -> Board:
    """Load and validate one manifest."""
    try:
        table = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(f"board manifest {path}: not valid TOML ({e})") from None
    top = _Fields(table, "", path)
    board_id = top.get("id", str)
    if board_id != path.stem:
        top.fail(f"id {board_id!r} must equal the file name {path.stem!r}")

    m = top.sub("mcu")
    mcu = Mcu(
        m.get("name", str), m.get("core", str), m.get("arch", str),
        m.get("fpu", str, FPUS), m.get("dsp", bool), m.get("clock_hz", int),
    )  # fmt: skip
    m.done()

    mem = top.sub("memory")
    regions = {}
    for key in ("flash", "ram"):
        r = mem.sub(key)
        regions[key] = Region(r.get("origin", int), r.get("size_bytes", int))
        r.done()
    mem.done()

    c = top.sub("console")
    console = Console(
        c.get("driver", str, CONSOLE_DRIVERS), c.get("base_address", int),
        c.get("clock_hz", int), c.get("baud", int),
    )  # fmt: skip
    c.done()

    t = top.sub("timer")
    timer = Timer(t.get("driver", str, TIMER_DRIVERS), t.get("clock_hz", int))
    t.done()

    b = top.sub("build")
    template = b.get("template", str, TEMPLATES)
    b.done()

    u = top.sub("upload")
    runners = tuple(u.get("runners", list))
    for r in runners:
        if r not in RUNNERS:
            u.fail(f"unknown runner {r!r}; expected one of {', '.join(RUNNERS)}")
    default_runner = u.get("default_runner", str, runners)
    q = u.sub("qemu", optional=True)
    qemu = None
    if q is not None:
        qemu = QemuSettings(q.get("machine", str))
        q.done()
    if ("qemu" in runners) != (qemu is not None):
        u.fail("runner 'qemu' and table [upload.qemu] go together")
    u.done()

    board = Board(
        id=board_id, name=top.get("name", str), vendor=top.get("vendor", str), mcu=mcu,
        flash=regions["flash"], ram=regions["ram"], console=console, timer=timer,
        template=template, default_runner=default_runner, runners=runners, qemu=qemu, path=path,
    )  # fmt: skip
    top.done()
    return board


def board_ids(boards_dir: Path = BOARDS_DIR) -> list[str]:
    return sorted(p.stem for p in boards_dir.glob("*.toml"))


def load_board(board_id: str, boards_dir: Path = BOARDS_DIR) -> Board:
    """Load the manifest of board_id, or say which boards exist."""
    path = boards_dir / f"{board_id}.toml"
    if not path.is_file():
        known = ", ".join(board_ids(boards_dir)) or "none"
        raise UserError(f"unknown board {board_id!r}; known boards: {known} (see 'edgetx boards')")
    return load_board_file(path)


def all_boards(boards_dir: Path = BOARDS_DIR) -> list[Board]:
    return [load_board(i, boards_dir) for i in board_ids(boards_dir)]
