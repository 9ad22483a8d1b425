"""ONNX -> float TFLite: onnx2tf writes a TensorFlow SavedModel, TFLiteConverter converts it.

onnx2tf's own .tflite carries no signature, which the quantizer needs; the SavedModel has one.

onnx2tf guesses NCHW -> NHWC layouts. The input is pinned to its ONNX shape, and a result
whose input shape still differs is refused. It handles MLPs and small conv nets; on
transformer graphs it often fails (shape mismatches in attention), which becomes
UnsupportedModel: export the PyTorch module itself (file.py:factory) instead.
"""

from __future__ import annotations

from pathlib import Path

from edgetx.errors import UnsupportedModel
from edgetx_converters.quiet import first_line

_ADVICE = "pass the PyTorch model as file.py:factory instead of ONNX"
_INPUT = "input"


def onnx_to_tflite(onnx_path: Path, work: Path) -> Path:
    """Convert ONNX_PATH to WORK/float.tflite (float32, one signature); return its path."""
    import onnx
    import onnx2tf
    import tensorflow as tf

    graph = _with_plain_input_name(onnx.load(str(onnx_path)))
    renamed = work / "model.onnx"
    onnx.save(graph, str(renamed))
    out_dir = work / "onnx2tf"
    try:
        onnx2tf.convert(
            input_onnx_file_path=str(renamed),
            output_folder_path=str(out_dir),
            batch_size=1,
            keep_shape_absolutely_input_names=[_INPUT],
            output_signaturedefs=True,
            non_verbose=True,
        )
    except BaseException as e:  # onnx2tf calls sys.exit on some failures
        if isinstance(e, KeyboardInterrupt):
            raise
        raise UnsupportedModel(
            f"onnx2tf could not convert {onnx_path.name} ({type(e).__name__}: {first_line(e)});"
            f" {_ADVICE}"
        ) from None
    try:
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(out_dir)).convert()
    except Exception as e:
        raise UnsupportedModel(
            f"TFLiteConverter could not convert onnx2tf's SavedModel for {onnx_path.name}"
            f" ({type(e).__name__}: {first_line(e)}); {_ADVICE}"
        ) from None
    float_tflite = work / "float.tflite"
    float_tflite.write_bytes(flatbuffer)
    _check_input_layout(graph, float_tflite)
    return float_tflite


def _with_plain_input_name(graph: object) -> object:
    """Rename the graph input to a plain identifier: onnx2tf rewrites names such as
    'onnx::Flatten_0', and then no longer recognises them in keep_shape_absolutely_input_names."""
    old = graph.graph.input[0].name
    graph.graph.input[0].name = _INPUT
    for node in graph.graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = _INPUT
    return graph


def _check_input_layout(graph: object, float_tflite: Path) -> None:
    from edgetx.tflite_model import load_model

    dims = graph.graph.input[0].type.tensor_type.shape.dim
    onnx_shape = (1, *(d.dim_value for d in dims[1:]))
    tflite_shape = load_model(float_tflite).input.shape
    if tuple(tflite_shape) != onnx_shape:
        raise UnsupportedModel(
            f"onnx2tf changed the input layout from {list(onnx_shape)} to {list(tflite_shape)};"
            f" {_ADVICE}"
        )
