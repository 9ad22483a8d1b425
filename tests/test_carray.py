"""edgetx.codegen.carray: identifiers, and generated arrays compiled and read back on the host."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgetx.codegen.carray import CArray, check_identifier, identifier_from, write_c_arrays
from edgetx.errors import UserError

WARN = ["-Wall", "-Wextra", "-Werror"]


def _need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} not installed")
    return path


@pytest.mark.parametrize("name", ["model", "g_model", "_private", "w8", "Model_2"])
def test_valid_identifiers_pass(name: str) -> None:
    assert check_identifier(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("my-model.tflite", "not a valid C identifier"),
        ("2model", "not a valid C identifier"),
        ("", "not a valid C identifier"),
        ("int", "keyword"),
        ("class", "keyword"),  # C++ only, but the arrays are linked into C++ too
        ("__model", "reserved"),
        ("_Model", "reserved"),
    ],
)
def test_invalid_identifiers_are_refused(name: str, why: str) -> None:
    with pytest.raises(UserError, match=why):
        check_identifier(name)


@pytest.mark.parametrize(
    ("text", "name"),
    [("my-model.tflite", "my_model_tflite"), ("1st", "a_1st"), ("int", "int_"), ("--", "data")],
)
def test_identifier_from_makes_valid_names(text: str, name: str) -> None:
    assert identifier_from(text) == name
    check_identifier(name)


def test_refusals() -> None:
    with pytest.raises(UserError, match="dtype float32"):
        CArray.of("w", np.zeros(3, np.float32))
    with pytest.raises(UserError, match="empty"):
        CArray.of("w", b"")
    arrays = [CArray.of("w", b"\x01"), CArray.of("w", b"\x02")]
    with pytest.raises(UserError, match="duplicate"):
        write_c_arrays(Path("."), "x", arrays)
    with pytest.raises(UserError, match="power of two"):
        write_c_arrays(Path("."), "x", arrays[:1], align=12)


ARRAYS = {
    "model_bytes": bytes(range(256)) + b"TFL3",
    "w_i8": np.array([-128, -1, 0, 1, 127] * 7, np.int8),
    "w_i16": np.array([-32768, -300, 0, 300, 32767], np.int16),
    "b_i32": np.array([-(2**31), -70000, 0, 70000, 2**31 - 1], np.int32),
    "lut_u8": np.arange(256, dtype=np.uint8),
    "one": np.array([[5]], np.int8),
}

HOST_MAIN = """
#include <stdint.h>
#include <stdio.h>
#include "arrays.h"
#define DUMP(a) do { \\
    printf("%s %u %u", #a, (unsigned)((uintptr_t)(a) % 16u), a##_len); \\
    for (unsigned i = 0; i < a##_len; ++i) printf(" %ld", (long)(a)[i]); \\
    printf("\\n"); } while (0)
int main(void) {
    DUMP(model_bytes); DUMP(w_i8); DUMP(w_i16); DUMP(b_i32); DUMP(lut_u8); DUMP(one);
    return 0;
}
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("carray")
    write_c_arrays(out, "arrays", [CArray.of(name, v) for name, v in ARRAYS.items()])
    (out / "main.c").write_text(HOST_MAIN)
    return out


def test_header_has_guards_and_extern_c(generated: Path) -> None:
    header = (generated / "arrays.h").read_text()
    assert "#ifndef ARRAYS_H_" in header and "#define ARRAYS_H_" in header
    assert 'extern "C" {' in header
    assert "extern const unsigned char model_bytes[260];" in header
    assert "extern const int32_t b_i32[5];" in header


@pytest.mark.parametrize(
    "compiler", [["gcc", "-std=c99"], ["g++", "-x", "c++"]], ids=["c99", "c++"]
)
def test_compiles_strictly(generated: Path, compiler: list[str]) -> None:
    _need(compiler[0])
    subprocess.run(
        [*compiler, *WARN, "-pedantic", "-c", "arrays.c", "-o", f"arrays_{compiler[0]}.o"],
        cwd=generated,
        check=True,
    )


@pytest.mark.parametrize(
    "compiler", [["gcc", "-std=c99"], ["g++", "-x", "c++"]], ids=["c99", "c++"]
)
def test_host_program_reads_back_values_and_alignment(generated: Path, compiler: list[str]) -> None:
    _need(compiler[0])
    exe = generated / f"dump_{compiler[0].replace('+', 'x')}"
    subprocess.run([*compiler, *WARN, "main.c", "arrays.c", "-o", exe], cwd=generated, check=True)
    lines = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.splitlines()
    assert len(lines) == len(ARRAYS)
    for line in lines:
        name, misalignment, length, *values = line.split()
        expected = ARRAYS[name]
        expected = np.frombuffer(expected, np.uint8) if isinstance(expected, bytes) else expected
        assert misalignment == "0", name
        assert int(length) == expected.size, name
        assert [int(v) for v in values] == expected.reshape(-1).tolist(), name
