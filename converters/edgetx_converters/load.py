"""Load the user's model: `file.py:factory` (a torch.nn.Module) or an `.onnx` file.

Both become a FloatModel: a float reference to compare the int8 model against, plus the
step that turns it into a float TFLite flatbuffer.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetx.errors import UserError


@dataclass
class FloatModel:
    spec: str  # as the user gave it
    kind: str  # "torch" or "onnx"
    run: Callable[[np.ndarray], np.ndarray]  # float32 batch [1, ...] -> outputs [1, ...]
    to_tflite: Callable[[np.ndarray, Path], Path]  # (sample batch, work dir) -> float .tflite
    input_shape: tuple[int, ...] | None  # without batch dim, when the model declares it
    expects: str  # what input the model wants, for error messages


def load(spec: str) -> FloatModel:
    """Resolve SPEC ('path/model.py:factory' or 'path/model.onnx') into a FloatModel."""
    path_part, sep, factory = spec.rpartition(":")
    if sep and path_part.endswith(".py"):
        return _load_torch(spec, Path(path_part), factory)
    path = Path(spec)
    if path.suffix == ".py":
        raise UserError(
            f"model {spec!r} names a Python file but no factory; write it as {spec}:FACTORY,"
            " where FACTORY is a function in that file returning the torch.nn.Module"
        )
    if path.suffix == ".onnx":
        return _load_onnx(spec, path)
    raise UserError(f"model {spec!r} is neither 'file.py:factory' nor an .onnx file")


def _load_torch(spec: str, path: Path, factory_name: str) -> FloatModel:
    if not path.is_file():
        raise UserError(f"model file {path} not found; check the path in {spec!r}")
    if not factory_name.isidentifier():
        raise UserError(f"{factory_name!r} in {spec!r} is not a Python function name")
    module = _import_file(path)
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise UserError(
            f"{path} has no function {factory_name!r}; functions and classes there: "
            f"{', '.join(found) or 'none'}"
        )
    try:
        net = factory()
    except Exception as e:
        raise UserError(
            f"{spec} raised {type(e).__name__}: {e}; fix the factory so it builds the model"
        ) from None

    import torch

    if not isinstance(net, torch.nn.Module):
        raise UserError(
            f"{spec} returned {type(net).__name__}, not a torch.nn.Module;"
            " return the model itself, with its weights loaded"
        )
    net.eval()

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return _first_output(net(torch.from_numpy(batch))).numpy()

    def to_tflite(sample: np.ndarray, work: Path) -> Path:
        from edgetx_converters.torch_to_tflite import torch_to_tflite

        return torch_to_tflite(net, sample, work / "float.tflite")

    return FloatModel(spec, "torch", run, to_tflite, None, _first_layer_hint(net))


def _first_layer_hint(net: object) -> str:
    """Describe the input the first Linear or Conv layer expects (modules in definition order)."""
    import torch

    for name, layer in net.named_modules():
        if isinstance(layer, torch.nn.Linear):
            return (
                f"its first layer {name!r} (Linear) expects a last dimension of {layer.in_features}"
            )
        if isinstance(layer, torch.nn.Conv1d | torch.nn.Conv2d):
            return f"its first layer {name!r} expects {layer.in_channels} input channels"
    return "check the input shape the model's forward() expects"


def _first_output(out: object) -> object:
    # Models returning (logits, extras) are compared on their first output, as converted.
    return out[0] if isinstance(out, tuple | list) else out


def _import_file(path: Path) -> object:
    """Import PATH as a fresh module; its directory is on sys.path meanwhile for its own imports."""
    name = f"_edgetx_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise UserError(f"importing {path} failed: {type(e).__name__}: {e}") from None
    finally:
        sys.path.remove(folder)
    return module


def _load_onnx(spec: str, path: Path) -> FloatModel:
    if not path.is_file():
        raise UserError(f"model file {path} not found; check the path {spec!r}")
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:
        raise UserError(f"{path} is not a loadable ONNX model: {e}") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise UserError(f"{path} has {len(inputs)} inputs; edgetx converts single-input models")
    dims = inputs[0].shape[1:]  # the first dimension is the batch
    input_shape = tuple(dims) if all(isinstance(d, int) for d in dims) else None

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {inputs[0].name: batch})[0]

    def to_tflite(sample: np.ndarray, work: Path) -> Path:
        from edgetx_converters.onnx_to_tflite import onnx_to_tflite

        return onnx_to_tflite(path, work)

    expects = f"it expects samples of shape {list(input_shape or dims)}"
    return FloatModel(spec, "onnx", run, to_tflite, input_shape, expects)
