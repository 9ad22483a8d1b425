"""Check that a quantized model is full-integer int8 and uses only TFLite Micro int8 kernels."""

from __future__ import annotations

from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Model, Operator, Tensor

# Operators TFLite Micro runs with int8 activations, as edgetx supports them (the AOT
# generator implements exactly these).
INT8_OPS = frozenset({
    "FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX", "ADD", "SUB", "MUL", "MEAN", "SUM",
    "SQUARED_DIFFERENCE", "RSQRT", "TANH", "LOGISTIC", "HARD_SWISH", "RELU", "RESHAPE",
    "TRANSPOSE", "GATHER", "CONCATENATION", "SLICE", "STRIDED_SLICE", "PAD", "CONV_2D",
    "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "QUANTIZE",
})  # fmt: skip

_HINTS = {
    "GELU": "write it as x * torch.sigmoid(1.5958 * (x + 0.044715 * x * x * x)), or convert"
    " from PyTorch, where edgetx rewrites GELU so",
    "POW": "use x * x for squares and cubes; other powers have no int8 form",
    "EXP": "use torch.softmax or torch.sigmoid, which have int8 kernels, instead of exp",
    "RELU6": "use nn.ReLU or nn.Hardswish",
    "SQUEEZE": "use reshape instead",
    "EXPAND_DIMS": "use reshape instead",
}
_ISLAND = ("DEQUANTIZE", "QUANTIZE")


def check_int8(model: Model) -> None:
    """Raise UnsupportedModel naming the first operator or tensor that breaks the int8 contract,
    with the source layer it came from."""
    for op in model.operators:
        if op.opcode not in INT8_OPS or (op.opcode == "QUANTIZE" and _is_float(model, op)):
            culprit = _island_operator(model, op)
            hint = _HINTS.get(
                culprit.opcode, f"replace it with operations from this list: {_op_list()}"
            )
            raise UnsupportedModel(
                f"operator {culprit.opcode} from {source_layer(_out_name(model, culprit))} has no"
                f" TensorFlow Lite Micro int8 kernel; {hint}"
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


def source_layer(tensor_name: str) -> str:
    """The PyTorch layer a litert-torch tensor name comes from, as 'layer a.b.0.c (Class)'.

    litert-torch names tensors by module path, 'Root/Class_attr/Class_attr;N' (containers
    such as nn.ModuleList do not appear, their items do as 'Class_index').
    """
    path = tensor_name.split(";")[0].split("/")[1:]
    parts = [p.partition("_") for p in path if "_" in p]
    if not parts:
        return f"tensor {tensor_name!r}"
    return f"layer {'.'.join(attr for _, _, attr in parts)!r} ({parts[-1][0]})"


def _is_float(model: Model, op: Operator) -> bool:
    return model.tensor(op.inputs[0]).dtype not in ("INT8", "INT16")


def _island_operator(model: Model, op: Operator) -> Operator:
    """For a float island (DEQUANTIZE ... QUANTIZE), the float operator inside it: that is
    the one the user has to change."""
    if op.opcode not in _ISLAND:
        return op
    for other in model.operators:
        inside = other.opcode not in _ISLAND
        if op.opcode == "DEQUANTIZE" and inside and op.outputs[0] in other.inputs:
            return other
        if op.opcode == "QUANTIZE" and inside and op.inputs[0] in other.outputs:
            return other
    return op


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
