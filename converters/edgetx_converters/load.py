"""Load the user's model: `file.py:factory` (a torch.nn.Module) or a model file.

Files: TorchScript (.pt/.ts, torch.jit.save), torch.export (.pt2, torch.export.save), ONNX
(.onnx), Keras 3 (.keras, model.save) and float TensorFlow Lite (.tflite, quantized only).
Each becomes a FloatModel: a float reference to compare the quantized model against, plus the
step that turns it into a float TFLite flatbuffer. A file that is not what its suffix says is
a UserError (exit 2); a model edgetx cannot convert is UnsupportedModel (exit 3).
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetx.errors import UnsupportedModel, UserError
from edgetx_converters.quiet import first_line


@dataclass
class FloatModel:
    spec: str  # as the user gave it
    kind: str  # "torch", "torchscript", "torch.export", "onnx", "keras" or "tflite"
    run: Callable[[np.ndarray], np.ndarray]  # float32 batch [1, ...] -> outputs [1, ...]
    to_tflite: Callable[[np.ndarray, Path], Path]  # (sample batch, work dir) -> float .tflite
    input_shape: tuple[int, ...] | None  # without batch dim, when the model declares it
    expects: str  # what input the model wants, for error messages


def load(spec: str) -> FloatModel:
    """Resolve SPEC ('path/model.py:factory' or a model file) into a FloatModel."""
    path_part, sep, factory = spec.rpartition(":")
    if sep and path_part.endswith(".py"):
        return _load_torch(spec, Path(path_part), factory)
    path = Path(spec)
    if path.suffix == ".py":
        raise UserError(
            f"model {spec!r} names a Python file but no factory; write it as {spec}:FACTORY,"
            " where FACTORY is a function in that file returning the torch.nn.Module"
        )
    loader = _FILE_LOADERS.get(path.suffix)
    if loader is None:
        hint = _OTHER_SUFFIXES.get(path.suffix, "")
        raise UserError(
            f"model {spec!r} is neither 'file.py:factory' nor a {', '.join(_FILE_LOADERS)} file"
            + (f"; {hint}" if hint else "")
        )
    if not path.is_file():
        raise UserError(f"model file {path} not found; check the path {spec!r}")
    return loader(spec, path)


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
    sys.modules[name] = module  # dataclasses and pickling look their module up there
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise UserError(f"importing {path} failed: {type(e).__name__}: {e}") from None
    finally:
        sys.path.remove(folder)
    return module


def _load_onnx(spec: str, path: Path) -> FloatModel:
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


def _torch_run(module: Callable) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return _first_output(module(torch.from_numpy(batch))).numpy()

    return run


def _load_torchscript(spec: str, path: Path) -> FloatModel:
    save_hint = "save the model with torch.jit.save(torch.jit.trace(model, (example,)), path)"
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a TorchScript file (not a zip archive); {save_hint}")
    with zipfile.ZipFile(path) as archive:
        scripted = any(n.endswith("/constants.pkl") for n in archive.namelist())
    if not scripted:
        raise UserError(
            f"{path} is a torch.save file (a pickled model or state_dict), not TorchScript; it"
            f" needs the model's code: pass file.py:factory, or {save_hint}"
        )
    import torch

    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as e:
        raise UserError(
            f"{path} is not a readable TorchScript file ({type(e).__name__}: {first_line(e)});"
            f" {save_hint}"
        ) from None
    module.eval()

    def to_tflite(sample: np.ndarray, work: Path) -> Path:
        from torch._export.converter import TS2EPConverter

        from edgetx_converters.torch_to_tflite import torch_to_tflite

        try:
            program = TS2EPConverter(module, (torch.from_numpy(sample),)).convert()
        except Exception as e:
            raise UnsupportedModel(
                f"torch cannot turn the TorchScript model {path.name} into an exported program"
                f" ({type(e).__name__}: {first_line(e)}); save it with torch.export.save as"
                " .pt2, or pass the PyTorch model as file.py:factory"
            ) from None
        net = program.module()
        for node in net.graph.nodes:
            # TS2EPConverter leaves torch.compile-disable markers in the node metadata, which
            # made the next torch.export fail ("Mismatch in custom metadata") on traced models.
            node.meta.pop("custom", None)
        return torch_to_tflite(net, sample, work / "float.tflite")

    expects = "check the input shape the TorchScript model's forward() expects"
    return FloatModel(spec, "torchscript", _torch_run(module), to_tflite, None, expects)


def _load_exported(spec: str, path: Path) -> FloatModel:
    import torch

    try:
        program = torch.export.load(str(path))
    except Exception as e:
        raise UserError(
            f"{path} is not a torch.export archive ({type(e).__name__}: {first_line(e)}); save"
            " it with torch.export.save(torch.export.export(model, (example,)), 'model.pt2')"
        ) from None
    user_inputs = set(program.graph_signature.user_inputs)
    inputs = [n for n in program.graph.nodes if n.op == "placeholder" and n.name in user_inputs]
    if len(inputs) != 1:
        raise UnsupportedModel(
            f"{path} takes {len(inputs)} inputs; edgetx converts models with one input tensor"
        )
    shape = tuple(inputs[0].meta["val"].shape)
    if isinstance(shape[0], int) and shape[0] != 1:
        raise UserError(
            f"{path} was exported for a batch of {shape[0]}; export it with a batch of one"
            " example, e.g. torch.export.export(model, (x[:1],))"
        )
    dims = shape[1:]
    input_shape = tuple(dims) if all(isinstance(d, int) for d in dims) else None
    module = program.module()

    def to_tflite(sample: np.ndarray, work: Path) -> Path:
        from edgetx_converters.torch_to_tflite import torch_to_tflite

        return torch_to_tflite(module, sample, work / "float.tflite")

    expects = f"it was exported for samples of shape [{', '.join(str(d) for d in dims)}]"
    return FloatModel(spec, "torch.export", _torch_run(module), to_tflite, input_shape, expects)


def _load_keras(spec: str, path: Path) -> FloatModel:
    if not zipfile.is_zipfile(path):
        raise UserError(
            f"{path} is not a Keras .keras file (not a zip archive); save the model with"
            " model.save('model.keras')"
        )
    import keras

    try:
        net = keras.saving.load_model(str(path), compile=False)
    except Exception as e:
        raise UnsupportedModel(
            f"Keras could not load {path} ({type(e).__name__}: {first_line(e)}); edgetx reads"
            " Keras 3 models built from Keras's own layers, without custom objects"
        ) from None
    if len(net.inputs) != 1:
        raise UnsupportedModel(
            f"{path} takes {len(net.inputs)} inputs; edgetx converts models with one input tensor"
        )
    dims = tuple(net.inputs[0].shape[1:])
    input_shape = dims if all(isinstance(d, int) for d in dims) else None

    def run(batch: np.ndarray) -> np.ndarray:
        return np.asarray(_first_output(net(batch, training=False)))

    def to_tflite(sample: np.ndarray, work: Path) -> Path:
        import tensorflow as tf

        # A batch of one, so every shape is static (no SHAPE, GATHER, PACK for the batch).
        inp = keras.Input(batch_shape=sample.shape)
        try:
            flat = tf.lite.TFLiteConverter.from_keras_model(
                keras.Model(inp, _first_output(net(inp)))
            ).convert()
        except Exception as e:
            raise UnsupportedModel(
                f"TFLiteConverter could not convert {path.name} ({type(e).__name__}:"
                f" {first_line(e)}); use Keras's built-in layers"
            ) from None
        return _write_float(flat, work / "float.tflite")

    expects = f"it expects samples of shape {list(dims)}"
    return FloatModel(spec, "keras", run, to_tflite, input_shape, expects)


def _load_tflite(spec: str, path: Path) -> FloatModel:
    from ai_edge_litert.interpreter import Interpreter

    from edgetx.tflite_model import parse_model

    raw = path.read_bytes()
    if raw[4:8] != b"TFL3":
        raise UserError(f"{path} is not a TensorFlow Lite flatbuffer (no TFL3 identifier)")
    model = parse_model(raw)
    if len(model.inputs) != 1:
        raise UnsupportedModel(
            f"{path} takes {len(model.inputs)} inputs; edgetx converts models with one input"
        )
    if model.input.dtype != "FLOAT32":
        raise UserError(
            f"{path} is already quantized (its input is {model.input.dtype}); edgetx quantizes"
            " float models itself: pass the float .tflite"
        )
    try:
        interpreter = Interpreter(model_content=raw)
        interpreter.allocate_tensors()
    except Exception as e:
        raise UnsupportedModel(
            f"TensorFlow Lite cannot load {path} ({type(e).__name__}: {first_line(e)})"
        ) from None
    if len(interpreter.get_signature_list()) != 1:
        raise UnsupportedModel(
            f"{path} has {len(interpreter.get_signature_list())} signatures; the quantizer needs"
            " exactly one: convert with tf.lite.TFLiteConverter.from_saved_model or"
            " from_keras_model, which add one"
        )
    in_index = interpreter.get_input_details()[0]["index"]
    out_index = interpreter.get_output_details()[0]["index"]

    def run(batch: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(in_index, batch)
        interpreter.invoke()
        return interpreter.get_tensor(out_index).copy()

    def to_tflite(sample: np.ndarray, work: Path) -> Path:
        return _write_float(raw, work / "float.tflite")

    dims = model.input.shape[1:]
    expects = f"it expects samples of shape {list(dims)}"
    return FloatModel(spec, "tflite", run, to_tflite, tuple(dims), expects)


def _write_float(raw: bytes, out: Path) -> Path:
    """Write a float TFLite model to OUT with NEG rewritten, recording the rewrite."""
    from edgetx_converters import legalize

    raw, count = _neg_as_mul(raw)
    out.write_bytes(raw)
    if count:
        how = "NEG -> MUL by -1 (Keras LayerNormalization writes a NEG; it has no int8 version)"
        legalize.write_record([{"rewrite": "neg", "count": count, "how": how}], out)
    return out


def _neg_as_mul(raw: bytes) -> tuple[bytes, int]:
    """Rewrite NEG(x) as MUL(x, -1) in a float TFLite model; return it and the NEGs rewritten.

    TFLiteConverter writes Keras's LayerNormalization with a NEG, which neither ai-edge-quantizer
    nor TFLite Micro runs in int8: it became a float island (DEQUANTIZE, NEG, QUANTIZE). MUL by
    -1 quantizes exactly (int8 -127 at scale 1/127).
    """
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(raw, 0))
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    neg, mul = schema.BuiltinOperator.NEG, schema.BuiltinOperator.MUL
    if neg not in codes:
        return raw, 0
    if mul not in codes:
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = mul
        code.version = 1
        model.operatorCodes.append(code)
        codes.append(mul)
    buffer = schema.BufferT()
    buffer.data = np.array([-1.0], np.float32).tobytes()
    model.buffers.append(buffer)
    minus_one = schema.TensorT()
    minus_one.shape, minus_one.type, minus_one.name = [], schema.TensorType.FLOAT32, "minus_one"
    minus_one.buffer = len(model.buffers) - 1
    graph = model.subgraphs[0]
    graph.tensors.append(minus_one)
    negs = [op for op in graph.operators if codes[op.opcodeIndex] == neg]
    for op in negs:
        op.opcodeIndex = codes.index(mul)
        op.inputs = [op.inputs[0], len(graph.tensors) - 1]
        op.builtinOptionsType = schema.BuiltinOptions.MulOptions
        op.builtinOptions = schema.MulOptionsT()
    builder = flatbuffers.Builder(len(raw))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), len(negs)


_FILE_LOADERS = {
    ".pt": _load_torchscript,
    ".ts": _load_torchscript,
    ".pt2": _load_exported,
    ".onnx": _load_onnx,
    ".keras": _load_keras,
    ".tflite": _load_tflite,
}
_OTHER_SUFFIXES = {
    ".h5": "re-save the Keras model as .keras with model.save('model.keras')",
    ".pth": "a torch.save file needs the model's code: pass file.py:factory",
}
