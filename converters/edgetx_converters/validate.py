"""Check that a quantized model is full-integer int8 and uses only TFLite Micro int8 kernels."""

from __future__ import annotations

from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Model, Operator, Tensor

# Operators TFLite Micro runs with int8 activations, as edgetx supports them.
INT8_OPS = frozenset({
    "FULLY_CONNECTED", "BATCH_MATMUL", "CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D",
    "MAX_POOL_2D", "ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "RSQRT", "MEAN", "SOFTMAX", "TANH",
    "LOGISTIC", "HARD_SWISH", "RELU", "RELU6", "RESHAPE", "TRANSPOSE", "GATHER", "CONCATENATION",
    "SLICE", "STRIDED_SLICE", "PAD", "QUANTIZE",
})  # fmt: skip

_HINTS = {
    "GELU": "use nn.ReLU, or write GELU's tanh approximation out with mul, add and tanh",
    "DEQUANTIZE": "the quantizer left a float island here; the operator after it has no int8"
    " version, replace it",
    "QUANTIZE": "the quantizer left a float island here; the operator before it has no int8"
    " version, replace it",
    "SUM": "use a mean (x.mean(dim)) and fold the scale into the next layer",
    "SQUEEZE": "use reshape instead",
    "EXPAND_DIMS": "use reshape instead",
}


def check_int8(model: Model) -> None:
    """Raise UnsupportedModel naming the first operator or tensor that breaks the int8 contract."""
    for op in model.operators:
        if op.opcode not in INT8_OPS:
            hint = _HINTS.get(op.opcode, f"express it with supported operators: {_op_list()}")
            raise UnsupportedModel(
                f"operator {op.opcode} (tensor {_out_name(model, op)!r}) has no TensorFlow Lite"
                f" Micro int8 kernel; {hint}"
            )
    for role, index in (("input", model.inputs[0]), ("output", model.outputs[0])):
        t = model.tensor(index)
        if t.dtype != "INT8" or t.scale.size == 0:
            raise UnsupportedModel(
                f"model {role} {t.name!r} is {t.dtype}{'' if t.scale.size else ' unquantized'},"
                " not int8; the quantizer could not quantize the model end to end"
            )
    users = _tensor_users(model)
    for t in model.tensors:
        problem = _dtype_problem(t)
        if problem:
            where = f"operator {users[t.index].opcode} " if t.index in users else ""
            raise UnsupportedModel(
                f"{where}tensor {t.name!r} {problem}; the model is not full-integer int8, so"
                " TFLite Micro cannot run it as converted"
            )


def _dtype_problem(t: Tensor) -> str | None:
    if t.dtype == "INT8":
        return None if t.scale.size else "is int8 without quantization parameters"
    if t.dtype == "INT32":
        # Biases, shapes and axes are int32 constants; an int32 activation is not int8 data.
        return None if t.is_constant else "is an int32 activation"
    return f"is {t.dtype}"


def _tensor_users(model: Model) -> dict[int, Operator]:
    users: dict[int, Operator] = {}
    for op in model.operators:
        for index in [*op.outputs, *op.inputs]:
            users.setdefault(index, op)
    return users


def _out_name(model: Model, op: Operator) -> str:
    return model.tensor(op.outputs[0]).name if op.outputs else f"#{op.index}"


def _op_list() -> str:
    return ", ".join(sorted(INT8_OPS))
