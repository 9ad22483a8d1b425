"""The two ways a model runs on the device: generated C (aot) or the TFLM interpreter (tflm)."""

from __future__ import annotations

from pathlib import Path

from edgetx.boards import ARM_TEMPLATE, Board
from edgetx.codegen.aot import AotModel, generate_aot
from edgetx.codegen.tflm import TflmModel, generate_tflm, tflm_library
from edgetx.errors import UserError
from edgetx.tflite_model import Model

RUNTIMES = ("aot", "tflm")


def generate_model_code(
    runtime: str, board: Board, model: Model, model_dir: Path, out_dir: Path
) -> AotModel | TflmModel:
    """Write the model's device sources for runtime into out_dir."""
    if runtime == "aot":
        return generate_aot(model, out_dir)
    if runtime != "tflm":
        raise UserError(f"unknown runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")
    if board.template == ARM_TEMPLATE:
        tflm_library()  # refuse before generating anything when TFLM_LIB/TFLM_INCLUDE are unset
    return generate_tflm(model, model_dir, out_dir)
