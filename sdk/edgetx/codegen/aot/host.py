"""Compile generated AOT C for the host and run it, for comparison with TFLM."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
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
    """Compile the AOT sources in src_dir with the host compiler (as C, or as C++).

    The runtime library is the same for every model, so its objects are compiled once
    per content and flags and kept in a cache; only the model and the driver are compiled
    each time.
    """
    compiler = ["g++", "-x", "c++"] if cxx else ["gcc", "-std=c99"]
    flags = [*compiler, *WARNINGS, "-O2", *(["-DEDGETX_TRACE"] if trace else []), f"-I{src_dir}"]
    runtime = sorted(src_dir.glob("edgetx_rt*.c"))
    objects = _runtime_objects(runtime, sorted(src_dir.glob("edgetx_rt*.h")), flags)
    model = [p for p in sorted(src_dir.glob("*.c")) if p not in runtime]
    link = ["g++"] if cxx else ["gcc"]
    obj_dir = exe.parent / f"{exe.name}.o"
    obj_dir.mkdir(parents=True, exist_ok=True)
    own = []
    for src in [*model, HOST_MAIN]:
        own.append(obj_dir / f"{src.stem}.o")
        proc.run([*flags, "-c", src, "-o", own[-1]])
    proc.run([*link, *objects, *own, "-o", exe])
    return exe


def _runtime_objects(sources: list[Path], headers: list[Path], flags: list[str]) -> list[Path]:
    digest = hashlib.sha256(" ".join(flags[:-1]).encode())
    for p in [*sources, *headers]:
        digest.update(p.name.encode() + p.read_bytes())
    cache = Path(tempfile.gettempdir()) / "edgetx-host-runtime" / digest.hexdigest()[:20]
    objects = [cache / f"{p.stem}.o" for p in sources]
    if not all(o.is_file() for o in objects):
        cache.mkdir(parents=True, exist_ok=True)
        for src, obj in zip(sources, objects, strict=True):
            tmp = obj.with_suffix(f".{os.getpid()}.tmp")
            proc.run([*flags, "-c", src, "-o", tmp])
            tmp.replace(obj)  # atomic: a concurrent build sees the old or the whole object
    return objects


def host_model(src_dir: Path, exe: Path, input_bytes: int, output_bytes: int, **kw) -> HostModel:
    return HostModel(build_host(src_dir, exe, **kw), input_bytes, output_bytes)
