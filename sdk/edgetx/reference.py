"""The reference for device output: TensorFlow Lite Micro's own interpreter.

The tflite-micro wheel runs TFLM's reference kernels on the host. Every byte
a device returns is compared with what this interpreter computes.
"""

from __future__ import annotations

import numpy as np

# Large enough for the models edgetx targets; the interpreter only touches what it uses.
DEFAULT_ARENA_BYTES = 4 * 1024 * 1024


def _interpreter(model: bytes, preserve: bool = False, arena_bytes: int = DEFAULT_ARENA_BYTES):
    from tflite_micro.python.tflite_micro import runtime

    config = (
        runtime.InterpreterConfig.kPreserveAllTensors
        if preserve
        else runtime.InterpreterConfig.kAllocationRecording
    )
    return runtime.Interpreter.from_bytes(model, arena_size=arena_bytes, intrepreter_config=config)


class Reference:
    """Runs int8 inputs through the TFLM interpreter."""

    def __init__(self, model: bytes, arena_bytes: int = DEFAULT_ARENA_BYTES) -> None:
        self.model = model
        self.interp = _interpreter(model, arena_bytes=arena_bytes)
        self.input_shape = tuple(self.interp.get_input_details(0)["shape"])

    def run(self, x: np.ndarray) -> np.ndarray:
        """One inference; x is int8 of the input's shape (or flat)."""
        self.interp.set_input(np.asarray(x, np.int8).reshape(self.input_shape), 0)
        self.interp.invoke()
        return np.array(self.interp.get_output(0), np.int8)

    def run_many(self, xs: np.ndarray) -> np.ndarray:
        """[N, ...] int8 inputs -> [N, output_bytes] int8 outputs."""
        return np.stack([self.run(x).ravel() for x in xs]) if len(xs) else np.zeros((0, 0), np.int8)

    def tensors(self, x: np.ndarray, indices: list[int]) -> dict[int, np.ndarray]:
        """Intermediate tensors of one inference (for locating a mismatch)."""
        interp = _interpreter(self.model, preserve=True)
        interp.set_input(np.asarray(x, np.int8).reshape(self.input_shape), 0)
        interp.invoke()
        return {i: np.array(interp.GetTensor(i, 0), np.int8).ravel() for i in indices}
