"""`edgetx fit DIR`: does the converted model in DIR fit each board, and with what margin?

Bare-metal ARM boards are measured, not guessed: the AOT sources are generated once and the
firmware is built for every such board and read from its ELF, as `edgetx build` would.
ESP32 boards are estimated, since no Xtensa toolchain or ESP-IDF is assumed: the Cortex-M4
build's flash and RAM (the same generated C and agent) plus what an ESP-IDF application
needs on its own, stated below. Both are for the AOT runtime.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from edgetx.boards import ARM_TEMPLATE, Board, Region, all_boards
from edgetx.build import MODEL_FILE
from edgetx.codegen.aot import generate_aot
from edgetx.codegen.project import build_firmware, render_project
from edgetx.elf import elf_sizes
from edgetx.errors import UserError
from edgetx.tflite_model import load_model

# An ESP-IDF 5.x application's own share: hello_world's image is about 170 KB; RAM covers its
# static DRAM (about 15 KB), the system tasks' stacks, the UART driver's 4 KB receive buffer
# and the template's 16 KB main task stack.
ESP_IDF_FLASH_BYTES = 176 * 1024
ESP_IDF_RAM_BYTES = 48 * 1024
ESP_ESTIMATE_CORE = "cortex-m4"
ROOMY_BYTES = 64 * 1024 * 1024  # the ARM build an ESP32 estimate starts from


@dataclass(frozen=True)
class Fit:
    board: str
    measured: bool  # False: an estimate
    flash_bytes: int
    flash_capacity: int
    ram_bytes: int
    ram_capacity: int

    @property
    def fits(self) -> bool:
        return self.flash_bytes <= self.flash_capacity and self.ram_bytes <= self.ram_capacity


def fit_all(model_dir: Path, boards: list[Board] | None = None) -> list[Fit]:
    """One Fit per board (default: every manifest), ARM boards first as they are built."""
    model_path = Path(model_dir) / MODEL_FILE
    if not model_path.is_file():
        raise UserError(f"{model_path} not found; run 'edgetx convert ... --out {model_dir}' first")
    model = load_model(model_path)
    boards = all_boards() if boards is None else boards
    arm = [b for b in boards if b.template == ARM_TEMPLATE]
    fits: list[Fit] = []
    with tempfile.TemporaryDirectory(prefix="edgetx-fit.") as tmp:
        code = Path(tmp) / "aot"
        generate_aot(model, code)
        for b in arm:
            # Link with roomy regions at the board's addresses, so a model too large for the
            # board is measured rather than stopped by the linker.
            roomy = replace(
                b, flash=Region(b.flash.origin, ROOMY_BYTES), ram=Region(b.ram.origin, ROOMY_BYTES)
            )
            flash, ram = elf_sizes(build_firmware(render_project(roomy, code, Path(tmp) / b.id)))
            fits.append(Fit(b.id, True, flash, b.flash.size_bytes, ram, b.ram.size_bytes))
    others = [b for b in boards if b.template != ARM_TEMPLATE]
    if others:
        base = next(
            (f for f, b in zip(fits, arm, strict=True) if b.mcu.core == ESP_ESTIMATE_CORE), None
        )
        if base is None:
            raise UserError(f"an ESP32 estimate needs a {ESP_ESTIMATE_CORE} board's build")
        for b in others:
            fits.append(Fit(
                b.id, False, base.flash_bytes + ESP_IDF_FLASH_BYTES, b.flash.size_bytes,
                base.ram_bytes + ESP_IDF_RAM_BYTES, b.ram.size_bytes,
            ))  # fmt: skip
    return fits


def _use(used: int, capacity: int) -> str:
    margin = capacity - used
    word = "free" if margin >= 0 else "OVER"
    return f"{used:>9,} / {capacity:>9,} B ({abs(margin):>9,} {word})"


def fit_table(fits: list[Fit]) -> str:
    lines = [f"{'board':<20} {'fits':<4} {'how':<9} {'flash used / size':<43} RAM used / size"]
    for f in fits:
        how = "built" if f.measured else "estimate"
        lines.append(
            f"{f.board:<20} {'yes' if f.fits else 'NO':<4} {how:<9} "
            f"{_use(f.flash_bytes, f.flash_capacity):<43} {_use(f.ram_bytes, f.ram_capacity)}"
        )
    lines += [
        "built: AOT firmware compiled for the board, sizes read from its ELF (RAM includes "
        "the stack).",
        f"estimate (ESP32, no Xtensa toolchain): the {ESP_ESTIMATE_CORE} build plus ESP-IDF's "
        f"own {ESP_IDF_FLASH_BYTES // 1024} KB flash and {ESP_IDF_RAM_BYTES // 1024} KB RAM; "
        "flash is the 1 MB factory app partition.",
    ]
    return "\n".join(lines)
