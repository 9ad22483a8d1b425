"""Flash and RAM bytes of a firmware image, read from its ELF section headers."""

from __future__ import annotations

import struct
from pathlib import Path

from edgetx.errors import UserError

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHT_NOBITS = 8
# Per ELF class: where e_shoff, e_shentsize and e_shnum sit in the file header, and the
# section header fields up to sh_size (name, type, flags, addr, offset, size).
_LAYOUT = {
    1: (0x20, "I", 0x2E, "IIIIII"),
    2: (0x28, "Q", 0x3A, "IIQQQQ"),
}


def elf_sizes(path: Path) -> tuple[int, int]:
    """(flash_bytes, ram_bytes) of an ELF image, as `size` counts text + data and data + bss.

    flash: allocated sections with contents (SHF_ALLOC and not SHT_NOBITS): code, read-only
    data, and the load image of .data that the start-up code copies to RAM.
    ram: allocated writable sections (SHF_ALLOC and SHF_WRITE): .data, .bss, and
    reservations such as the stack.
    """
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] not in _LAYOUT or data[5] not in (1, 2):
        raise UserError(f"{path} is not an ELF file")
    shoff_at, shoff_kind, shent_at, fields = _LAYOUT[data[4]]
    endian = "<" if data[5] == 1 else ">"
    flash = ram = 0
    try:
        (shoff,) = struct.unpack_from(endian + shoff_kind, data, shoff_at)
        shentsize, shnum = struct.unpack_from(endian + "HH", data, shent_at)
        for i in range(shnum):
            _, kind, flags, _, _, size = struct.unpack_from(
                endian + fields, data, shoff + i * shentsize
            )
            if not flags & SHF_ALLOC:
                continue
            if kind != SHT_NOBITS:
                flash += size
            if flags & SHF_WRITE:
                ram += size
    except struct.error:
        raise UserError(f"{path} is a truncated ELF file") from None
    return flash, ram
