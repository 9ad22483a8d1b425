"""FULLY_CONNECTED and BATCH_MATMUL with int16 activations (16x8)."""

from __future__ import annotations

import numpy as np

from edgetx.codegen.aot import fixedpoint as fx
from edgetx.codegen.aot.ops.common import (
    Context,
    Emitted,
    Emitter,
    activation_range,
    bmm_shape,
    c_array,
    fc_multipliers,
    scale,
    zero_point,
)
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Operator


def emit_fully_connected16(ctx: Context, op: Operator, name: str) -> Emitted:
    x, w, out = (ctx.tensor(t) for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
    bias = ctx.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    if not w.is_constant or w.dtype != "INT8" or np.any(w.zero_point != 0):
        raise UnsupportedModel(f"FULLY_CONNECTED #{op.index} needs constant symmetric int8 weights")
    if zero_point(x) != 0 or zero_point(out) != 0:
        raise UnsupportedModel(f"FULLY_CONNECTED #{op.index}: 16x8 needs zero points of 0")
    out_depth, depth = w.shape[-2], w.shape[-1]
    mult, shift = fc_multipliers(x, w, out)
    # TFLM accumulates 16x8 in int64 unless the bias is int32, so also when there is none.
    acc64 = bias is None or bias.dtype == "INT64"
    bias_data = bias.data if bias is not None else np.zeros(out_depth, np.int64)
    lo, hi = activation_range(op, out)
    consts = [
        c_array(f"{name}_w", w.data, np.int8),
        c_array(f"{name}_b", bias_data, np.int64 if acc64 else np.int32),
        c_array(f"{name}_m", np.array(mult), np.int32),
        c_array(f"{name}_s", np.array(shift), np.int32),
        f"static const etx_mm16_params {name}_p = {{1, {x.size // depth}, {depth}, {out_depth}, "
        f"0, 0, {depth}, 1, {lo}, {hi}}};",
    ]
    fn = "etx_matmul_s16_acc64" if acc64 else "etx_matmul_s16"
    call = (
        f"{fn}(&{name}_p, {ctx.ptr(op.inputs[0])}, {name}_w, {name}_b, {name}_m, {name}_s, "
        f"{ctx.ptr(op.outputs[0])});"
    )
    return Emitted(call, consts, macs=x.size * out_depth)


def emit_batch_matmul16(ctx: Context, op: Operator, name: str) -> Emitted:
    lhs, rhs, out = (ctx.tensor(t) for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if rhs.dtype != "INT16" or any(zero_point(t) != 0 for t in (lhs, rhs, out)):
        raise UnsupportedModel(f"BATCH_MATMUL #{op.index}: 16x16 needs zero points of 0")
    g = bmm_shape(op, lhs, rhs)
    mult, shift = fx.quantize_multiplier(scale(lhs) * scale(rhs) / scale(out))
    consts = [
        f"static const etx_mm16_params {name}_p = {{{g.batches}, {g.rows}, {g.depth}, {g.cols}, "
        f"{g.lhs_stride}, {g.rhs_stride}, {g.col_stride}, {g.depth_stride}, -32768, 32767}};",
        c_array(f"{name}_m", np.array([mult]), np.int32),
        c_array(f"{name}_s", np.array([shift]), np.int32),
    ]
    call = (
        f"etx_bmm_s16(&{name}_p, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.inputs[1])}, "
        f"{name}_m[0], {name}_s[0], {ctx.ptr(op.outputs[0])});"
    )
    return Emitted(call, consts, macs=g.batches * g.rows * g.cols * g.depth)


INT16: dict[str, Emitter] = {
    "FULLY_CONNECTED": emit_fully_connected16,
    "BATCH_MATMUL": emit_batch_matmul16,
}
