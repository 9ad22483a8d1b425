"""CONV_2D, DEPTHWISE_CONV_2D (int8, and 16x8) and AVERAGE_POOL_2D (int8, int16), NHWC."""

from __future__ import annotations

import numpy as np

from edgetx.codegen.aot import fixedpoint as fx
from edgetx.codegen.aot.ops.common import (
    Context,
    Emitted,
    Emitter,
    activation_range,
    c_array,
    scale,
    zero_point,
)
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Operator

SAME, VALID = 0, 1


def _padding(op: Operator, stride: int, dilation: int, in_size: int, k: int, out_size: int) -> int:
    """ComputePaddingWithOffset's padding (TFLM's reference kernels ignore the offset)."""
    effective = (k - 1) * dilation + 1
    if getattr(op.options, "padding", SAME) == VALID:
        return 0
    return max((out_size - 1) * stride + effective - in_size, 0) // 2


def _geometry(op: Operator, in_shape: tuple[int, ...], out_shape: tuple[int, ...], kh: int,
              kw: int) -> list[int]:  # fmt: skip
    o = op.options
    sh, sw = int(getattr(o, "strideH", 1)), int(getattr(o, "strideW", 1))
    dh = int(getattr(o, "dilationHFactor", 1) or 1)
    dw = int(getattr(o, "dilationWFactor", 1) or 1)
    ph = _padding(op, sh, dh, in_shape[1], kh, out_shape[1])
    pw = _padding(op, sw, dw, in_shape[2], kw, out_shape[2])
    return [in_shape[0], in_shape[1], in_shape[2], in_shape[3], out_shape[1], out_shape[2],
            out_shape[3], kh, kw, sh, sw, dh, dw, ph, pw]  # fmt: skip


def _check_rank(ctx: Context, op: Operator) -> None:
    for t in (op.inputs[0], op.outputs[0]):
        if len(ctx.tensor(t).shape) != 4:
            raise UnsupportedModel(f"{op.opcode} #{op.index} needs 4-D NHWC tensors")


def emit_conv(ctx: Context, op: Operator, name: str) -> Emitted:
    _check_rank(ctx, op)
    x, w, out = (ctx.tensor(t) for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
    bias = ctx.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    if not w.is_constant or w.dtype != "INT8" or np.any(w.zero_point != 0):
        raise UnsupportedModel(f"{op.opcode} #{op.index} needs constant symmetric int8 weights")
    depthwise = op.opcode == "DEPTHWISE_CONV_2D"
    out_c = out.shape[3]
    geo = _geometry(op, x.shape, out.shape, w.shape[1], w.shape[2])
    # A regular convolution's filter is [out_c, kh, kw, in_c / groups]; a depthwise one's is
    # [1, kh, kw, out_c] with out_c = in_c * depth_multiplier.
    filter_depth = 0 if depthwise else w.shape[3]
    multiplier = out_c // x.shape[3] if depthwise else 0
    ws = [w.scale[i] if w.per_channel else w.scale[0] for i in range(out_c)]
    reals = [float(np.float32(scale(x))) * float(s) / float(np.float32(scale(out))) for s in ws]
    mult, shift = zip(*(fx.quantize_multiplier(r) for r in reals), strict=True)
    lo, hi = activation_range(op, out)
    wide = x.dtype == "INT16"
    acc64 = wide and (bias is None or bias.dtype == "INT64")
    if wide and (zero_point(x) != 0 or zero_point(out) != 0):
        raise UnsupportedModel(f"{op.opcode} #{op.index}: 16x8 needs zero points of 0")
    bias_data = bias.data if bias is not None else np.zeros(out_c, np.int64)
    consts = [
        c_array(f"{name}_w", w.data, np.int8),
        c_array(f"{name}_b", bias_data, np.int64 if acc64 else np.int32),
        c_array(f"{name}_m", np.array(mult), np.int32),
        c_array(f"{name}_s", np.array(shift), np.int32),
        f"static const etx_conv_params {name}_p = {{{', '.join(str(v) for v in geo)}, "
        f"{filter_depth}, {multiplier}, {-zero_point(x)}, {zero_point(out)}, {lo}, {hi}}};",
    ]
    fn = "etx_conv_s16_acc64" if acc64 else ("etx_conv_s16" if wide else "etx_conv")
    call = (
        f"{fn}(&{name}_p, {ctx.ptr(op.inputs[0])}, {name}_w, {name}_b, {name}_m, {name}_s, "
        f"{ctx.ptr(op.outputs[0])});"
    )
    per_out = w.shape[1] * w.shape[2] * (1 if depthwise else w.shape[3])
    return Emitted(call, consts, macs=out.size * per_out)


def emit_average_pool(ctx: Context, op: Operator, name: str) -> Emitted:
    _check_rank(ctx, op)
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    o = op.options
    kh, kw = int(o.filterHeight), int(o.filterWidth)
    geo = _geometry(op, x.shape, out.shape, kh, kw)
    lo, hi = activation_range(op, out)
    consts = [
        f"static const etx_conv_params {name}_p = {{{', '.join(str(v) for v in geo)}, "
        f"0, 0, 0, 0, {lo}, {hi}}};"
    ]
    fn = "etx_avg_pool_s16" if x.dtype == "INT16" else "etx_avg_pool"
    call = f"{fn}(&{name}_p, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])});"
    return Emitted(call, consts)


INT8: dict[str, Emitter] = {
    "CONV_2D": emit_conv,
    "DEPTHWISE_CONV_2D": emit_conv,
    "AVERAGE_POOL_2D": emit_average_pool,
}
INT16: dict[str, Emitter] = dict(INT8)
