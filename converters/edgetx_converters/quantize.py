"""Float TFLite -> full-integer TFLite with ai-edge-quantizer's static recipes.

Two activation types: int8 (weights and activations int8) and int16 (16x8: int16 activations,
int8 weights, int64 biases), which TensorFlow Lite Micro runs for fewer operators.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Model, parse_model
from edgetx_converters.quiet import first_line

ACTIVATIONS = ("int8", "int16")

# Operators that ai-edge-quantizer's 16x8 recipe quantizes AND the tflite-micro wheel runs with
# int16 activations, each checked there on a small model (RSQRT included: a legalized LayerNorm
# runs in 16x8 once prepare_int16 rewrites its SQUARED_DIFFERENCE). Measured outside it: the
# quantizer leaves SQUARED_DIFFERENCE and HARD_SWISH in float; TFLite Micro fails on DIV
# (invoke) and GATHER_ND (allocation) in int16; GELU has no kernel at all; GATHER is int8-only.
INT16_OPS = frozenset({
    "FULLY_CONNECTED", "BATCH_MATMUL", "CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D",
    "MAX_POOL_2D", "ADD", "SUB", "MUL", "MEAN", "SUM", "RSQRT", "SOFTMAX", "TANH", "LOGISTIC",
    "RESHAPE", "TRANSPOSE", "CONCATENATION", "SLICE", "STRIDED_SLICE", "PAD", "QUANTIZE",
})  # fmt: skip

_WEIGHTED_OPS = frozenset({"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"})
_INT16_HINTS = {
    "GELU": "no TFLite Micro kernel at all",
    "GATHER": "an embedding lookup",
    "GATHER_ND": "indexing with a list of positions",
}


def prepare_int16(float_tflite: Path) -> Path:
    """Make FLOAT_TFLITE ready for 16x8 or refuse it (check_int16_ops); return its path.

    TFLite's converter writes a product of two activations (q @ k.T of single-head attention)
    as a FULLY_CONNECTED with computed weights. TFLite Micro's 16x8 FULLY_CONNECTED needs
    constant int8 weights (it failed in Prepare), so such an op is rewritten, in place, as the
    BATCH_MATMUL it is (adj_y), which runs in 16x8: identical float outputs, cosine 0.99999
    against float in int16 on a one-head attention block. LayerNorm's SQUARED_DIFFERENCE,
    which the quantizer leaves in float in 16x8, becomes SUB then MUL.
    """
    from edgetx_converters import legalize

    raw = Path(float_tflite).read_bytes()
    record = legalize.read_record(float_tflite)
    for rewrite, name, how in (
        (_computed_fc_as_batch_matmul, "computed_fc",
         "FULLY_CONNECTED with computed weights -> BATCH_MATMUL (adj_y), for 16x8"),
        (_squared_difference_as_sub_mul, "squared_difference",
         "SQUARED_DIFFERENCE (LayerNorm's variance) -> SUB then MUL, for 16x8"),
    ):  # fmt: skip
        raw, count = rewrite(raw)
        if count:
            record.append({"rewrite": name, "count": count, "how": how})
    Path(float_tflite).write_bytes(raw)
    legalize.write_record(record, float_tflite)
    check_int16_ops(parse_model(raw))
    return Path(float_tflite)


def _computed_fc_as_batch_matmul(raw: bytes) -> tuple[bytes, int]:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(raw, 0))
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    fc, bmm = schema.BuiltinOperator.FULLY_CONNECTED, schema.BuiltinOperator.BATCH_MATMUL

    def constant(index: int) -> bool:
        data = model.buffers[graph.tensors[index].buffer].data
        return data is not None and len(data) > 0

    def rewritable(op: object) -> bool:
        if codes[op.opcodeIndex] != fc or constant(op.inputs[1]):
            return False
        lhs, rhs = (list(graph.tensors[i].shape) for i in op.inputs[:2])
        no_bias = len(op.inputs) < 3 or op.inputs[2] < 0
        plain = op.builtinOptions is None or op.builtinOptions.fusedActivationFunction == 0
        out = list(graph.tensors[op.outputs[0]].shape)
        return no_bias and plain and len(rhs) == 2 and out == [*lhs[:-1], rhs[0]]

    ops = [op for op in graph.operators if rewritable(op)]
    if not ops:
        return raw, 0
    if bmm not in codes:
        code = schema.OperatorCodeT()
        code.builtinCode, code.deprecatedBuiltinCode, code.version = bmm, bmm, 1
        model.operatorCodes.append(code)
        codes.append(bmm)
    for op in ops:
        op.opcodeIndex = codes.index(bmm)
        op.inputs = list(op.inputs[:2])
        options = schema.BatchMatMulOptionsT()
        options.adjX, options.adjY = False, True
        op.builtinOptionsType = schema.BuiltinOptions.BatchMatMulOptions
        op.builtinOptions = options
    builder = flatbuffers.Builder(len(raw))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), len(ops)


def _squared_difference_as_sub_mul(raw: bytes) -> tuple[bytes, int]:
    """SQUARED_DIFFERENCE(a, b) -> d = SUB(a, b); MUL(d, d): the same float function, but the
    quantizer leaves SQUARED_DIFFERENCE in float in 16x8. New tensors go at the end, so the
    indices the per-tensor error report matches on stay valid."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(raw, 0))
    graph = model.subgraphs[0]
    op_codes = schema.BuiltinOperator
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    if op_codes.SQUARED_DIFFERENCE not in codes:
        return raw, 0

    def code_index(builtin: int) -> int:
        if builtin not in codes:
            code = schema.OperatorCodeT()
            code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, builtin, 1
            model.operatorCodes.append(code)
            codes.append(builtin)
        return codes.index(builtin)

    sub, mul = code_index(op_codes.SUB), code_index(op_codes.MUL)
    operators, count = [], 0
    for op in graph.operators:
        operators.append(op)
        if codes[op.opcodeIndex] != op_codes.SQUARED_DIFFERENCE:
            continue
        out = graph.tensors[op.outputs[0]]
        diff = schema.TensorT()
        diff.shape, diff.type, diff.buffer = list(out.shape), out.type, 0
        diff.name = (out.name or b"") + b"/diff"
        graph.tensors.append(diff)
        d = len(graph.tensors) - 1
        square = schema.OperatorT()
        square.opcodeIndex, square.inputs, square.outputs = mul, [d, d], list(op.outputs)
        square.builtinOptionsType = schema.BuiltinOptions.MulOptions
        square.builtinOptions = schema.MulOptionsT()
        op.opcodeIndex, op.outputs = sub, [d]
        op.builtinOptionsType = schema.BuiltinOptions.SubOptions
        op.builtinOptions = schema.SubOptionsT()
        operators.append(square)
        count += 1
    graph.operators = operators
    builder = flatbuffers.Builder(len(raw))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), count


