"""Run a model in the TFLite Micro reference interpreter, the oracle for device output bytes.

The reference interpreter can crash (segfault) rather than fail cleanly when the arena is too
small, so the arena search runs each attempt in a child process:
`python -m edgetx_converters.tflm MODEL.tflite ARENA_BYTES` exits 0 when it allocates and invokes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from edgetx.errors import UnsupportedModel

ALIGN = 16
_FIRST_TRY = 1 << 18
_LARGEST = 1 << 26  # 64 MiB: no microcontroller model needs more


def _probe(model: Path, arena: int) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "edgetx_converters.tflm", str(model), str(arena)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def measure_arena(model: Path) -> int:
    """The smallest arena (a multiple of 16 bytes) in which the model allocates and invokes."""
    hi = _FIRST_TRY
    while (result := _probe(model, hi)).returncode != 0:
        if hi >= _LARGEST:
            raise UnsupportedModel(
                f"TensorFlow Lite Micro cannot run the model: {_tflm_error(result)}"
            )
        hi *= 4
    lo = 0  # an empty arena never works
    while hi - lo > ALIGN:
        mid = (lo + hi) // 2 // ALIGN * ALIGN
        if _probe(model, mid).returncode == 0:
            hi = mid
        else:
            lo = mid
    return hi


def _tflm_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    interesting = [line for line in lines if "registration" in line or "failed" in line.lower()]
    if interesting:
        return interesting[0].strip()
    if result.returncode < 0:
        return f"the interpreter crashed (signal {-result.returncode})"
    return lines[-1].strip() if lines else f"exit status {result.returncode}"


def _main(model: str, arena: str) -> int:
    from tflite_micro.python.tflite_micro import runtime

    raw = Path(model).read_bytes()
    try:
        interpreter = runtime.Interpreter.from_bytes(raw, arena_size=int(arena))
        detail = interpreter.get_input_details(0)
        interpreter.set_input(np.zeros(detail["shape"], detail["dtype"]), 0)
        interpreter.invoke()
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(*sys.argv[1:]))
