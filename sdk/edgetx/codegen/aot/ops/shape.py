"""Data movement without arithmetic: RESHAPE, TRANSPOSE, SLICE, STRIDED_SLICE, CONCATENATION,
PAD and GATHER. All but GATHER become strided copies whose strides are fixed here."""

from __future__ import annotations

import numpy as np

from edgetx.codegen.aot.ops.common import (
    MAX_DIMS,
    Context,
    Emitted,
    Emitter,
    c_array,
    c_ints,
    strides,
    zero_point,
)
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Operator, Tensor


def _const_ints(ctx: Context, op: Operator, t: int, what: str) -> list[int]:
    tensor = ctx.tensor(t)
    if not tensor.is_constant:
        raise UnsupportedModel(f"{op.opcode} #{op.index} needs constant {what}")
    return [int(v) for v in np.ravel(tensor.data)]


def copy_call(
    name: str,
    src: str,
    dst: str,
    shape: list[int],
    in_stride: list[int],
    out_stride: list[int],
    in_base: int,
    out_base: int,
    elem_bytes: int,
) -> tuple[str, str]:
    """A strided copy over shape: dst[out_base + i.out_stride] = src[in_base + i.in_stride]."""
    # Merge trailing dimensions that are contiguous in both tensors: fewer, longer runs.
    dims = list(zip(shape, in_stride, out_stride, strict=True)) or [(1, 1, 1)]
    merged = [dims[-1]]
    for n, si, so in reversed(dims[:-1]):
        m, mi, mo = merged[0]
        if si == m * mi and so == m * mo:
            merged[0] = (n * m, mi, mo)
        else:
            merged.insert(0, (n, si, so))
    if len(merged) > MAX_DIMS:
        raise UnsupportedModel(f"{name}: more than {MAX_DIMS} dimensions")
    sh, si, so = (list(x) for x in zip(*merged, strict=True))
    const = (
        f"static const etx_copy_params {name}_p = {{{len(sh)}, {c_ints(sh)}, {c_ints(si)}, "
        f"{c_ints(so)}, {in_base}, {out_base}, {elem_bytes}}};"
    )
    call = f"etx_copy(&{name}_p, {src}, {dst});"
    return const, call


def _bytes(ctx: Context, t: int) -> str:
    tensor = ctx.tensor(t)
    return ctx.constant(t) if tensor.is_constant else ctx.addr(t)


def _elem(t: Tensor) -> int:
    return t.np_dtype.itemsize


def emit_transpose(ctx: Context, op: Operator, name: str) -> Emitted:
    x = ctx.tensor(op.inputs[0])
    perm = _const_ints(ctx, op, op.inputs[1], "permutation")
    st = strides(x.shape)
    out_shape = [x.shape[p] for p in perm]
    const, call = copy_call(
        name, _bytes(ctx, op.inputs[0]), ctx.addr(op.outputs[0]), out_shape,
        [st[p] for p in perm], strides(out_shape), 0, 0, _elem(x),
    )  # fmt: skip
    return Emitted(call, [const])


def _slice(
    ctx: Context, op: Operator, name: str, starts: list[int], steps: list[int], counts: list[int]
) -> Emitted:
    """Copy counts[d] elements from starts[d] every steps[d] along each input dimension."""
    x = ctx.tensor(op.inputs[0])
    st = strides(x.shape)
    base = sum(s * t for s, t in zip(starts, st, strict=True))
    const, call = copy_call(
        name, _bytes(ctx, op.inputs[0]), ctx.addr(op.outputs[0]), counts,
        [t * k for t, k in zip(st, steps, strict=True)], strides(counts), base, 0, _elem(x),
    )  # fmt: skip
    return Emitted(call, [const])


def emit_slice(ctx: Context, op: Operator, name: str) -> Emitted:
    x = ctx.tensor(op.inputs[0])
    begin = _const_ints(ctx, op, op.inputs[1], "begin")
    size = _const_ints(ctx, op, op.inputs[2], "size")
    size = [d - b if s == -1 else s for s, b, d in zip(size, begin, x.shape, strict=True)]
    return _slice(ctx, op, name, begin, [1] * len(begin), size)