def check_int16_ops(float_model: Model) -> None:
    """Refuse 16x8 quantization of a model with any operator outside INT16_OPS, naming them all.

    A FULLY_CONNECTED whose weights are computed is refused too (when prepare_int16 could not
    rewrite it): TFLite Micro's 16x8 kernel needs constant int8 weights.
    """
    missing = sorted(set(float_model.op_counts()) - INT16_OPS)
    named = [f"{op} ({_INT16_HINTS[op]})" if op in _INT16_HINTS else op for op in missing]
    if any(
        op.opcode == "FULLY_CONNECTED" and not float_model.tensor(op.inputs[1]).is_constant
        for op in float_model.operators
    ):
        named.append(
            "FULLY_CONNECTED with computed weights (a product of two activations, with a bias"
            " or fused activation; write it as a plain matmul)"
        )
    if named:
        raise UnsupportedModel(
            f"--activations int16 needs every operator to run with int16 activations in"
            f" TensorFlow Lite Micro, and these do not: {', '.join(named)}; convert with"
            " --activations int8 (the default), or replace these operators"
        )


def check_int16(model: Model) -> None:
    """Raise UnsupportedModel unless MODEL is full-integer 16x8: int16 activations and I/O,
    constants int8 (weights), int16 (elementwise operands), int32 or int64 (biases, shapes)."""
    for op in model.operators:
        if op.opcode not in INT16_OPS:
            raise UnsupportedModel(
                f"operator {op.opcode} has no int16 TensorFlow Lite Micro kernel; the quantizer"
                " left it in the model; convert with --activations int8"
            )
        if op.opcode in _WEIGHTED_OPS and model.tensor(op.inputs[1]).dtype != "INT8":
            raise UnsupportedModel(
                f"operator {op.opcode} has {model.tensor(op.inputs[1]).dtype} weights; TensorFlow"
                " Lite Micro's 16x8 kernel needs int8 ones; convert with --activations int8"
            )
    for t in model.tensors:
        if t.is_constant:
            ok = t.dtype in ("INT32", "INT64") or (t.dtype in ("INT8", "INT16") and t.scale.size)
        else:
            ok = t.dtype == "INT16" and t.scale.size > 0
        if not ok:
            raise UnsupportedModel(
                f"tensor {t.name!r} is {t.dtype}{'' if t.scale.size else ' unquantized'}: the"
                " model is not full-integer 16x8; convert with --activations int8"
            )


def quantize(float_tflite: Path, calib: np.ndarray, activations: str = "int8") -> bytes:
    """Quantize weights (int8, per channel) and activations (ACTIVATIONS), calibrated on
    CALIB [N, ...].

    Activation ranges are the min and max over all calibration samples. The quantizer's
    default (a moving average over samples) under-estimates ranges: on a trained tiny audio
    transformer its worst-case output cosine against float was 0.948, against 0.991 here.
    """
    from ai_edge_litert.interpreter import Interpreter

    float_bytes = Path(float_tflite).read_bytes()
    signatures = Interpreter(model_content=float_bytes).get_signature_list()
    if len(signatures) != 1:
        raise UnsupportedModel(f"the float model has {len(signatures)} signatures; expected 1")
    ((key, io),) = signatures.items()
    if len(io["inputs"]) != 1:
        raise UnsupportedModel(f"the model has {len(io['inputs'])} inputs; expected 1")
    samples = [{io["inputs"][0]: x[None]} for x in calib]
    try:
        return _quantize(float_bytes, key, samples, activations)
    except Exception as e:
        raise UnsupportedModel(
            f"ai-edge-quantizer could not quantize the model ({type(e).__name__}: {first_line(e)})"
        ) from None


def _quantize(float_bytes: bytes, key: str, samples: list[dict], activations: str) -> bytes:
    from ai_edge_quantizer import calibrator, quantizer, recipe, recipe_manager
    from ai_edge_quantizer.utils import qsv_utils

    chosen = recipe.static_wi8_ai16() if activations == "int16" else recipe.static_wi8_ai8()
    manager = recipe_manager.RecipeManager()
    manager.load_quantization_recipe(chosen)
    calib_run = calibrator.Calibrator(float_bytes, qsv_update_func=qsv_utils.min_max_update)
    calib_run.calibrate({key: samples}, manager)

    q = quantizer.Quantizer(float_bytes)
    q.load_quantization_recipe(chosen)
    return bytes(q.quantize(calib_run.get_model_qsvs()).quantized_model)
