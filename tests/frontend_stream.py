"""A generated front end's C built for the host and fed in chunks, as RUN_RAW feeds the device.

The harness reads, from stdin, a u32 length then that many bytes per chunk; a length of 0 ends
one input, and it writes the int32 status of edgetx_frontend_end (ORed with every push's) and
the model input the front end made.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

STREAM_MAIN = r"""
#include <stdio.h>
#include "edgetx_frontend.h"

int main(void) {
    static int8_t input[INPUT_BYTES];
    static uint8_t chunk[70000];
    uint32_t len;
    int rc = 0;
    edgetx_frontend_begin(input);
    while (fread(&len, sizeof len, 1, stdin) == 1) {
        if (len == 0) {
            rc |= edgetx_frontend_end();
            fwrite(&rc, sizeof rc, 1, stdout);
            fwrite(input, sizeof input, 1, stdout);
            edgetx_frontend_begin(input);
            rc = 0;
        } else if (len > sizeof chunk || fread(chunk, 1, len, stdin) != len) {
            return 1;
        } else {
            rc |= edgetx_frontend_push(chunk, len);
        }
    }
    return 0;
}
"""


def build_stream(work: Path, input_bytes: int) -> Path:
    """Compile the front-end C already written to WORK with the harness; the binary's path."""
    (work / "main.c").write_text(STREAM_MAIN)
    sources = sorted(str(p) for p in work.glob("*.c"))
    cmd = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", f"-I{work}"]
    binary = work / "stream"
    subprocess.run([*cmd, f"-DINPUT_BYTES={input_bytes}", *sources, "-o", str(binary)], check=True)
    return binary


def run_stream(
    binary: Path, inputs: list[list[bytes]], input_bytes: int
) -> list[tuple[int, bytes]]:
    """(status, model input) for each input, given as the chunks it is pushed in."""
    stdin = b"".join(
        b"".join(struct.pack("<I", len(c)) + c for c in chunks) + struct.pack("<I", 0)
        for chunks in inputs
    )
    out = subprocess.run([str(binary)], input=stdin, capture_output=True, check=True).stdout
    size = 4 + input_bytes
    assert len(out) == size * len(inputs)
    records = [out[k : k + size] for k in range(0, len(out), size)]
    return [(struct.unpack("<i", r[:4])[0], r[4:]) for r in records]
