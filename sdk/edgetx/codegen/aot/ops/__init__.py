"""Per-operator code emitters: TFLite operator -> one runtime call and its constants.

Each emitter derives the kernel's parameters exactly as TFLM's Prepare step
does (including where TFLM computes in float rather than double) and returns
the C statements for the call. Emitters are registered per operator and per
activation type (int8, or int16 for 16x8 models); anything else is refused.
"""

from __future__ import annotations

from edgetx.codegen.aot.ops import (
    conv,
    elementwise,
    matmul,
    matmul16,
    maxpool,
    reduce,
    shape,
    tables,
    unary16,
)
from edgetx.codegen.aot.ops.common import Context, Emitted, Emitter
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Operator

_MODULES = (matmul, matmul16, elementwise, tables, reduce, shape, conv, unary16, maxpool)
EMITTERS: dict[str, dict[str, Emitter]] = {"INT8": {}, "INT16": {}}
for _module in _MODULES:
    for _dtype in EMITTERS:
        EMITTERS[_dtype].update(getattr(_module, _dtype, {}))


def emit(ctx: Context, op: Operator) -> Emitted:
    """The C for one operator, or UnsupportedModel naming what the runtime lacks."""
    dtype = ctx.tensor(op.outputs[0]).dtype
    if op.opcode not in EMITTERS["INT8"] and op.opcode not in EMITTERS["INT16"]:
        supported = ", ".join(sorted(set(EMITTERS["INT8"]) | set(EMITTERS["INT16"])))
        raise UnsupportedModel(
            f"operator {op.opcode} (#{op.index}) is not supported by the AOT runtime; "
            f"supported: {supported}"
        )
    emitter = EMITTERS.get(dtype, {}).get(op.opcode)
    if emitter is None:
        raise UnsupportedModel(
            f"operator {op.opcode} (#{op.index}) with {dtype} activations is not supported "
            "by the AOT runtime; convert with int8 activations (the default of 'edgetx convert')"
        )
    return emitter(ctx, op, f"op{op.index}")


__all__ = ["EMITTERS", "Context", "Emitted", "emit"]
