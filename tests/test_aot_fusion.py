"""Fused operators (fusion.py) and the element-wise fast paths they share with etx_binary.

A LayerNorm chain as the converter emits it runs as one kernel whose output bytes equal TFLM's
running the chain operator by operator, on random shapes and quantization parameters (zero
points at the extremes, sequence length 1, a mean of larger scale than x: the general path),
on the host and (qemu) on the Cortex-M4's DSP path. The chain is not fused when one of its
intermediates has another reader or is the model's output. The memory plan gives a fused
group's internal tensors no space and never puts its output over its input. The element-wise
fast paths (two activations, a row broadcast) and a pooling MEAN's column sums are checked on
both paths too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgetx.codegen.aot import generate_aot
from edgetx.codegen.aot.fusion import Step, internal, steps
from edgetx.codegen.aot.planner import plan_memory
from edgetx.tflite_model import parse_model
from tests.test_aot_kernels import _inputs, check
from tests.tflite_builder import Spec, const, model_bytes, options

# Tensor indices of the chain built by _layer_norm.
X, M, MR, SQ, V, VE, R, RM, S, RR, XR, SR, Y = range(13)


def _layer_norm(rng: np.random.Generator, rows: int, depth: int, *, mean_wider: bool = False,
                keep_dims: bool = False, outputs: tuple[int, ...] = (Y,),
                extra: bool = False) -> bytes:  # fmt: skip
    """x [1, rows, depth] -> the converter's LayerNorm chain -> y, quantization drawn at random.

    mean_wider: the mean gets a larger scale than x (the kernel's general path). keep_dims: the
    MEANs keep the reduced axis (no RESHAPE). extra: xr also feeds an ADD with y (then the
    model's output), so xr has a reader outside the chain.
    """

    def zp() -> int:
        return int(rng.choice([-128, 127, int(rng.integers(-128, 128))]))

    s_x = float(10 ** rng.uniform(-2, -0.7))
    s_m = s_x * float(rng.uniform(1.2, 3) if mean_wider else rng.uniform(0.03, 0.9))
    s_sq = s_x * s_x * float(rng.uniform(20, 200))
    s_v = s_sq * float(rng.uniform(0.1, 0.5))
    s_r = float(1 / np.sqrt(s_v * 255) * rng.uniform(0.02, 0.1))
    s_rm = s_r * s_m * float(rng.uniform(20, 120))
    s_xr = float(rng.uniform(0.01, 0.05))
    s_y = s_xr * float(rng.uniform(0.8, 1.3))
    row = (1, rows, 1)
    vec = row if keep_dims else (rows,)
    q = dict  # readability: q(scale=..., zero_point=...)
    tensors = [
        Spec((1, rows, depth), **q(scale=s_x, zero_point=zp())),  # X
        Spec(vec, **q(scale=s_m, zero_point=zp())),  # M
        Spec(row, **q(scale=s_m, zero_point=0)),  # MR (zero point set below)
        Spec((1, rows, depth), **q(scale=s_sq, zero_point=-128)),  # SQ
        Spec(vec, **q(scale=s_v, zero_point=-128)),  # V
        Spec(vec, **q(scale=s_v, zero_point=-128)),  # VE
        Spec(vec, **q(scale=s_r, zero_point=-128)),  # R
        Spec(vec, **q(scale=s_rm, zero_point=zp())),  # RM
        Spec(vec, **q(scale=s_rm, zero_point=zp())),  # S
        Spec(row, **q(scale=s_r, zero_point=-128)),  # RR
        Spec((1, rows, depth), **q(scale=s_xr, zero_point=zp())),  # XR
        Spec(row, **q(scale=s_rm, zero_point=0)),  # SR
        Spec((1, rows, depth), **q(scale=s_y, zero_point=zp())),  # Y
        const(np.array([2] if keep_dims else [0, 2]), np.int32),  # 13: MEAN axes
        const(np.array(row), np.int32),  # 14: RESHAPE shape
        const(np.array([127]), np.int8, scale=1e-5 / 255, zero_point=-128),  # 15: eps
        const(np.array([-128]), np.int8, scale=1e-11, zero_point=-128),  # 16: SUB's 0
    ]
    tensors[MR].zero_point = tensors[M].zero_point
    tensors[SR].zero_point = tensors[S].zero_point
    mean = options("ReducerOptions", keepDims=keep_dims)
    m_row, r_row, s_row = (M, R, S) if keep_dims else (MR, RR, SR)
    ops = [
        ("MEAN", [X, 13], [M], mean),
        ("SQUARED_DIFFERENCE", [X, m_row], [SQ], options("SquaredDifferenceOptions")),
        ("MEAN", [SQ, 13], [V], mean),
        ("ADD", [V, 15], [VE], options("AddOptions")),
        ("RSQRT", [VE], [R], None),
        ("MUL", [R, M], [RM], options("MulOptions")),
        ("SUB", [16, RM], [S], options("SubOptions")),
        ("MUL", [X, r_row], [XR], options("MulOptions")),
        ("ADD", [XR, s_row], [Y], options("AddOptions")),
    ]
    if not keep_dims:
        reshapes = [("RESHAPE", [t, 14], [t_row], options("ReshapeOptions", newShape=list(row)))
                    for t, t_row in ((M, MR), (R, RR), (S, SR))]  # fmt: skip
        ops = [ops[0], reshapes[0], *ops[1:5], reshapes[1], *ops[5:7], reshapes[2], *ops[7:]]
    if extra:
        tensors.append(Spec((1, rows, depth), scale=s_y * 2, zero_point=zp()))
        ops.append(("ADD", [Y, XR], [len(tensors) - 1], options("AddOptions")))
        outputs = (len(tensors) - 1,)
    return model_bytes(ops, tensors, [X], list(outputs))


def _source(model: bytes, out: Path) -> str:
    generate_aot(parse_model(model), out)
    return (out / "edgetx_model.c").read_text()


@pytest.mark.parametrize(
    ("seed", "rows", "depth", "variant"),
    [
        (0, 32, 16, {}),  # the audio example's shape
        (1, 1, 16, {}),  # sequence length 1
        (2, 5, 7, {"keep_dims": True}),  # no RESHAPEs, a depth not a multiple of 4
        (3, 3, 24, {"mean_wider": True}),  # the general path
        (4, 7, 1, {}),  # one element per row
        (5, 9, 33, {"keep_dims": True, "mean_wider": True}),
    ],
)
def test_layer_norm_chain_fused_equals_tflm(
    seed: int, rows: int, depth: int, variant: dict, tmp_path: Path
) -> None:
    rng = np.random.default_rng(seed)
    model = _layer_norm(rng, rows, depth, **variant)
    src = _source(model, tmp_path / "gen")
    assert src.count("etx_layer_norm(") == 1 and "etx_binary(" not in src
    [step] = [s for s in steps(parse_model(model)) if s.fused]
    assert step.label == "LAYER_NORM (fused MEAN..ADD)"
    check(model, _inputs(rng, rows * depth, np.int8, n=300), tmp_path, cxx=seed == 0)


@pytest.mark.parametrize("case", ["reader", "output"])
def test_layer_norm_chain_is_not_fused_when_an_intermediate_escapes(
    case: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(11)
    if case == "reader":  # XR also feeds an ADD after the chain
        model = _layer_norm(rng, 4, 8, extra=True)
    else:  # RM is the model's output
        model = _layer_norm(rng, 4, 8, outputs=(RM,))
    assert not any(s.fused for s in steps(parse_model(model)))
    assert "etx_layer_norm" not in _source(model, tmp_path / "gen")
    check(model, _inputs(rng, 32, np.int8, n=100), tmp_path)


def test_plan_gives_fused_intermediates_no_space() -> None:
    model = parse_model(_layer_norm(np.random.default_rng(3), 8, 16))
    plan = plan_memory(model)
    hidden = internal(steps(model))
    assert hidden == {M, MR, SQ, V, VE, R, RM, S, RR, XR, SR}
    assert not hidden & set(plan.offsets)
    # Only x and y are in memory, side by side: the output never overlaps the input.
    assert sorted(plan.offsets) == [X, Y]
    assert abs(plan.offsets[X] - plan.offsets[Y]) >= 128
    assert plan.arena_bytes == 256


def test_fusion_never_grows_the_arena() -> None:
    model = parse_model(_layer_norm(np.random.default_rng(4), 16, 32))
    unfused = [Step(op.opcode, (op,), tuple(t for t in op.inputs if t >= 0), tuple(op.outputs))
               for op in model.operators]  # fmt: skip
    assert plan_memory(model).arena_bytes < plan_memory(model, unfused).arena_bytes


# --- The element-wise fast paths on two activation tensors (the residual ADD) and on a row
# broadcast computed in the model, against TFLM.


def _two_activations(rng: np.random.Generator, opcode: str, shape: tuple[int, ...],
                     broadcast: str, quant: tuple[list, list] | None = None) -> bytes:  # fmt: skip
    """OP(x, b) or OP(b, x) where b = TANH(x) (full) or MEAN(x) over the last axis (per row);
    quant: the (scales, zero points) of x, b and the output, else drawn at random."""
    s = [float(10 ** rng.uniform(-2.5, -0.5)) for _ in range(3)]
    zps = [int(rng.choice([-128, 127, int(rng.integers(-128, 128))])) for _ in range(3)]
    if rng.random() < 0.3:
        s[2] = max(s[:2]) / 40  # saturating sums
    if quant:
        s, zps = quant
    row = (*shape[:-1], 1)
    full = broadcast == "none"
    b_spec = (Spec(shape, scale=1 / 128, zero_point=0) if full
              else Spec(row, scale=s[1], zero_point=zps[1]))  # fmt: skip
    tensors = [
        Spec(shape, scale=s[0], zero_point=zps[0]),
        b_spec,
        Spec(shape, scale=s[2], zero_point=zps[2]),
        const(np.array([len(shape) - 1]), np.int32),
    ]
    make_b = (("TANH", [0], [1], None) if full
              else ("MEAN", [0, 3], [1], options("ReducerOptions", keepDims=True)))  # fmt: skip
    ins = [1, 0] if broadcast == "first" else [0, 1]
    kind = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}
    op = (opcode, ins, [2], options(kind.get(opcode, "SquaredDifferenceOptions")))
    return model_bytes([make_b, op], tensors, [0], [2])


@pytest.mark.parametrize("opcode", ["ADD", "SUB", "MUL", "SQUARED_DIFFERENCE"])
@pytest.mark.parametrize("broadcast", ["none", "second", "first"])
def test_binary_of_activations_equals_tflm(opcode: str, broadcast: str, tmp_path: Path) -> None:
    for i in range(4):
        rng = np.random.default_rng([len(opcode), len(broadcast), i])
        shape = [(32, 16), (1, 9), (3, 5, 7), (6, 1)][i]
        model = _two_activations(rng, opcode, shape, broadcast)
        check(model, _inputs(rng, int(np.prod(shape)), np.int8), tmp_path / str(i))


@pytest.mark.qemu
@pytest.mark.parametrize(("seed", "variant"), [(0, {}), (3, {"mean_wider": True})])
def test_layer_norm_dsp_and_portable_match_tflm(seed: int, variant: dict, tmp_path: Path) -> None:
    from tests.test_aot_dsp import check as dsp_check

    model = _layer_norm(np.random.default_rng(seed), 32, 16, **variant)
    dsp_check(model, 32 * 16, tmp_path, dsp=("smmlar", "ssat"))


@pytest.mark.qemu
@pytest.mark.parametrize("opcode", ["ADD", "SUB", "SQUARED_DIFFERENCE", "MUL"])
def test_binary_of_activations_dsp_and_portable_match_tflm(opcode: str, tmp_path: Path) -> None:
    from tests.test_aot_dsp import check as dsp_check

    # x and TANH(x) (scale 1/128): x of larger scale, the output's chosen to vary.
    out_scale = {"ADD": 0.05, "SUB": 0.05, "SQUARED_DIFFERENCE": 0.3, "MUL": 0.01}[opcode]
    quant = ([0.04, 1 / 128, out_scale], [-20, 0, -128 if opcode == "SQUARED_DIFFERENCE" else 3])
    model = _two_activations(np.random.default_rng(0), opcode, (8, 16), "none", quant)
    dsp_check(model, 8 * 16, tmp_path, dsp=("smmlar",))


@pytest.mark.qemu
@pytest.mark.parametrize(("shape", "keep"), [((1, 32, 16), False), ((3, 5, 6), True)])
def test_pooling_mean_dsp_and_portable_match_tflm(
    shape: tuple[int, ...], keep: bool, tmp_path: Path
) -> None:
    # MEAN over the middle axis: columns summed four at a time (6 columns: a tail of two).
    from tests.test_aot_dsp import check as dsp_check
    from tests.tflite_builder import single_op

    out_shape = (shape[0], 1, shape[2]) if keep else (shape[0], shape[2])
    model = single_op(
        "MEAN",
        [Spec(shape, scale=0.04, zero_point=-7), const(np.array([1]), np.int32)],
        Spec(out_shape, scale=0.01, zero_point=5),
        options("ReducerOptions", keepDims=keep),
    )
    dsp_check(model, int(np.prod(shape)), tmp_path, dsp=("sadd16",))