def emit_strided_slice(ctx: Context, op: Operator, name: str) -> Emitted:
    x = ctx.tensor(op.inputs[0])
    o = op.options
    if getattr(o, "ellipsisMask", 0) or getattr(o, "newAxisMask", 0) or getattr(o, "offset", 0):
        raise UnsupportedModel(
            f"STRIDED_SLICE #{op.index} with ellipsis, new-axis or offset is not supported"
        )
    begin = _const_ints(ctx, op, op.inputs[1], "begin")
    end = _const_ints(ctx, op, op.inputs[2], "end")
    step = _const_ints(ctx, op, op.inputs[3], "strides")
    starts, counts = [], []
    for d, n in enumerate(x.shape):
        bit = 1 << d
        if getattr(o, "shrinkAxisMask", 0) & bit:
            b = begin[d] + n if begin[d] < 0 else begin[d]
            starts.append(b)
            counts.append(1)
            step[d] = 1
            continue
        b = None if getattr(o, "beginMask", 0) & bit else begin[d]
        e = None if getattr(o, "endMask", 0) & bit else end[d]
        start, stop, k = slice(b, e, step[d]).indices(n)
        starts.append(start)
        counts.append(len(range(start, stop, k)))
    return _slice(ctx, op, name, starts, step, counts)


def emit_concatenation(ctx: Context, op: Operator, name: str) -> Emitted:
    out = ctx.tensor(op.outputs[0])
    rank = len(out.shape)
    axis = int(getattr(op.options, "axis", 0)) % rank
    outer = int(np.prod(out.shape[:axis]))
    inner = int(np.prod(out.shape[axis + 1 :]))
    out_row = out.shape[axis] * inner * _elem(out)
    consts, calls, offset = [], [], 0
    for i, t in enumerate(op.inputs):
        x = ctx.tensor(t)
        row = x.shape[axis] * inner * _elem(x)
        const, call = copy_call(
            f"{name}_{i}", _bytes(ctx, t), ctx.addr(op.outputs[0]), [outer, row],
            [row, 1], [out_row, 1], 0, offset, 1,
        )  # fmt: skip
        consts.append(const)
        calls.append(call)
        offset += row
    return Emitted("\n  ".join(calls), consts)


def emit_pad(ctx: Context, op: Operator, name: str) -> Emitted:
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    pads = np.array(_const_ints(ctx, op, op.inputs[1], "paddings")).reshape(-1, 2)
    value = zero_point(out)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        value = _const_ints(ctx, op, op.inputs[2], "constant value")[0]
    ost = strides(out.shape)
    base = sum(int(p) * s for p, s in zip(pads[:, 0], ost, strict=True))
    const, call = copy_call(
        name, _bytes(ctx, op.inputs[0]), ctx.addr(op.outputs[0]), list(x.shape),
        strides(x.shape), ost, 0, base, _elem(x),
    )  # fmt: skip
    fill = f"etx_fill({ctx.addr(op.outputs[0])}, {value}, {out.size}, {_elem(out)});"
    return Emitted(f"{fill}\n  {call}", [const])


def emit_gather(ctx: Context, op: Operator, name: str) -> Emitted:
    params, idx = ctx.tensor(op.inputs[0]), ctx.tensor(op.inputs[1])
    if getattr(op.options, "batchDims", 0):
        raise UnsupportedModel(f"GATHER #{op.index} with batch_dims is not supported")
    axis = int(getattr(op.options, "axis", 0)) % len(params.shape)
    outer = int(np.prod(params.shape[:axis]))
    inner = int(np.prod(params.shape[axis + 1 :])) * _elem(params)
    if idx.is_constant:
        indices = f"{name}_i"
        const = [c_array(indices, np.ravel(idx.data), np.int32)]
    elif idx.dtype == "INT32":
        indices, const = f"(const int32_t *)(const void *){ctx.addr(op.inputs[1])}", []
    else:
        raise UnsupportedModel(f"GATHER #{op.index} needs int32 indices")
    call = (
        f"etx_gather({_bytes(ctx, op.inputs[0])}, {indices}, {idx.size}, {outer}, "
        f"{params.shape[axis]}, {inner}, {ctx.addr(op.outputs[0])});"
    )
    return Emitted(call, const)


def emit_reshape(ctx: Context, op: Operator, name: str) -> Emitted:
    # The planner aliases a RESHAPE's output to its input: nothing to compute.
    return Emitted(f"/* {name}: RESHAPE shares its input buffer */")


INT8: dict[str, Emitter] = {
    "TRANSPOSE": emit_transpose,
    "RESHAPE": emit_reshape,
    "SLICE": emit_slice,
    "STRIDED_SLICE": emit_strided_slice,
    "CONCATENATION": emit_concatenation,
    "PAD": emit_pad,
    "PADV2": emit_pad,
    "GATHER": emit_gather,
}
INT16: dict[str, Emitter] = {
    "TRANSPOSE": emit_transpose,
    "RESHAPE": emit_reshape,
    "SLICE": emit_slice,
    "STRIDED_SLICE": emit_strided_slice,
    "CONCATENATION": emit_concatenation,
    "PAD": emit_pad,
}
