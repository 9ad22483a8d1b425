"""What every operator emitter shares: the emission context and C/quantization helpers."""

from __future__ import annotations

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
        if tensor.dtype == "INT16":
            return f"(int16_t *)(void *)(arena + {self.offsets[t]})"
        return f"(arena + {self.offsets[t]})"

    def addr(self, t: int) -> str:
        """The tensor's bytes in the arena (for copies and tracing)."""
        return f"(arena + {self.offsets[t]})"

    def constant(self, t: int) -> str:
        """Emit a model constant tensor once and return its name."""
        if t not in self.const_names:
            tensor = self.model.tensors[t]
            name = f"c{t}"
            self.definitions.append(c_array(name, tensor.data, tensor.np_dtype))
            self.const_names[t] = name
        return self.const_names[t]

    def shared(self, definition: str) -> None:
        """Emit a definition that several operators use, once."""
        if definition not in self.definitions:
            self.definitions.append(definition)

    def tensor(self, t: int) -> Tensor:
        return self.model.tensors[t]


Emitter = Callable[[Context, Operator, str], Emitted]

C_TYPES = {
    np.dtype(np.int8): "int8_t",
    np.dtype(np.int16): "int16_t",
    np.dtype(np.int32): "int32_t",
    np.dtype(np.int64): "int64_t",
}


def c_array(name: str, values: np.ndarray, dtype: np.dtype) -> str:
    flat = np.asarray(values).astype(dtype).ravel()
    ctype = C_TYPES[np.dtype(dtype)]
    suffix = "LL" if ctype == "int64_t" else ""
    body = ", ".join(_c_int(int(v), ctype) + suffix for v in flat) if flat.size else "0"
    return f"static const {ctype} {name}[{max(flat.size, 1)}] = {{{body}}};"


def _c_int(v: int, ctype: str) -> str:
    # The most negative value is not a literal in C; spell it as an expression.
    if ctype == "int32_t" and v == fx.INT32_MIN:
        return "(-2147483647 - 1)"
    if ctype == "int64_t" and v == -(1 << 63):
        return "(-9223372036854775807LL - 1)"
    return str(v)


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


def qrange(t: Tensor) -> tuple[int, int]:
    return (-32768, 32767) if t.dtype == "INT16" else (-128, 127)


def activation_range(op: Operator, out: Tensor) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8/int16 outputs."""
    act = getattr(op.options, "fusedActivationFunction", 0) or 0
    s, zp = np.float32(scale(out)), zero_point(out)
    qmin, qmax = qrange(out)

    def q(f: float) -> int:
        return zp + fx.round_half_away(float(np.float32(f) / s))

    if act == 0:
        return qmin, qmax
    if act == 1:  # RELU
        return max(qmin, q(0.0)), qmax
    if act == 2:  # RELU_N1_TO_1
        return max(qmin, q(-1.0)), min(qmax, q(1.0))
    if act == 3:  # RELU6
        return max(qmin, q(0.0)), min(qmax, q(6.0))
    raise UnsupportedModel(f"fused activation {act} on operator {op.index} is not supported")


def fc_multipliers(x: Tensor, w: Tensor, out: Tensor) -> tuple[list[int], list[int]]:
    """FULLY_CONNECTED's per-output-channel (multiplier, shift), from the double product of
    scales as TFLM computes them; a per-tensor weight scale is repeated for every channel."""
    out_depth = w.shape[-2]
    scales = w.scale if w.per_channel else [w.scale[0]] * out_depth
    pairs = [fx.quantize_multiplier(scale(x) * float(s) / scale(out)) for s in scales]
    return [m for m, _ in pairs], [s for _, s in pairs]


@dataclass(frozen=True)
class BmmShape:
    """BATCH_MATMUL geometry: batches of [rows, depth] @ [depth, cols], with element strides
    between batches (0 for a broadcast operand) and of the right operand along depth and cols."""

    batches: int
    rows: int
    depth: int
    cols: int
    lhs_stride: int
    rhs_stride: int
    depth_stride: int
    col_stride: int


def bmm_shape(op: Operator, lhs: Tensor, rhs: Tensor) -> BmmShape:
    """The geometry of a BATCH_MATMUL; adj_x and partial batch broadcasting are refused."""
    if getattr(op.options, "adjX", False):
        raise UnsupportedModel(f"BATCH_MATMUL #{op.index} with adj_x is not supported")
    adj_y = bool(getattr(op.options, "adjY", False))
    rows, depth = lhs.shape[-2], lhs.shape[-1]
    cols = rhs.shape[-2] if adj_y else rhs.shape[-1]
    lhs_batches = int(np.prod(lhs.shape[:-2])) if len(lhs.shape) > 2 else 1
    rhs_batches = int(np.prod(rhs.shape[:-2])) if len(rhs.shape) > 2 else 1
    batches = max(lhs_batches, rhs_batches)
    if lhs_batches not in (1, batches) or rhs_batches not in (1, batches):
        raise UnsupportedModel(f"BATCH_MATMUL #{op.index} batch broadcasting is not supported")
    depth_stride, col_stride = (1, depth) if adj_y else (cols, 1)
    return BmmShape(
        batches, rows, depth, cols,
        rows * depth if lhs_batches > 1 else 0, depth * cols if rhs_batches > 1 else 0,
        depth_stride, col_stride,
    )  # fmt: skip


def smmlar_round_zp(shift: int, out_zp: int) -> int:
    """The constant of the SMMLAR requantization (edgetx_rt_binary.h, edgetx_rt_matmul.h) for a
    right shift (shift < 0): 2^(r - 1) for the rounding plus the output zero point times 2^r."""
    return (2 * out_zp + 1) << (-shift - 1)
