"""FULLY_CONNECTED and BATCH_MATMUL emitters (int8)."""

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
    smmlar_round_zp,
    zero_point,
)
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Operator

# Packed weights: output channels in blocks of PACK_COLS, depth in chunks of 4, one int8 word
# per channel and chunk. On Arm DSP cores SXTB16 and SXTB16 ROR 8 split an activation word and a
# weight word alike into (v0, v2) and (v1, v3), which SMLAD multiplies as they lie; the blocking
# lets one pointer stream the weights of 4 outputs that share each activation word.
PACK_COLS = 4
# The 4-row kernels (edgetx_rt_matmul.h): products this deep at most, requantizations shifting
# right by 1..22 bits (so (2 zp + 1) << (shift - 1) fits comfortably), sums under 2^30 (so
# their double fits int32).
X4_MAX_DEPTH = 64
X4_SHIFTS = range(-22, 0)
X4_MAX_SUM = 1 << 30


def pack_weights(w: np.ndarray) -> np.ndarray:
    """int8 [out_depth, depth] -> int8 packed as the runtime's FULLY_CONNECTED reads it, zero
    padded to whole blocks of PACK_COLS channels and chunks of 4 depth."""
    cols, depth = w.shape
    padded = np.zeros((-(-cols // PACK_COLS) * PACK_COLS, -(-depth // 4) * 4), np.int8)
    padded[:cols, :depth] = w
    blocks = padded.reshape(-1, PACK_COLS, padded.shape[1] // 4, 4)
    return blocks.transpose(0, 2, 1, 3).ravel()


def emit_fully_connected(ctx: Context, op: Operator, name: str) -> Emitted:
    m = ctx.model
    x, w, out = m.tensors[op.inputs[0]], m.tensors[op.inputs[1]], m.tensors[op.outputs[0]]
    bias = m.tensors[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    if not w.is_constant or w.dtype != "INT8":
        raise UnsupportedModel(f"FULLY_CONNECTED #{op.index} needs constant int8 weights")
    if np.any(w.zero_point != 0):
        raise UnsupportedModel(f"FULLY_CONNECTED #{op.index} has asymmetric weights")
    out_depth, depth = w.shape[-2], w.shape[-1]
    rows = x.size // depth
    mult, shift = fc_multipliers(x, w, out)
    weights = w.data.reshape(out_depth, depth).astype(np.int64)
    b = bias.data.astype(np.int64) if bias is not None else np.zeros(out_depth, np.int64)
    folded = [fx.wrap32(int(v)) for v in b - zero_point(x) * weights.sum(axis=1)]
    lo, hi = activation_range(op, out)
    widest = max(127 - zero_point(x), zero_point(x) + 128)  # the largest |x - zx|
    bound = int((np.abs(b) + widest * np.abs(weights).sum(axis=1)).max())
    if (
        depth <= X4_MAX_DEPTH
        and (lo, hi) == (-128, 127)
        and all(s in X4_SHIFTS for s in shift)
        and bound < X4_MAX_SUM
    ):
        return _fully_connected_x4(ctx, op, name, rows, mult, shift, b)
    packed = pack_weights(w.data.reshape(out_depth, depth))
    consts = [
        f"static const int8_t {name}_w[{packed.size}] __attribute__((aligned(4))) = "
        f"{{{', '.join(str(int(v)) for v in packed)}}};",
        c_array(f"{name}_b", np.array(folded + [0] * (-out_depth % PACK_COLS)), np.int32),
        c_array(f"{name}_m", np.array(mult), np.int32),
        c_array(f"{name}_s", np.array(shift), np.int32),
        f"static const etx_fc_params {name}_p = {{{out_depth}, {depth}, {rows}, "
        f"{zero_point(out)}, {lo}, {hi}}};",
    ]
    call = (
        f"etx_fully_connected(&{name}_p, {ctx.ptr(op.inputs[0])}, {name}_w, {name}_b, "
        f"{name}_m, {name}_s, {ctx.ptr(op.outputs[0])});"
    )
    return Emitted(call, consts, macs=rows * out_depth * depth)


def _fully_connected_x4(
    ctx: Context,
    op: Operator,
    name: str,
    rows: int,
    mult: list[int],
    shift: list[int],
    bias: np.ndarray,
) -> Emitted:
    """The 4-row kernel's stream: per output channel 2 * bias, the weights as little-endian
    words (depth zero padded to a whole word), mult, round_zp."""
    m = ctx.model
    x, w, out = m.tensors[op.inputs[0]], m.tensors[op.inputs[1]], m.tensors[op.outputs[0]]
    out_depth, depth = w.shape[-2], w.shape[-1]
    padded = np.zeros((out_depth, -(-depth // 4) * 4), np.int8)
    padded[:, :depth] = w.data.reshape(out_depth, depth)
    words = padded.view("<i4").astype(np.int64)
    round_zp = [smmlar_round_zp(s, zero_point(out)) for s in shift]
    stream = np.concatenate(
        [
            np.column_stack([2 * bias]),
            words,
            np.column_stack([mult, round_zp]),
        ],
        axis=1,
    )
    consts = [
        c_array(f"{name}_wq", stream, np.int32),
        f"static const etx_fc_x4_params {name}_p = {{{rows}, {depth}, {out_depth}, "
        f"{zero_point(x)}}};",
    ]
    call = (
        f"etx_fully_connected_x4(&{name}_p, {ctx.ptr(op.inputs[0])}, {name}_wq, "
        f"{ctx.ptr(op.outputs[0])});"
    )
    return Emitted(call, consts, macs=rows * out_depth * depth)


def emit_batch_matmul(ctx: Context, op: Operator, name: str) -> Emitted:
    m = ctx.model
    lhs, rhs, out = (m.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    g = bmm_shape(op, lhs, rhs)
    real = scale(lhs) * scale(rhs) / scale(out)
    mult, shift = fx.quantize_multiplier(real)
    macs = g.batches * g.rows * g.cols * g.depth
    if g.depth <= X4_MAX_DEPTH and shift in X4_SHIFTS:
        consts = [
            f"static const etx_bmm_x4_params {name}_p = {{{g.batches}, {g.rows}, {g.depth}, "
            f"{g.cols}, {g.lhs_stride}, {g.rhs_stride}, {g.depth_stride}, {g.col_stride}, "
            f"{zero_point(lhs)}, {zero_point(rhs)}, {mult}, "
            f"{smmlar_round_zp(shift, zero_point(out))}}};"
        ]
        call = (
            f"etx_batch_matmul_x4(&{name}_p, {ctx.ptr(op.inputs[0])}, "
            f"{ctx.ptr(op.inputs[1])}, {ctx.ptr(op.outputs[0])});"
        )
        return Emitted(call, consts, macs=macs)
    consts = [
        f"static const etx_bmm_params {name}_p = {{{g.batches}, {g.rows}, {g.depth}, {g.cols}, "
        f"{g.lhs_stride}, {g.rhs_stride}, {g.depth_stride}, {g.col_stride}, {zero_point(lhs)}, "
        f"{zero_point(rhs)}, {mult}, {shift}, {zero_point(out)}}};"
    ]
    call = (
        f"etx_batch_matmul(&{name}_p, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.inputs[1])}, "
        f"{ctx.ptr(op.outputs[0])});"
    )
    return Emitted(call, consts, macs=macs)


INT8: dict[str, Emitter] = {
    "FULLY_CONNECTED": emit_fully_connected,
    "BATCH_MATMUL": emit_batch_matmul,
}
