"""Compile generated AOT C for the host and run it, for comparison with TFLM."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetx import proc

HOST_MAIN = Path(__file__).parent / "host_main.c"
WARNINGS = ["-Wall", "-Wextra", "-Werror"]


@dataclass(frozen=True)
class HostModel:
    exe: Path
    input_bytes: int
    output_bytes: int

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Run int8 inputs [N, ...] through the host build; returns int8 [N, output_bytes]."""
        data = np.ascontiguousarray(inputs, dtype=np.int8).tobytes()
        result = subprocess.run([str(self.exe)], input=data, capture_output=True, check=True)
        return np.frombuffer(result.stdout, np.int8).reshape(-1, self.output_bytes)

    def trace(self, one_input: np.ndarray) -> dict[int, np.ndarray]:
        """Tensor index -> int8 contents, for every operator output of one inference."""
        data = np.ascontiguousarray(one_input, dtype=np.int8).tobytes()
        out = subprocess.run([str(self.exe)], input=data, capture_output=True, check=True).stdout
        tensors, pos = {}, 0
        while pos < len(out):
            _, tensor, size = np.frombuffer(out[pos : pos + 12], np.int32)
            pos += 12
            tensors[int(tensor)] = np.frombuffer(out[pos : pos + size], np.int8).copy()
            pos += int(size)
        return tensors


def build_host(src_dir: Path, exe: Path, *, trace: bool = False, cxx: bool = False) -> Path:
    """Compile the AOT sources in src_dir with the host compiler (as C, or as C++)."""
    compiler = ["g++", "-x", "c++"] if cxx else ["gcc", "-std=c99"]
    sources = [*sorted(src_dir.glob("*.c")), HOST_MAIN]
    defines = ["-DEDGETX_TRACE"] if trace else []
    proc.run([*compiler, *WARNINGS, "-O2", *defines, f"-I{src_dir}", *sources, "-o", exe])
    return exe


def host_model(src_dir: Path, exe: Path, input_bytes: int, output_bytes: int, **kw) -> HostModel:
    return HostModel(build_host(src_dir, exe, **kw), input_bytes, output_bytes)
