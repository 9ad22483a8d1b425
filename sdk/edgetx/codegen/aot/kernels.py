"""Per-operator code emitters: TFLite operator -> one runtime call and its constants.

Each emitter derives the kernel's parameters exactly as TFLM's Prepare step
does (including where TFLM computes in float rather than double) and returns
the C statements for the call. An operator without an emitter is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from edgetx.codegen.aot import fixedpoint as fx
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import Model, Operator, Tensor

MAX_DIMS = 6


@dataclass
class Emitted:
    call: str  # C statement(s) computing the op
    constants: list[str] = field(default_factory=list)  # C definitions the call uses
    macs: int = 0


@dataclass
class Context:
    model: Model
    offsets: dict[int, int]
    const_names: dict[int, str] = field(default_factory=dict)
    definitions: list[str] = field(default_factory=list)

    def ptr(self, t: int) -> str:
        tensor = self.model.tensors[t]
        if tensor.is_constant:
            return self.constant(t)
        return f"(arena + {self.offsets[t]})"

    def constant(self, t: int) -> str:
        """Emit a model constant tensor once and return its name."""
        if t not in self.const_names:
            tensor = self.model.tensors[t]
            name = f"c{t}"
            self.definitions.append(c_array(name, tensor.data, tensor.np_dtype))
            self.const_names[t] = name
        return self.const_names[t]


C_TYPES = {np.dtype(np.int8): "int8_t", np.dtype(np.int32): "int32_t"}


def c_array(name: str, values: np.ndarray, dtype: np.dtype) -> str:
    flat = np.asarray(values).astype(dtype).ravel()
    body = ", ".join(str(int(v)) for v in flat) if flat.size else "0"
    return f"static const {C_TYPES[np.dtype(dtype)]} {name}[{max(flat.size, 1)}] = {{{body}}};"


def c_ints(values: list[int], length: int = MAX_DIMS) -> str:
    padded = list(values) + [0] * (length - len(values))
    return "{" + ", ".join(str(int(v)) for v in padded) + "}"


def scale(t: Tensor) -> float:
    return float(t.scale[0])


def zero_point(t: Tensor) -> int:
    return int(t.zero_point[0])


def strides(shape: tuple[int, ...] | list[int]) -> list[int]:
    out, step = [], 1
    for d in reversed(shape):
        out.append(step)
        step *= d
    return out[::-1]


def activation_range(op: Operator, out: Tensor) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 outputs."""
    act = getattr(op.options, "fusedActivationFunction", 0) or 0
    s, zp = np.float32(scale(out)), zero_point(out)

    def q(f: float) -> int:
        return zp + fx.round_half_away(float(np.float32(f) / s))

    if act == 0:
        return -128, 127
    if act == 1:  # RELU
        return max(-128, q(0.0)), 127
    if act == 2:  # RELU_N1_TO_1
        return max(-128, q(-1.0)), min(127, q(1.0))
    if act == 3:  # RELU6
        return max(-128, q(0.0)), min(127, q(6.0))
    raise UnsupportedModel(f"fused activation {act} on operator {op.index} is not supported")


