"""Each AOT kernel alone equals TFLite Micro's, byte for byte, on random shapes and
quantization parameters, edge cases included (zero points at -128 and 127, scales near 0
and near 1, saturating sums, softmax over all-equal inputs, sequence length 1).

Every case is a one-operator .tflite built in Python (tests/tflite_builder.py), generated
to C, compiled for the host and compared with the tflite-micro interpreter on random
inputs plus constant rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgetx.codegen.aot import generate_aot
from edgetx.codegen.aot.host import host_model
from edgetx.errors import UnsupportedModel
from edgetx.tflite_model import parse_model
from tests.tflite_builder import Spec, const, options, single_op, tflm_run

CASES_PER_OP = 6
Case = Callable[[np.random.Generator], tuple[bytes, np.ndarray | None]]


def _zero_point(rng: np.random.Generator, dtype: type) -> int:
    """16x8 tensors are symmetric; int8 zero points favour the extremes."""
    if dtype == np.int16:
        return 0
    return int(rng.choice([-128, 127, int(rng.integers(-128, 128))]))


def _scale(rng: np.random.Generator) -> float:
    """Near 0, near 1, or in between."""
    kind = rng.integers(3)
    if kind == 0:
        return float(10 ** rng.uniform(-4.5, -3))
    if kind == 1:
        return float(rng.uniform(0.7, 1.0))
    return float(10 ** rng.uniform(-3, 0))


def _shape(rng: np.random.Generator, rank: int, high: int = 7) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, high, rank))


def _inputs(rng: np.random.Generator, size: int, dtype: type, n: int = 200) -> np.ndarray:
    """Random rows, then rows of one repeated value (equal inputs, extremes)."""
    info = np.iinfo(dtype)
    xs = rng.integers(info.min, info.max + 1, (n, size)).astype(dtype)
    fills = [info.min, info.max, 0, int(rng.integers(info.min, info.max + 1))]
    return np.concatenate([xs, np.stack([np.full(size, v, dtype) for v in fills])])


def check(model: bytes, xs: np.ndarray, work: Path, cxx: bool = False) -> None:
    """AOT host output bytes == TFLM output bytes for every row of xs."""
    m = parse_model(model)
    gen = generate_aot(m, work / "src")
    host = host_model(work / "src", work / "host", gen.input_bytes, gen.output_bytes, cxx=cxx)
    want = tflm_run(model, xs)
    got = host.run(xs.view(np.int8)).view(want.dtype)
    assert got.shape == want.shape
    bad = np.argwhere(got != want)
    assert not len(bad), (
        f"{len(bad)} of {got.size} values differ; first at {tuple(bad[0])}: "
        f"aot {got[tuple(bad[0])]} tflm {want[tuple(bad[0])]}"
    )


# --- Case generators: (model, inputs or None for the default random rows).


def unary(opcode: str, dtype: type = np.int8, out_q: tuple[float, int] | None = None) -> Case:
    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        shape = _shape(rng, int(rng.integers(1, 4)))
        zp, s_in = _zero_point(rng, dtype), _scale(rng)
        oq = out_q or (_scale(rng), _zero_point(rng, dtype))
        if opcode == "HARD_SWISH":  # TFLM needs the output scale above input scale / 128
            oq = (s_in * float(rng.uniform(1 / 100, 2)), oq[1])
        model = single_op(
            opcode,
            [Spec(shape, dtype, scale=s_in, zero_point=zp)],
            Spec(shape, dtype, scale=oq[0], zero_point=oq[1]),
        )
        if opcode == "RSQRT":  # TFLM refuses inputs below the zero point
            size = int(np.prod(shape))
            top = np.iinfo(dtype).max + 1
            return model, rng.integers(zp, top, (100, size)).astype(dtype)
        return model, None

    return make


def binary(opcode: str, dtype: type = np.int8) -> Case:
    opts_kind = {
        "ADD": "AddOptions",
        "SUB": "SubOptions",
        "MUL": "MulOptions",
        "SQUARED_DIFFERENCE": "SquaredDifferenceOptions",
    }[opcode]

    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        out_shape = _shape(rng, int(rng.integers(1, 5)))
        # The second operand broadcasts along some dimensions, or has fewer of them.
        other = tuple(d if rng.random() < 0.5 else 1 for d in out_shape)
        other = other[int(rng.integers(0, len(other))) :] or (1,)
        info = np.iinfo(dtype)
        b = const(
            rng.integers(info.min, info.max + 1, other),
            dtype,
            scale=_scale(rng),
            zero_point=_zero_point(rng, dtype),
        )
        fields = {}
        if opcode in ("ADD", "SUB", "MUL"):
            fields["fusedActivationFunction"] = int(rng.choice([0, 0, 1, 3]))
        # A small output scale saturates the sums.
        out_scale = _scale(rng) / (50 if rng.random() < 0.3 else 1)
        s_a = _scale(rng)
        if opcode in ("ADD", "SUB"):  # TFLM needs its output multiplier below 1
            left = 15 if dtype == np.int16 else 20
            out_scale = max(out_scale, 2.01 * max(s_a, b.scale) / (1 << left))
        model = single_op(
            opcode,
            [Spec(out_shape, dtype, scale=s_a, zero_point=_zero_point(rng, dtype)), b],
            Spec(out_shape, dtype, scale=out_scale, zero_point=_zero_point(rng, dtype)),
            options(opts_kind, **fields),
        )
        return model, None

    return make


def softmax(dtype: type = np.int8) -> Case:
    # TFLM's fixed output quantization: 1/256 at -128 (int8), 1/32768 at 0 (int16).
    out_q = (1 / 32768, 0) if dtype == np.int16 else (1 / 256, -128)

    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        shape = (*_shape(rng, int(rng.integers(0, 3))), int(rng.choice([1, 2, 5, 17, 40])))
        s_in = float(10 ** rng.uniform(-5, -2)) if dtype == np.int16 else _scale(rng)
        model = single_op(
            "SOFTMAX",
            [Spec(shape, dtype, scale=s_in, zero_point=_zero_point(rng, dtype))],
            Spec(shape, dtype, scale=out_q[0], zero_point=out_q[1]),
            options("SoftmaxOptions", beta=float(rng.choice([1.0, 1.0, 0.5, 2.0]))),
        )
        return model, None

    return make


def reduce(opcode: str, dtype: type = np.int8) -> Case:
    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        shape = _shape(rng, int(rng.integers(1, 5)))
        rank = len(shape)
        axes = sorted({int(a) for a in rng.integers(0, rank, int(rng.integers(1, rank + 1)))})
        keep = bool(rng.integers(2))
        out_shape = tuple(
            1 if d in axes else n for d, n in enumerate(shape) if keep or d not in axes
        )
        axes_given = [a - rank if rng.random() < 0.3 else a for a in axes]
        count = int(np.prod([shape[a] for a in axes]))
        s_in = _scale(rng)
        s_out = s_in * float(rng.uniform(0.3, 3)) * (count if opcode == "SUM" else 1)
        model = single_op(
            opcode,
            [Spec(shape, dtype, scale=s_in, zero_point=_zero_point(rng, dtype)), const(axes_given)],
            Spec(out_shape, dtype, scale=s_out, zero_point=_zero_point(rng, dtype)),
            options("ReducerOptions", keepDims=keep),
        )
        return model, None

    return make


def _conv_out(n: int, k: int, stride: int, dilation: int, same: bool) -> int:
    effective = (k - 1) * dilation + 1
    return (n + stride - 1) // stride if same else (n + stride - effective) // stride


def conv(opcode: str, dtype: type = np.int8) -> Case:
    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        h, w, c = (int(v) for v in rng.integers(1, 8, 3))
        kh, kw = (int(v) for v in rng.integers(1, 4, 2))
        sh, sw, dh, dw = (int(v) for v in rng.integers(1, 3, 4))
        same = bool(rng.integers(2)) or (kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w
        oh, ow = _conv_out(h, kh, sh, dh, same), _conv_out(w, kw, sw, dw, same)
        s_in = _scale(rng)
        geometry = dict(
            padding=0 if same else 1,
            strideH=sh,
            strideW=sw,
            dilationHFactor=dh,
            dilationWFactor=dw,
            fusedActivationFunction=int(rng.choice([0, 1, 3])),
        )
        if opcode == "CONV_2D":
            oc = int(rng.integers(1, 7))
            wshape, qdim = (oc, kh, kw, c), 0
            opts = options("Conv2DOptions", **geometry)
        else:
            mult = int(rng.integers(1, 3))
            oc = c * mult
            wshape, qdim = (1, kh, kw, oc), 3
            opts = options("DepthwiseConv2DOptions", depthMultiplier=mult, **geometry)
        per_channel = bool(rng.integers(2))
        wscales = list(10 ** rng.uniform(-3, -0.5, oc if per_channel else 1))
        weights = const(
            rng.integers(-127, 128, wshape),
            np.int8,
            scale=wscales,
            zero_point=[0] * len(wscales),
            quantized_dimension=qdim,
        )
        bias_t = np.int64 if dtype == np.int16 else np.int32
        bscales = [s_in * s for s in (wscales if per_channel else wscales * oc)]
        bias = const(rng.integers(-20000, 20000, oc), bias_t, scale=bscales, zero_point=[0] * oc)
        model = single_op(
            opcode,
            [
                Spec((1, h, w, c), dtype, scale=s_in, zero_point=_zero_point(rng, dtype)),
                weights,
                bias,
            ],
            Spec(
                (1, oh, ow, oc),
                dtype,
                scale=float(10 ** rng.uniform(-2, 0.5)),
                zero_point=_zero_point(rng, dtype),
            ),
            opts,
        )
        return model, None

    return make


def pool(dtype: type = np.int8, opcode: str = "AVERAGE_POOL_2D") -> Case:
    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        h, w, c = (int(v) for v in rng.integers(1, 8, 3))
        kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        sh, sw = (int(v) for v in rng.integers(1, 3, 2))
        same = bool(rng.integers(2))
        q = dict(scale=_scale(rng), zero_point=_zero_point(rng, dtype))
        model = single_op(
            opcode,
            [Spec((1, h, w, c), dtype, **q)],
            Spec((1, _conv_out(h, kh, sh, 1, same), _conv_out(w, kw, sw, 1, same), c), dtype, **q),
            options(
                "Pool2DOptions",
                padding=0 if same else 1,
                strideH=sh,
                strideW=sw,
                filterHeight=kh,
                filterWidth=kw,
                fusedActivationFunction=int(rng.choice([0, 1])),
            ),
        )
        return model, None

    return make


def fully_connected(dtype: type = np.int8) -> Case:
    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        rows, depth = int(rng.choice([1, 3, 8])), int(rng.integers(1, 40))
        out_depth = int(rng.integers(1, 20))
        per_channel = bool(rng.integers(2))
        s_in = _scale(rng)
        wscales = list(10 ** rng.uniform(-3, -0.5, out_depth if per_channel else 1))
        weights = const(
            rng.integers(-127, 128, (out_depth, depth)),
            np.int8,
            scale=wscales,
            zero_point=[0] * len(wscales),
        )
        # 16x8 takes an int64 bias (or int32, which TFLM accumulates in 32 bits).
        bias_t = np.int64 if dtype == np.int16 and rng.random() < 0.7 else np.int32
        bias = const(rng.integers(-30000, 30000, out_depth), bias_t, scale=s_in * wscales[0])
        model = single_op(
            "FULLY_CONNECTED",
            [
                Spec((rows, depth), dtype, scale=s_in, zero_point=_zero_point(rng, dtype)),
                weights,
                bias,
            ],
            Spec(
                (rows, out_depth), dtype, scale=_scale(rng) / 10, zero_point=_zero_point(rng, dtype)
            ),
            options("FullyConnectedOptions", fusedActivationFunction=int(rng.choice([0, 1]))),
        )
        return model, None

    return make


def batch_matmul(dtype: type = np.int8) -> Case:
    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        batches, rows = int(rng.integers(1, 4)), int(rng.choice([1, 2, 5]))
        depth, cols = int(rng.integers(1, 17)), int(rng.integers(1, 9))
        adj_y = bool(rng.integers(2))
        rhs_shape = (batches, cols, depth) if adj_y else (batches, depth, cols)
        info = np.iinfo(dtype)
        rhs = const(
            rng.integers(info.min, info.max + 1, rhs_shape),
            dtype,
            scale=_scale(rng),
            zero_point=_zero_point(rng, dtype),
        )
        model = single_op(
            "BATCH_MATMUL",
            [
                Spec(
                    (batches, rows, depth),
                    dtype,
                    scale=_scale(rng),
                    zero_point=_zero_point(rng, dtype),
                ),
                rhs,
            ],
            Spec(
                (batches, rows, cols), dtype, scale=_scale(rng), zero_point=_zero_point(rng, dtype)
            ),
            options("BatchMatMulOptions", adjY=adj_y),
        )
        return model, None

    return make


def matmul_wide(opcode: str) -> Case:
    """Shapes of the 4-row kernels' edge cases: groups of 1 to 3 rows (or columns) left over,
    more than 32 channels (or lhs rows) in a pass, depth tails, the deepest (64) they take."""

    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        rows, cols = int(rng.integers(1, 40)), int(rng.integers(1, 41))
        depth = int(rng.choice([8, 16, 61, 64, rng.integers(1, 65)]))
        q_in = {"scale": _scale(rng), "zero_point": _zero_point(rng, np.int8)}
        q_out = {"scale": 10 ** rng.uniform(-1, 1.5), "zero_point": _zero_point(rng, np.int8)}
        if opcode == "FULLY_CONNECTED":
            scales = list(10 ** rng.uniform(-3, -1, cols))
            inputs = [
                Spec((rows, depth), **q_in),
                const(rng.integers(-127, 128, (cols, depth)), np.int8, scale=scales,
                      zero_point=[0] * cols),
                const(rng.integers(-30000, 30000, cols), np.int32, scale=q_in["scale"] * scales[0]),
            ]  # fmt: skip
            return single_op(
                opcode, inputs, Spec((rows, cols), **q_out), options("FullyConnectedOptions")
            ), None
        adj_y = bool(rng.integers(2))
        rhs = rng.integers(-128, 128, (2, cols, depth) if adj_y else (2, depth, cols))
        inputs = [
            Spec((2, rows, depth), **q_in),
            const(rhs, np.int8, scale=_scale(rng), zero_point=_zero_point(rng, np.int8)),
        ]
        out = Spec((2, rows, cols), **q_out)
        return single_op(opcode, inputs, out, options("BatchMatMulOptions", adjY=adj_y)), None

    return make


def data_movement(opcode: str, dtype: type = np.int8) -> Case:
    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        rank = int(rng.integers(1, 5))
        shape = _shape(rng, rank)
        q = dict(scale=_scale(rng), zero_point=_zero_point(rng, dtype))
        x = Spec(shape, dtype, **q)
        info = np.iinfo(dtype)
        if opcode == "TRANSPOSE":
            perm = [int(p) for p in rng.permutation(rank)]
            return single_op(
                opcode, [x, const(perm)], Spec(tuple(shape[p] for p in perm), dtype, **q)
            ), None
        if opcode == "RESHAPE":
            flat = (int(np.prod(shape)),)
            return single_op(
                opcode,
                [x, const(flat)],
                Spec(flat, dtype, **q),
                options("ReshapeOptions", newShape=list(flat)),
            ), None
        if opcode == "SLICE":
            begin = [int(rng.integers(0, d)) for d in shape]
            size = [
                int(rng.integers(1, d - b + 1)) if rng.random() < 0.7 else -1
                for b, d in zip(begin, shape, strict=True)
            ]
            out = tuple(d - b if s == -1 else s for s, b, d in zip(size, begin, shape, strict=True))
            return single_op(
                opcode,
                [x, const(begin), const(size)],
                Spec(out, dtype, **q),
                options("SliceOptions"),
            ), None
        if opcode == "STRIDED_SLICE":
            begin, end, step, out = [], [], [], []
            begin_mask = end_mask = shrink = 0
            for d, n in enumerate(shape):
                k = int(rng.choice([1, 1, 2, -1, -2]))
                b, e = int(rng.integers(-n, n)), int(rng.integers(-n - 1, n + 1))
                if rng.random() < 0.25:
                    begin_mask |= 1 << d
                if rng.random() < 0.25:
                    end_mask |= 1 << d
                if rng.random() < 0.15 and len(shape) > 1:
                    shrink |= 1 << d
                    k, e = 1, b + 1 if b != -1 else 0
                    begin_mask &= ~(1 << d)
                    end_mask &= ~(1 << d)
                sl = slice(None if begin_mask >> d & 1 else b, None if end_mask >> d & 1 else e, k)
                count = len(range(*sl.indices(n)))
                if count == 0:  # keep the output non-empty
                    begin_mask |= 1 << d
                    end_mask |= 1 << d
                    count = len(range(*slice(None, None, k).indices(n)))
                begin.append(b)
                end.append(e)
                step.append(k)
                if not shrink >> d & 1:
                    out.append(count)
            opts = options(
                "StridedSliceOptions", beginMask=begin_mask, endMask=end_mask, shrinkAxisMask=shrink
            )
            return single_op(
                opcode,
                [x, const(begin), const(end), const(step)],
                Spec(tuple(out) or (1,), dtype, **q),
                opts,
            ), None
        if opcode == "CONCATENATION":
            axis = int(rng.integers(-rank, rank))
            others = []
            for _ in range(int(rng.integers(1, 3))):
                s = list(shape)
                s[axis] = int(rng.integers(1, 4))
                others.append(const(rng.integers(info.min, info.max + 1, s), dtype, **q))
            out = list(shape)
            out[axis] = shape[axis] + sum(o.shape[axis] for o in others)
            return single_op(
                opcode,
                [x, *others],
                Spec(tuple(out), dtype, **q),
                options("ConcatenationOptions", axis=axis),
            ), None
        if opcode == "PAD":
            pads = rng.integers(0, 3, (rank, 2))
            out = tuple(int(d + a + b) for d, (a, b) in zip(shape, pads, strict=True))
            return single_op(
                opcode, [x, const(pads)], Spec(out, dtype, **q), options("PadOptions")
            ), None
        # GATHER
        axis = int(rng.integers(0, rank))
        idx = rng.integers(0, shape[axis], _shape(rng, int(rng.integers(1, 3)), 4))
        out = shape[:axis] + idx.shape + shape[axis + 1 :]
        return single_op(
            opcode, [x, const(idx)], Spec(out, dtype, **q), options("GatherOptions", axis=axis)
        ), None

    return make


def requantize(din: type, dout: type) -> Case:
    def make(rng: np.random.Generator) -> tuple[bytes, np.ndarray | None]:
        shape = _shape(rng, 2)
        model = single_op(
            "QUANTIZE",
            [Spec(shape, din, scale=_scale(rng), zero_point=_zero_point(rng, din))],
            Spec(shape, dout, scale=_scale(rng), zero_point=_zero_point(rng, dout)),
        )
        return model, None

    return make


INT8_CASES: dict[str, Case] = {
    "FULLY_CONNECTED": fully_connected(),
    "BATCH_MATMUL": batch_matmul(),
    "FULLY_CONNECTED_WIDE": matmul_wide("FULLY_CONNECTED"),
    "BATCH_MATMUL_WIDE": matmul_wide("BATCH_MATMUL"),
    "SOFTMAX": softmax(),
    **{op: binary(op) for op in ("ADD", "SUB", "MUL", "SQUARED_DIFFERENCE")},
    "MEAN": reduce("MEAN"),
    "SUM": reduce("SUM"),
    "RSQRT": unary("RSQRT"),
    "TANH": unary("TANH", out_q=(1 / 128, 0)),
    "LOGISTIC": unary("LOGISTIC", out_q=(1 / 256, -128)),
    "HARD_SWISH": unary("HARD_SWISH"),
    "RELU": unary("RELU"),
    "QUANTIZE": requantize(np.int8, np.int8),
    **{
        op: data_movement(op)
        for op in (
            "RESHAPE",
            "TRANSPOSE",
            "GATHER",
            "CONCATENATION",
            "SLICE",
            "STRIDED_SLICE",
            "PAD",
        )
    },
    "CONV_2D": conv("CONV_2D"),
    "DEPTHWISE_CONV_2D": conv("DEPTHWISE_CONV_2D"),
    "AVERAGE_POOL_2D": pool(),
    "MAX_POOL_2D": pool(opcode="MAX_POOL_2D"),
}
INT16_CASES: dict[str, Case] = {
    "FULLY_CONNECTED": fully_connected(np.int16),
    "BATCH_MATMUL": batch_matmul(np.int16),
    "SOFTMAX": softmax(np.int16),
    **{op: binary(op, np.int16) for op in ("ADD", "SUB", "MUL", "SQUARED_DIFFERENCE")},
    "MEAN": reduce("MEAN", np.int16),
    "SUM": reduce("SUM", np.int16),
    **{
        op: data_movement(op, np.int16)
        for op in ("RESHAPE", "TRANSPOSE", "SLICE", "STRIDED_SLICE", "CONCATENATION", "PAD")
    },
    "CONV_2D": conv("CONV_2D", np.int16),
    "DEPTHWISE_CONV_2D": conv("DEPTHWISE_CONV_2D", np.int16),
    "AVERAGE_POOL_2D": pool(np.int16),
    "MAX_POOL_2D": pool(np.int16, "MAX_POOL_2D"),
    "QUANTIZE_8_16": requantize(np.int8, np.int16),
    "QUANTIZE_16_8": requantize(np.int16, np.int8),
    "QUANTIZE_16_16": requantize(np.int16, np.int16),
    "RSQRT": unary("RSQRT", np.int16),
    "TANH": unary("TANH", np.int16, out_q=(1 / 32768, 0)),
    "LOGISTIC": unary("LOGISTIC", np.int16, out_q=(1 / 32768, 0)),
}
PARAMS = [
    pytest.param(dtype, name, case, i, id=f"{dtype.__name__}-{name}-{i}")
    for dtype, cases in ((np.int8, INT8_CASES), (np.int16, INT16_CASES))
    for name, case in cases.items()
    for i in range(CASES_PER_OP)
]


@pytest.mark.parametrize(("dtype", "name", "case", "i"), PARAMS)
def test_kernel_bit_exact(dtype: type, name: str, case: Case, i: int, tmp_path: Path) -> None:
    rng = np.random.default_rng([zlib.crc32(f"{dtype.__name__}{name}".encode()), i])
    model, xs = case(rng)
    if xs is None:
        x = parse_model(model).input
        xs = _inputs(rng, x.size, x.np_dtype.type)
    check(model, xs, tmp_path, cxx=i == 0)


def test_softmax_of_equal_inputs_and_length_one(tmp_path: Path) -> None:
    for depth in (1, 7):
        model = single_op(
            "SOFTMAX",
            [Spec((3, depth), scale=0.05, zero_point=-128)],
            Spec((3, depth), scale=1 / 256, zero_point=-128),
            options("SoftmaxOptions", beta=1.0),
        )
        xs = np.stack([np.full(3 * depth, v, np.int8) for v in (-128, -1, 0, 127)])
        check(model, xs, tmp_path / str(depth))
        out = tflm_run(model, xs)
        if depth == 1:
            assert np.all(out == 127)  # one element: probability 1


def test_saturating_add_clamps_like_tflm(tmp_path: Path) -> None:
    # Inputs at both ends and a tiny output scale: nearly every sum saturates.
    model = single_op(
        "ADD",
        [
            Spec((64,), scale=1.0, zero_point=-128),
            const(np.full(64, 127), np.int8, scale=1.0, zero_point=127),
        ],
        Spec((64,), scale=0.01, zero_point=127),
        options("AddOptions"),
    )
    xs = _inputs(np.random.default_rng(3), 64, np.int8, n=50)
    check(model, xs, tmp_path)
    assert (tflm_run(model, xs) == 127).mean() > 0.9


def test_unsupported_dtype_is_refused_by_name(tmp_path: Path) -> None:
    model = single_op("RELU", [Spec((4,), np.int16, scale=0.1)], Spec((4,), np.int16, scale=0.1))
    with pytest.raises(UnsupportedModel, match="RELU"):
        generate_aot(parse_model(model), tmp_path)


@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL", "SQUARED_DIFFERENCE"])
def test_binary_with_a_constant_scalar_is_tabulated_exactly(opcode: str, tmp_path: Path) -> None:
    # One operand a constant scalar: the op becomes a generated 256-entry table; every int8
    # input (all 256 of them, in each row) must give TFLM's byte, zero points at both ends.
    kind = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}
    opts = options(kind.get(opcode, "SquaredDifferenceOptions"))
    for i, (zx, zc, zo, c, out_scale) in enumerate(
        [(-128, 127, 127, -128, 0.01), (127, -128, -128, 127, 0.3), (5, 0, -3, 77, 0.05)]
    ):
        scalar = const(np.array([c]), np.int8, scale=0.02, zero_point=zc)
        x = Spec((512,), scale=0.04, zero_point=zx)
        model = single_op(opcode, [x, scalar], Spec((512,), scale=out_scale, zero_point=zo), opts)
        assert "etx_lookup" in _generated(model, tmp_path / f"gen{i}")
        xs = np.stack([np.roll(np.arange(-128, 128).repeat(2), r) for r in range(4)])
        check(model, xs.astype(np.int8), tmp_path / str(i))


def _generated(model: bytes, out: Path) -> str:
    generate_aot(parse_model(model), out)
    return (out / "edgetx_model.c").read_text()


@pytest.mark.parametrize("out_zero_point", [127, 0])
def test_sub_of_two_full_tensors(out_zero_point: int, tmp_path: Path) -> None:
    # Multipliers derived in float32 rather than double put this SUB off by one on about 5 %
    # of its outputs; the random cases had not hit such scales.
    rng = np.random.default_rng(0)
    c = rng.integers(-128, 128, (4, 16)).astype(np.int8)
    inputs = [Spec((4, 16), scale=0.03, zero_point=5), const(c, np.int8, scale=0.05, zero_point=-7)]
    out = Spec((4, 16), scale=0.02, zero_point=out_zero_point)
    model = single_op("SUB", inputs, out, options("SubOptions"))
    check(model, rng.integers(-128, 128, (300, 64)).astype(np.int8), tmp_path)
