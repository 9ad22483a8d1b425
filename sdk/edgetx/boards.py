"""Board manifests: one TOML file per board in boards/, the file name is the board id.

Values are typed and carry their unit in the key (`clock_hz`, `size_bytes`). The
loader is the schema: every field is checked for presence and type, unknown keys are
refused, and derived values are cross-checked (the PLL must give the core clock, the
console clock must be one of the bus clocks), so a manifest is the whole truth about its board.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgetx.errors import UserError
from edgetx.paths import BOARDS_DIR

ARM_TEMPLATE, ESP_IDF_TEMPLATE = "cortex-m", "esp-idf"
TEMPLATES = (ARM_TEMPLATE, ESP_IDF_TEMPLATE)
# console_<driver>.c and ticks_<driver>.c in the template; clocks_<driver>.c for real STM32 parts.
CONSOLE_DRIVERS = {ARM_TEMPLATE: ("cmsdk_uart", "stm32_usart"), ESP_IDF_TEMPLATE: ("esp_uart",)}
TIMER_DRIVERS = {ARM_TEMPLATE: ("systick",), ESP_IDF_TEMPLATE: ("ccount",)}
CLOCK_DRIVERS = ("stm32f4", "stm32h7", "stm32l4")
_PIN = re.compile(r"P[A-K](1[0-5]|[0-9])")  # GPIO port A-K, pin 0-15
STM32_FAMILIES = ("stm32f4", "stm32f7", "stm32h7", "stm32l4")
AHB_DIVS = (1, 2, 4, 8, 16, 64, 128, 256, 512)  # what the RCC prescalers can divide by
APB_DIVS = (1, 2, 4, 8, 16)
FPUS = ("none", "fpv4-sp-d16", "fpv5-sp-d16", "fpv5-d16", "xtensa-sp")
RUNNERS = ("qemu", "openocd", "pyocd", "st-flash", "esptool")
ESP_CHIPS = ("esp32", "esp32s3")


@dataclass(frozen=True)
class Mcu:
    name: str
    family: str  # selects family register data, e.g. stm32f4 (also the F405), stm32h7, esp32
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
    instance: str  # the datasheet's name for the UART, e.g. USART2
    base_address: int
    clock_hz: int
    baud: int
    tx_pin: str | None  # stm32_usart only: "PA2", set to alternate function pin_af
    rx_pin: str | None
    pin_af: int | None


@dataclass(frozen=True)
class Timer:
    driver: str
    clock_hz: int


@dataclass(frozen=True)
class Clock:
    """PLL set-up of a real STM32 from its internal RC oscillator (board crystals differ)."""

    driver: str
    source_hz: int
    pll_m: int
    pll_n: int
    pll_sysclk_div: int  # P on F4/F7/H7, R on L4
    ahb_div: int
    apb1_div: int
    apb2_div: int
    flash_wait_states: int
    overdrive: bool  # F4/F7 above 168/180 MHz

    @property
    def sysclk_hz(self) -> int:
        return self.source_hz // self.pll_m * self.pll_n // self.pll_sysclk_div


@dataclass(frozen=True)
class UsbId:
    vid: int
    pid: int
    description: str


@dataclass(frozen=True)
class QemuSettings:
    machine: str


@dataclass(frozen=True)
class OpenocdSettings:
    configs: tuple[str, ...]  # -f files from openocd's scripts directory


@dataclass(frozen=True)
class PyocdSettings:
    target: str


@dataclass(frozen=True)
class StFlashSettings:
    connect_under_reset: bool


@dataclass(frozen=True)
class EsptoolSettings:
    chip: str
    flash_mode: str
    flash_freq: str
    flash_size: str
    bootloader_offset: int  # 0x1000 on ESP32, 0x0 on ESP32-S3
    partition_table_offset: int
    app_offset: int


RunnerSettings = QemuSettings | OpenocdSettings | PyocdSettings | StFlashSettings | EsptoolSettings


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
    clock: Clock | None
    usb: tuple[UsbId, ...]
    template: str
    default_runner: str
    runners: tuple[str, ...]
    settings: dict[str, RunnerSettings]
    path: Path

    @property
    def qemu(self) -> QemuSettings | None:
        s = self.settings.get("qemu")
        return s if isinstance(s, QemuSettings) else None

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

    def positive(self, key: str) -> int:
        value = self.get(key, int)
        if value == 0:
            self.fail(f"field '{self.where}{key}' must be positive")
        return value

    def optional(self, key: str, kind: type) -> Any:
        if key not in self.table:
            self.seen.add(key)
            return None
        return self.get(key, kind)

    def strings(self, key: str) -> tuple[str, ...]:
        values = tuple(self.get(key, list))
        if not values or not all(isinstance(v, str) for v in values):
            self.fail(f"field '{self.where}{key}' must be a non-empty list of strings")
        return values

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


def _console(c: _Fields, template: str, family: str) -> Console:
    driver = c.get("driver", str, CONSOLE_DRIVERS[template])
    stm32 = driver == "stm32_usart"
    if stm32 and family not in STM32_FAMILIES:
        c.fail(f"stm32_usart needs mcu.family in {', '.join(STM32_FAMILIES)}, not {family!r}")
    console = Console(
        driver=driver, instance=c.get("instance", str), base_address=c.get("base_address", int),
        clock_hz=c.positive("clock_hz"), baud=c.positive("baud"),
        tx_pin=c.get("tx_pin", str) if stm32 else None,
        rx_pin=c.get("rx_pin", str) if stm32 else None,
        pin_af=c.get("pin_af", int) if stm32 else None,
    )  # fmt: skip
    for pin in (console.tx_pin, console.rx_pin):
        if pin is not None and not _PIN.fullmatch(pin):
            c.fail(f"pin {pin!r} must look like PA2 (port letter, pin number 0-15)")
    c.done()
    return console


def _clock(k: _Fields) -> Clock:
    clock = Clock(
        driver=k.get("driver", str, CLOCK_DRIVERS), source_hz=k.positive("source_hz"),
        pll_m=k.positive("pll_m"), pll_n=k.positive("pll_n"),
        pll_sysclk_div=k.positive("pll_sysclk_div"), ahb_div=k.positive("ahb_div"),
        apb1_div=k.positive("apb1_div"), apb2_div=k.positive("apb2_div"),
        flash_wait_states=k.get("flash_wait_states", int), overdrive=k.get("overdrive", bool),
    )  # fmt: skip
    k.done()
    for key, allowed in (("ahb_div", AHB_DIVS), ("apb1_div", APB_DIVS), ("apb2_div", APB_DIVS)):
        if getattr(clock, key) not in allowed:
            k.fail(f"field 'clock.{key}' must be one of {', '.join(map(str, allowed))}")
    return clock


def _usb(top: _Fields) -> tuple[UsbId, ...]:
    ids = []
    for i, entry in enumerate(top.get("usb", list)):
        if not isinstance(entry, dict):
            top.fail(f"field 'usb[{i}]' must be a table with vid, pid and description")
        u = _Fields(entry, f"usb[{i}].", top.path)
        ids.append(UsbId(u.get("vid", int), u.get("pid", int), u.get("description", str)))
        u.done()
    return tuple(ids)


def _runner_settings(name: str, s: _Fields) -> RunnerSettings:
    settings: RunnerSettings
    if name == "qemu":
        settings = QemuSettings(s.get("machine", str))
    elif name == "openocd":
        settings = OpenocdSettings(s.strings("configs"))
    elif name == "pyocd":
        settings = PyocdSettings(s.get("target", str))
    elif name == "st-flash":
        settings = StFlashSettings(s.get("connect_under_reset", bool))
    else:
        settings = EsptoolSettings(
            chip=s.get("chip", str, ESP_CHIPS), flash_mode=s.get("flash_mode", str),
            flash_freq=s.get("flash_freq", str), flash_size=s.get("flash_size", str),
            bootloader_offset=s.get("bootloader_offset", int),
            partition_table_offset=s.get("partition_table_offset", int),
            app_offset=s.get("app_offset", int),
        )  # fmt: skip
    s.done()
    return settings


def _check_clocks(top: _Fields, mcu: Mcu, console: Console, clock: Clock | None) -> None:
    if clock is None:
        return
    if clock.sysclk_hz != mcu.clock_hz:
        top.fail(
            f"clock: {clock.source_hz} Hz / {clock.pll_m} * {clock.pll_n} / "
            f"{clock.pll_sysclk_div} = {clock.sysclk_hz} Hz, but mcu.clock_hz is {mcu.clock_hz}"
        )
    ahb = mcu.clock_hz // clock.ahb_div
    buses = (ahb // clock.apb1_div, ahb // clock.apb2_div)
    if console.clock_hz not in buses:
        top.fail(f"console.clock_hz {console.clock_hz} is neither APB clock {buses}")


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

    b = top.sub("build")
    template = b.get("template", str, TEMPLATES)
    b.done()

    m = top.sub("mcu")
    mcu = Mcu(
        m.get("name", str), m.get("family", str), m.get("core", str), m.get("arch", str),
        m.get("fpu", str, FPUS), m.get("dsp", bool), m.positive("clock_hz"),
    )  # fmt: skip
    m.done()

    mem = top.sub("memory")
    regions = {}
    for key in ("flash", "ram"):
        r = mem.sub(key)
        regions[key] = Region(r.get("origin", int), r.positive("size_bytes"))
        r.done()
    mem.done()

    console = _console(top.sub("console"), template, mcu.family)
    t = top.sub("timer")
    timer = Timer(t.get("driver", str, TIMER_DRIVERS[template]), t.positive("clock_hz"))
    t.done()
    k = top.sub("clock", optional=True)
    clock = _clock(k) if k is not None else None
    _check_clocks(top, mcu, console, clock)
    usb = _usb(top)

    u = top.sub("upload")
    runners = u.strings("runners")
    for r in runners:
        if r not in RUNNERS:
            u.fail(f"unknown runner {r!r}; expected one of {', '.join(RUNNERS)}")
    default_runner = u.get("default_runner", str, runners)
    settings = {r: _runner_settings(r, u.sub(r)) for r in runners}
    u.done()
    emulated = "qemu" in runners
    if emulated and len(runners) > 1:
        u.fail("an emulated board has only the qemu runner")
    if not emulated and not usb:
        top.fail("a real board needs at least one [[usb]] entry for port discovery")

    board = Board(
        id=board_id, name=top.get("name", str), vendor=top.get("vendor", str), mcu=mcu,
        flash=regions["flash"], ram=regions["ram"], console=console, timer=timer, clock=clock,
        usb=usb, template=template, default_runner=default_runner, runners=runners,
        settings=settings, path=path,
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