def _require_int8(ctx: Context, op: Operator) -> None:
    for t in op.inputs[:1] + op.outputs:
        if ctx.model.tensors[t].dtype != "INT8":
            dtype = ctx.model.tensors[t].dtype
            raise UnsupportedModel(
                f"operator {op.opcode} #{op.index} has a {dtype} tensor; the AOT runtime "
                "runs int8 models (convert with 'edgetx convert')"
            )


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
    s_in, s_out = scale(x), scale(out)
    if w.per_channel:
        reals = [float(s_in) * float(ws) / float(s_out) for ws in w.scale]
    else:
        reals = [fx.f32(s_in * float(w.scale[0])) / float(s_out)] * out_depth
    mult, shift = zip(*(fx.quantize_multiplier(r) for r in reals), strict=True)
    weights = w.data.reshape(out_depth, depth).astype(np.int64)
    b = bias.data.astype(np.int64) if bias is not None else np.zeros(out_depth, np.int64)
    folded = [fx.wrap32(int(v)) for v in b - zero_point(x) * weights.sum(axis=1)]
    lo, hi = activation_range(op, out)
    consts = [
        c_array(f"{name}_w", w.data, np.int8),
        c_array(f"{name}_b", np.array(folded), np.int32),
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


def emit_batch_matmul(ctx: Context, op: Operator, name: str) -> Emitted:
    m = ctx.model
    lhs, rhs, out = (m.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    adj_x = bool(getattr(op.options, "adjX", False))
    adj_y = bool(getattr(op.options, "adjY", False))
    if adj_x:
        raise UnsupportedModel(f"BATCH_MATMUL #{op.index} with adj_x is not supported")
    rows, depth = lhs.shape[-2], lhs.shape[-1]
    cols = rhs.shape[-2] if adj_y else rhs.shape[-1]
    lhs_batches = int(np.prod(lhs.shape[:-2])) if len(lhs.shape) > 2 else 1
    rhs_batches = int(np.prod(rhs.shape[:-2])) if len(rhs.shape) > 2 else 1
    batches = max(lhs_batches, rhs_batches)
    if lhs_batches not in (1, batches) or rhs_batches not in (1, batches):
        raise UnsupportedModel(f"BATCH_MATMUL #{op.index} batch broadcasting is not supported")
    lhs_stride = rows * depth if lhs_batches > 1 else 0
    rhs_stride = depth * cols if rhs_batches > 1 else 0
    row_stride, col_stride = (1, depth) if adj_y else (cols, 1)
    real = fx.f32(scale(lhs) * scale(rhs)) / float(scale(out))
    mult, shift = fx.quantize_multiplier(real)
    consts = [
        f"static const etx_bmm_params {name}_p = {{{batches}, {rows}, {depth}, {cols}, "
        f"{lhs_stride}, {rhs_stride}, {row_stride}, {col_stride}, {zero_point(lhs)}, "
        f"{zero_point(rhs)}, {mult}, {shift}, {zero_point(out)}}};"
    ]
    call = (
        f"etx_batch_matmul(&{name}_p, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.inputs[1])}, "
        f"{ctx.ptr(op.outputs[0])});"
    )
    return Emitted(call, consts, macs=batches * rows * cols * depth)


def _broadcast_strides(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    ext = (1,) * (len(out_shape) - len(in_shape)) + tuple(in_shape)
    st = strides(ext)
    return [0 if d == 1 and o != 1 else s for d, o, s in zip(ext, out_shape, st, strict=True)]


def _binary_params(op: Operator, a: Tensor, b: Tensor, out: Tensor) -> list[int]:
    """[left_shift, m1, s1, m2, s2, mo, so] as TFLM's Prepare computes them."""
    s1, s2, so = scale(a), scale(b), scale(out)
    if op.opcode == "MUL":
        mo, sho = fx.quantize_multiplier(s1 * s2 / so)
        return [0, 0, 0, 0, 0, mo, sho]
    if op.opcode == "SUB":  # TFLM computes these in float
        f = np.float32
        twice = f(2) * max(f(s1), f(s2))
        r1, r2 = float(f(s1) / twice), float(f(s2) / twice)
        ro = float(twice / (f(1 << 20) * f(so)))
        left = 20
    elif op.opcode == "ADD":
        twice = 2 * max(s1, s2)
        r1, r2, ro = s1 / twice, s2 / twice, twice / ((1 << 20) * so)
        left = 20
    else:  # SQUARED_DIFFERENCE
        twice = 2.0 * max(s1, s2)
        r1, r2 = s1 / twice, s2 / twice
        ro = (twice * twice) / fx.f32((1 << 14) * so)
        left = 7
    return [left, *fx.quantize_multiplier(r1), *fx.quantize_multiplier(r2),
            *fx.quantize_multiplier(ro)]  # fmt: skip


def emit_binary(ctx: Context, op: Operator, name: str) -> Emitted:
    m = ctx.model
    a, b, out = (m.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    shape = out.shape or (1,)
    if len(shape) > MAX_DIMS:
        raise UnsupportedModel(f"{op.opcode} #{op.index} has more than {MAX_DIMS} dimensions")
    st1, st2 = _broadcast_strides(a.shape, shape), _broadcast_strides(b.shape, shape)
    left, m1, s1, m2, s2, mo, so = _binary_params(op, a, b, out)
    lo, hi = (-128, 127) if op.opcode == "SQUARED_DIFFERENCE" else activation_range(op, out)
    kind = {"ADD": "ETX_ADD", "SUB": "ETX_SUB", "MUL": "ETX_MUL",
            "SQUARED_DIFFERENCE": "ETX_SQDIFF"}[op.opcode]  # fmt: skip
    consts = [
        f"static const etx_binary_params {name}_p = {{{kind}, {-zero_point(a)}, "
        f"{-zero_point(b)}, {zero_point(out)}, {left}, {m1}, {s1}, {m2}, {s2}, {mo}, {so}, "
        f"{lo}, {hi}, {len(shape)}, {c_ints(list(shape))}, {c_ints(st1)}, {c_ints(st2)}}};"
    ]
    call = (
        f"etx_binary(&{name}_p, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.inputs[1])}, "
        f"{ctx.ptr(op.outputs[0])});"
    )
    return Emitted(call, consts)


def rsqrt_table(x: Tensor, out: Tensor) -> list[int]:
    """TFLM's int8 RSQRT for each of the 256 inputs (negative inputs saturate)."""
    mult, shift = fx.quantize_multiplier(1.0 / (math.sqrt(scale(x)) * scale(out)))
    k_shift = 20
    table = []
    for q in range(-128, 128):
        value = q - zero_point(x)
        if value <= 0:  # TFLM returns the max for 0 and refuses negatives
            table.append(127)
            continue
        inv_mult, inv_shift = fx.inv_sqrt_multiplier_exp(value, -1)
        data = fx.mbqm(1, inv_mult, inv_shift + k_shift)
        y = fx.mbqm(data, mult, shift - k_shift) + zero_point(out)
        table.append(min(127, max(-128, y)))
    return table


UNARY_TABLES: dict[str, Callable[[Tensor, Tensor], list[int]]] = {"RSQRT": rsqrt_table}


def emit_unary_table(ctx: Context, op: Operator, name: str) -> Emitted:
    x, out = ctx.model.tensors[op.inputs[0]], ctx.model.tensors[op.outputs[0]]
    table = UNARY_TABLES[op.opcode](x, out)
    # Index by the input byte as unsigned: entries for 0..127 first, then -128..-1.
    ordered = table[128:] + table[:128]
    consts = [c_array(f"{name}_t", np.array(ordered), np.int8)]
    call = f"etx_lookup({name}_t, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])}, {x.size});"
    return Emitted(call, consts)


def softmax_exp_table(x: Tensor, beta: float) -> list[int]:
    """exp of each possible (x - max) in Q0.31, 0 where TFLM drops the term."""
    int_bits = 5
    real = min(float(np.float32(beta)) * scale(x) * (1 << (31 - int_bits)), (1 << 31) - 1.0)
    mult, left_shift = fx.quantize_multiplier(real)
    radius = math.floor(((1 << int_bits) - 1) * (1 << (31 - int_bits)) / (1 << left_shift))
    table = []
    for d in range(256):
        diff = -d
        if diff < -radius:
            table.append(0)
            continue
        rescaled = fx.srdhm(fx.wrap32(diff * (1 << left_shift)), mult)
        table.append(fx.exp_on_negative_values(rescaled, int_bits))
    return table


def emit_softmax(ctx: Context, op: Operator, name: str) -> Emitted:
    x, out = ctx.model.tensors[op.inputs[0]], ctx.model.tensors[op.outputs[0]]
    if zero_point(out) != -128 or np.float32(scale(out)) != np.float32(1 / 256):
        raise UnsupportedModel(f"SOFTMAX #{op.index} output must have scale 1/256, zero point -128")
    depth = x.shape[-1]
    table = softmax_exp_table(x, float(getattr(op.options, "beta", 1.0)))
    consts = [
        c_array(f"{name}_e", np.array(table), np.int32),
        f"static const etx_softmax_params {name}_p = {{{x.size // depth}, {depth}}};",
    ]
    call = f"etx_softmax(&{name}_p, {name}_e, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])});"
    return Emitted(call, consts)


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
    mult, shift = fx.quantize_multiplier(scale(x) / scale(out))
    # TFLM folds 1/count into the multiplier with integer arithmetic.
    n_shift = min(count.bit_length() - 1, 32, 31 + shift)
    mult = (mult << n_shift) // count
    shift -= n_shift
    consts = [
        f"static const etx_mean_params {name}_p = {{{len(kept)}, "
        f"{c_ints([x.shape[d] for d in kept])}, {c_ints([st[d] for d in kept])}, {len(axes)}, "
        f"{c_ints([x.shape[d] for d in axes])}, {c_ints([st[d] for d in axes])}, "
        f"{zero_point(x)}, {count}, {mult}, {shift}, {zero_point(out)}}};"
    ]
    call = f"etx_mean(&{name}_p, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])});"
    return Emitted(call, consts)


def emit_transpose(ctx: Context, op: Operator, name: str) -> Emitted:
    m = ctx.model
    x, perm_t = m.tensors[op.inputs[0]], m.tensors[op.inputs[1]]
    perm = [int(p) for p in np.ravel(perm_t.data)]
    st = strides(x.shape)
    out_shape = [x.shape[p] for p in perm]
    consts = [
        f"static const etx_transpose_params {name}_p = {{{len(perm)}, {c_ints(out_shape)}, "
        f"{c_ints([st[p] for p in perm])}}};"
    ]
    call = f"etx_transpose(&{name}_p, {ctx.ptr(op.inputs[0])}, {ctx.ptr(op.outputs[0])});"
    return Emitted(call, consts)


def emit_reshape(ctx: Context, op: Operator, name: str) -> Emitted:
    # The planner aliases a RESHAPE's output to its input: nothing to compute.
    return Emitted(f"/* {name}: RESHAPE shares its input buffer */")


EMITTERS: dict[str, Callable[[Context, Operator, str], Emitted]] = {
    "FULLY_CONNECTED": emit_fully_connected,
    "BATCH_MATMUL": emit_batch_matmul,
    "ADD": emit_binary,
    "SUB": emit_binary,
    "MUL": emit_binary,
    "SQUARED_DIFFERENCE": emit_binary,
    "RSQRT": emit_unary_table,
    "SOFTMAX": emit_softmax,
    "MEAN": emit_mean,
    "TRANSPOSE": emit_transpose,
    "RESHAPE": emit_reshape,
}


def emit(ctx: Context, op: Operator) -> Emitted:
    emitter = EMITTERS.get(op.opcode)
    if emitter is None:
        supported = ", ".join(sorted(EMITTERS))
        raise UnsupportedModel(
            f"operator {op.opcode} (#{op.index}) is not supported by the AOT runtime; "
            f"supported: {supported}"
        )
    _require_int8(ctx, op)
    return emitter(ctx, op, f"op{op.index}")
