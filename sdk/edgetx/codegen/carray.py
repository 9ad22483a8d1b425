"""Write numeric arrays as C source: aligned constant arrays, a header, valid as C99 and C++.

Used for the model flatbuffer (model_data.c/.h) and by the AOT generator for weights.
Unsigned arrays are written in hex, signed arrays in decimal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetx.errors import UserError

# C11 and C++20 keywords plus C99 macros that behave like keywords: a name must be
# usable from both languages, since the arrays are linked into C and C++ firmware.
_RESERVED = frozenset({
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
    "const", "const_cast", "consteval", "constexpr", "constinit", "continue", "co_await",
    "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
    "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
    "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
    "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "requires", "restrict", "return", "short", "signed", "sizeof", "static",
    "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
    "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
    "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq", "_Alignas", "_Alignof",
    "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert",
    "_Thread_local", "NULL",
})  # fmt: skip
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

C_TYPES = {
    np.dtype(np.int8): "int8_t",
    np.dtype(np.int16): "int16_t",
    np.dtype(np.int32): "int32_t",
    np.dtype(np.uint8): "uint8_t",
}
# A flatbuffer is conventionally an `unsigned char` array (as in TFLite Micro's examples).
BYTES_TYPE = "unsigned char"

_ALIGN_MACRO = """\
#ifndef EDGETX_ALIGNED
#define EDGETX_ALIGNED(n) __attribute__((aligned(n)))
#endif"""


def check_identifier(name: str) -> str:
    """Return name if it is a valid, non-reserved C and C++ identifier; else raise UserError."""
    if not _IDENTIFIER.fullmatch(name):
        raise UserError(
            f"{name!r} is not a valid C identifier (letters, digits and '_', not starting"
            f" with a digit); try {identifier_from(name)!r}"
        )
    if name in _RESERVED:
        raise UserError(f"{name!r} is a C/C++ keyword; choose another name, e.g. {name}_data")
    if name.startswith("__") or re.match(r"_[A-Z]", name):
        raise UserError(f"{name!r} is reserved for the compiler (leading '__' or '_X')")
    return name


def identifier_from(text: str) -> str:
    """Make a valid identifier from arbitrary text, e.g. 'my-model.tflite' -> 'my_model_tflite'."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).lstrip("_") or "data"
    if name[0].isdigit():
        name = "a_" + name
    if name in _RESERVED:
        name += "_"
    return name


@dataclass(frozen=True)
class CArray:
    """One named constant array and the C type it is written as."""

    name: str
    values: np.ndarray  # 1-D after flattening
    c_type: str

    @classmethod
    def of(cls, name: str, values: np.ndarray | bytes) -> CArray:
        """bytes become an `unsigned char` array; arrays keep their dtype (see C_TYPES)."""
        check_identifier(name)
        if isinstance(values, bytes | bytearray | memoryview):
            array = cls(name, np.frombuffer(values, np.uint8), BYTES_TYPE)
        else:
            values = np.asarray(values)
            if values.dtype not in C_TYPES:
                allowed = ", ".join(str(d) for d in C_TYPES)
                raise UserError(
                    f"array {name!r} has dtype {values.dtype}; expected one of {allowed}"
                )
            array = cls(name, values.reshape(-1), C_TYPES[values.dtype])
        if array.values.size == 0:
            raise UserError(f"array {name!r} is empty; C has no zero-length arrays")
        return array

    def declaration(self) -> str:
        return (
            f"extern const {self.c_type} {self.name}[{self.values.size}];\n"
            f"extern const unsigned int {self.name}_len;"
        )

    def definition(self, align: int) -> str:
        body = _format_values(self.values)
        return (
            f"const {self.c_type} {self.name}[{self.values.size}] EDGETX_ALIGNED({align}) = {{\n"
            f"{body}\n}};\n"
            f"const unsigned int {self.name}_len = {self.values.size}u;"
        )


def _format_values(values: np.ndarray) -> str:
    if values.dtype.kind == "u":
        width = values.dtype.itemsize * 2
        items = [f"0x{int(v):0{width}x}" for v in values]
        per_line = 12 if values.dtype.itemsize == 1 else 8
    else:
        # -2147483648 is not a C literal (2147483648 overflows int): write it as an expression.
        items = ["(-2147483647 - 1)" if int(v) == -(2**31) else str(int(v)) for v in values]
        per_line = 16
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "    " + ",\n    ".join(lines)


def render_header(arrays: list[CArray], guard: str) -> str:
    check_identifier(guard)
    decls = "\n".join(a.declaration() for a in arrays)
    return (
        f"/* Generated by edgetx. Do not edit. */\n"
        f"#ifndef {guard}\n#define {guard}\n\n#include <stdint.h>\n\n"
        f'#ifdef __cplusplus\nextern "C" {{\n#endif\n\n{decls}\n\n'
        f"#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {guard} */\n"
    )


def render_source(arrays: list[CArray], header_name: str, align: int) -> str:
    defs = "\n\n".join(a.definition(align) for a in arrays)
    # Including the header first gives the definitions external and (in C++) C linkage.
    return (
        f'/* Generated by edgetx. Do not edit. */\n#include "{header_name}"\n\n'
        f"{_ALIGN_MACRO}\n\n{defs}\n"
    )


def write_c_arrays(
    out_dir: Path, stem: str, arrays: list[CArray], align: int = 16
) -> tuple[Path, Path]:
    """Write OUT_DIR/STEM.c and STEM.h holding the arrays; return both paths."""
    if align <= 0 or align & (align - 1):
        raise UserError(f"alignment {align} is not a power of two")
    if not arrays:
        raise UserError("no arrays to write")
    names = [a.name for a in arrays]
    if len(set(names)) != len(names):
        raise UserError(f"duplicate array names in {names}")
    guard = identifier_from(stem).upper() + "_H_"
    out_dir = Path(out_dir)
    header, source = out_dir / f"{stem}.h", out_dir / f"{stem}.c"
    header.write_text(render_header(arrays, guard))
    source.write_text(render_source(arrays, header.name, align))
    return source, header
