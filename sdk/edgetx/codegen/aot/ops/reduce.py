"""Reductions over constant axes: MEAN and SUM."""

from __future__ import annotations

import numpy as np

from edgetx.codegen.aot import fixedpoint as fx
from edgetx.codegen.aot.ops.common import (
    Context,
    Emitted,
    Emitter,
    c_ints,
    scale,
    strides,
    zero_point,
)
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Operator, Tensor


def reduce_multiplier(opcode: str, x: Tensor, out: Tensor, count: int) -> tuple[int, int]:
    """(multiplier, shift) of a MEAN or SUM of count int8/int16 values, as TFLM's Prepare."""
    mult, shift = fx.quantize_multiplier(scale(x) / scale(out))
    if opcode == "MEAN":
        # TFLM folds 1/count into the multiplier with integer arithmetic.
        n_shift = min(count.bit_length() - 1, 32, 31 + shift)
        mult = fx.wrap32((mult << n_shift) // count)
        shift -= n_shift
    return mult, shift


def emit_mean(ctx: Context, op: Operator, name: str) -> Emitted:
    m = ctx.model
    x, axis_t, out = m.tensors[op.inputs[0]], m.tensors[op.inputs[1]], m.tensors[op.outputs[0]]
    if not axis_t.is_constant:
        raise UnsupportedModel(f"MEAN #{op.index} needs constant axes")
    rank = len(x.shape)
    axes = sorted({int(a) % rank for a in np.ravel(axis_t.data)})
    st = strides(x.shape)
    kept = [d for d in range(rank) if d not in axes]
    count = int(np.prod([x.shape[d] for d in axes]))
    mult, shift = reduce_multiplier(op.opcode, x, out, count)
    consts = [
        f"static const etx_mean_params {name}_p = {{{len(kept)}, "
        f"{c_ints([x.shape[d] for d in kept])}, {c_ints([st[d] for d in kept])}, {len(axes)}, "
        f"{c_ints([x.shape[d] for d in axes])}, {c_ints([st[d] for d in axes])}, "
        f"{zero_point(x)}, {count}, {mult}, {shift}, {zero_point(out)}, "
        f"{x.np_dtype.itemsize}}};"
    ]
    call = f"etx_mean(&{name}_p, {ctx.addr(op.inputs[0])}, {ctx.addr(op.outputs[0])});"
    return Emitted(call, consts)


INT8: dict[str, Emitter] = {"MEAN": emit_mean, "SUM": emit_mean}
INT16: dict[str, Emitter] = {"MEAN": emit_mean, "SUM": emit_mean}
