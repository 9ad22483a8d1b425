"""Data movement without arithmetic: RESHAPE, TRANSPOSE, SLICE, STRIDED_SLICE, CONCATENATION,
PAD and GATHER. All but GATHER become strided copies whose strides are fixed here."""

from __future__ import annotations

import numpy as np

from edgetx.codegen.aot.ops.common import (
    Context,
    Emitted,
    Emitter,
    c_array,
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


def copy_loops(
    src: str,
    dst: str,
    shape: list[int],
    in_stride: list[int],
    out_stride: list[int],
    in_base: int,
    out_base: int,
    elem_bytes: int,
) -> str:
    """C loops doing dst[out_base + i.out_stride] = src[in_base + i.in_stride] over shape
    (strides and bases in elements), specialised to the constant shape and strides: the
    compiler turns them into pointer steps and a short constant-size memcpy into loads and
    stores of whole words."""
    # In bytes: a wider element is a contiguous run of elem_bytes.
    dims = [
        (n, si * elem_bytes, so * elem_bytes)
        for n, si, so in zip(shape, in_stride, out_stride, strict=True)
        if n != 1
    ]
    if elem_bytes > 1 or not dims:
        dims.append((elem_bytes, 1, 1))
    # Merge dimensions that are contiguous in both tensors: fewer, longer runs.
    merged = [dims[-1]]
    for n, si, so in reversed(dims[:-1]):
        m, mi, mo = merged[0]
        if si == m * mi and so == m * mo:
            merged[0] = (n * m, mi, mo)
        else:
            merged.insert(0, (n, si, so))
    run, run_in, run_out = merged[-1]
    contiguous = run_in == run_out == 1  # the innermost dimension is one run in both
    loops = merged[:-1] if contiguous else merged

    # A strided innermost dimension moves single bytes, four per step when it can.
    unroll = 4 if not contiguous and run % 4 == 0 else 1

    def at(base: int, side: int, j: int = 0) -> str:  # byte offset in input (side 1), output (2)
        terms = [f"i{k} * {dim[side]}" for k, dim in enumerate(loops)]
        if j:
            terms.append(str(j * loops[-1][side]))
        return " + ".join(([str(base * elem_bytes)] if base else []) + terms) or "0"

    s, d = f"(const int8_t *)(const void *){src}", f"(int8_t *)(void *){dst}"
    if contiguous:
        body = [f"memcpy({d} + {at(out_base, 2)}, {s} + {at(in_base, 1)}, {run});"]
    else:
        body = [f"({d})[{at(out_base, 2, j)}] = ({s})[{at(in_base, 1, j)}];" for j in range(unroll)]
    steps = [f"++i{k}" for k in range(len(loops))]
    if unroll > 1:
        steps[-1] = f"i{len(loops) - 1} += {unroll}"
    lines = [
        f"{'  ' * k}for (int32_t i{k} = 0; i{k} < {n}; {steps[k]}) {{"
        for k, (n, *_) in enumerate(loops)
    ]
    lines += ["  " * len(loops) + b for b in body]
    lines += ["  " * k + "}" for k in reversed(range(len(loops)))]
    return "\n  ".join(lines)


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
    call = copy_loops(
        _bytes(ctx, op.inputs[0]), ctx.addr(op.outputs[0]), out_shape,
        [st[p] for p in perm], strides(out_shape), 0, 0, _elem(x),
    )  # fmt: skip
    return Emitted(call)


def _slice(
    ctx: Context, op: Operator, name: str, starts: list[int], steps: list[int], counts: list[int]
) -> Emitted:
    """Copy counts[d] elements from starts[d] every steps[d] along each input dimension."""
    x = ctx.tensor(op.inputs[0])
    st = strides(x.shape)
    base = sum(s * t for s, t in zip(starts, st, strict=True))
    call = copy_loops(
        _bytes(ctx, op.inputs[0]), ctx.addr(op.outputs[0]), counts,
        [t * k for t, k in zip(st, steps, strict=True)], strides(counts), base, 0, _elem(x),
    )  # fmt: skip
    return Emitted(call)


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
    calls, offset = [], 0
    for t in op.inputs:
        x = ctx.tensor(t)
        row = x.shape[axis] * inner * _elem(x)
        dst = ctx.addr(op.outputs[0])
        calls.append(
            copy_loops(_bytes(ctx, t), dst, [outer, row], [row, 1], [out_row, 1], 0, offset, 1)
        )
        offset += row
    return Emitted("\n  ".join(calls))


def emit_pad(ctx: Context, op: Operator, name: str) -> Emitted:
    x, out = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    pads = np.array(_const_ints(ctx, op, op.inputs[1], "paddings")).reshape(-1, 2)
    value = zero_point(out)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        value = _const_ints(ctx, op, op.inputs[2], "constant value")[0]
    ost = strides(out.shape)
    base = sum(int(p) * s for p, s in zip(pads[:, 0], ost, strict=True))
    call = copy_loops(
        _bytes(ctx, op.inputs[0]), ctx.addr(op.outputs[0]), list(x.shape),
        strides(x.shape), ost, 0, base, _elem(x),
    )  # fmt: skip
    fill = f"etx_fill({ctx.addr(op.outputs[0])}, {value}, {out.size}, {_elem(out)});"
    return Emitted(f"{fill}\n  {call}")


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
