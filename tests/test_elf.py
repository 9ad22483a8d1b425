"""elf_sizes against arm-none-eabi-size on a real firmware image."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgetx import proc
from edgetx.boards import Board, load_board
from edgetx.codegen import build_firmware, render_project
from edgetx.elf import elf_sizes
from edgetx.errors import UserError

ECHO_MODEL = Path(__file__).parent / "fixtures" / "echo_model"
# Initialised writable data (.data), constant data (.rodata) and zeroed data (.bss).
DATA_C = """\
#include <stdint.h>
int32_t edgetx_test_counts[4] = {1, 2, 3, 4};
const int32_t edgetx_test_table[64] = {5};
int32_t edgetx_test_scratch[100];
int32_t *edgetx_test_refs[] = {edgetx_test_counts, (int32_t *)edgetx_test_table,
                               edgetx_test_scratch};
"""


@pytest.fixture(scope="module")
def board() -> Board:
    return load_board("qemu-mps2-an386")


@pytest.fixture(scope="module")
def elf(board: Board, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    model = tmp_path_factory.mktemp("model")
    for f in ECHO_MODEL.iterdir():
        shutil.copy(f, model)
    # Referenced from a kept section so --gc-sections leaves the data in.
    (model / "data.c").write_text(DATA_C)
    (model / "keep.c").write_text(
        "#include <stdint.h>\nextern int32_t *edgetx_test_refs[];\n"
        '__attribute__((used, section(".vectors"))) int32_t **const edgetx_keep = '
        "edgetx_test_refs;\n"
    )
    fw = render_project(board, model, tmp_path_factory.mktemp("fw") / "fw")
    return build_firmware(fw)


def size_a(elf: Path) -> dict[str, tuple[int, int]]:
    """Section name -> (size, address) from `arm-none-eabi-size -A`."""
    out = proc.run(["arm-none-eabi-size", "-A", elf]).stdout
    rows = [line.split() for line in out.splitlines()[2:]]
    return {r[0]: (int(r[1]), int(r[2])) for r in rows if len(r) == 3 and r[0] != "Total"}


def test_sizes_match_arm_none_eabi_size(elf: Path, board: Board) -> None:
    sections = size_a(elf)
    assert sections[".data"][0] > 0 and sections[".bss"][0] > 0
    # `size -A` lists every section; the ones not loaded hold debug info and metadata.
    loaded = {
        name: (size, addr)
        for name, (size, addr) in sections.items()
        if not name.startswith((".debug", ".comment", ".ARM.attributes"))
    }
    ram_end = board.ram.origin + board.ram.size_bytes
    in_ram = {n for n, (_, addr) in loaded.items() if board.ram.origin <= addr < ram_end}
    ram = sum(loaded[n][0] for n in in_ram)
    # Flash holds everything not in RAM plus the load image of .data.
    flash = sum(size for n, (size, _) in loaded.items() if n not in in_ram) + sections[".data"][0]
    assert elf_sizes(elf) == (flash, ram)


def test_berkeley_totals(elf: Path) -> None:
    text, data, bss = (int(v) for v in proc.run(["arm-none-eabi-size", elf]).stdout.split()[6:9])
    assert elf_sizes(elf) == (text + data, data + bss)


def test_not_an_elf(tmp_path: Path) -> None:
    bad = tmp_path / "x.elf"
    bad.write_bytes(b"hello")
    with pytest.raises(UserError, match="not an ELF"):
        elf_sizes(bad)


def test_truncated_elf(elf: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.elf"
    cut.write_bytes(elf.read_bytes()[:200])
    with pytest.raises(UserError, match="truncated"):
        elf_sizes(cut)
