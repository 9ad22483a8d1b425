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
    """Runs quantized inputs (int8, or int16 for 16x8 models) through the TFLM interpreter."""

    def __init__(self, model: bytes, arena_bytes: int = DEFAULT_ARENA_BYTES) -> None:
        self.model = model
        self.interp = _interpreter(model, arena_bytes=arena_bytes)
        detail = self.interp.get_input_details(0)
        self.input_shape = tuple(detail["shape"])
        self.input_dtype = np.dtype(detail["dtype"])
        self.output_dtype = np.dtype(self.interp.get_output_details(0)["dtype"])
        self._preserving = None  # the interpreter keeping every tensor, made on first use

    def run(self, x: np.ndarray) -> np.ndarray:
        """One inference; x is of the input's type and shape (or flat)."""
        self.interp.set_input(np.asarray(x, self.input_dtype).reshape(self.input_shape), 0)
        self.interp.invoke()
        return np.array(self.interp.get_output(0), self.output_dtype)

    def run_many(self, xs: np.ndarray) -> np.ndarray:
        """[N, ...] inputs -> [N, output elements] outputs, in the model's input/output types."""
        if not len(xs):
            return np.zeros((0, 0), self.output_dtype)
        return np.stack([self.run(x).ravel() for x in xs])

    def tensors(self, x: np.ndarray, indices: list[int]) -> dict[int, np.ndarray]:
        """Intermediate tensors of one inference, flat, each in its own type."""
        if self._preserving is None:
            self._preserving = _interpreter(self.model, preserve=True)
        interp = self._preserving
        interp.set_input(np.asarray(x, self.input_dtype).reshape(self.input_shape), 0)
        interp.invoke()
        return {i: np.array(interp.GetTensor(i, 0)["tensor_data"]).ravel() for i in indices}
