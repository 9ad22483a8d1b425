"""The Arm DSP paths (SXTB16/SMLAD matrix loops, SMLAL requantizations, SSAT/USAT; Cortex-M4
under QEMU) and the portable path (host build, and a Cortex-M3 under QEMU) of the same
generated C both give TFLM's bytes:
FULLY_CONNECTED and BATCH_MATMUL (the 4-row kernels and the others), the element-wise binary
operators, MEAN and SOFTMAX."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgetx.boards import load_board
from edgetx.build import build
from edgetx.codegen.aot import generate_aot
from edgetx.codegen.aot.host import host_model
from edgetx.flash import QemuRunner
from edgetx.link import Link
from edgetx.reference import Reference
from edgetx.tflite_model import parse_model
from tests.tflite_builder import Spec, const, options, single_op

pytestmark = pytest.mark.qemu
BOARD = "qemu-mps2-an386"


def both_paths(
    model: bytes, xs: np.ndarray, work: Path, dsp: tuple[str, ...] = ("smlad", "sxtb16")
) -> tuple[np.ndarray, np.ndarray]:
    """Outputs of the host (portable) build and of the Cortex-M4 (DSP) firmware for inputs xs;
    dsp names instructions the firmware must contain (the DSP path was compiled)."""
    (work / "model").mkdir(parents=True)
    (work / "model" / "model.tflite").write_bytes(model)
    gen = generate_aot(parse_model(model), work / "src")
    host = host_model(work / "src", work / "host", gen.input_bytes, gen.output_bytes).run(xs)
    info = build(work / "model", BOARD, work / "fw")
    disassembly = subprocess.run(
        ["arm-none-eabi-objdump", "-d", info.elf], capture_output=True, text=True, check=True
    ).stdout
    for instruction in dsp:
        assert f"\t{instruction}" in disassembly
    device = []
    with (
        QemuRunner.from_board(load_board(BOARD)) as runner,
        Link.open(runner.start(Path(info.elf))) as link,
    ):
        link.sync()
        for x in xs:
            device.append(np.frombuffer(link.run(x.tobytes()).output, np.int8))
    return host, np.stack(device)


def check(
    model: bytes, n_inputs: int, work: Path, dsp: tuple[str, ...] = ("smlad", "sxtb16")
) -> None:
    rng = np.random.default_rng(3)
    ref = Reference(model)
    xs = rng.integers(-128, 128, (32, n_inputs), dtype=np.int8)
    xs[0], xs[1] = -128, 127  # saturated inputs: the extremes of every sum
    want = ref.run_many(xs).reshape(len(xs), -1)
    host, device = both_paths(model, xs, work, dsp)
    assert len({w.tobytes() for w in want}) > 16  # the outputs really vary
    np.testing.assert_array_equal(host, want)
    np.testing.assert_array_equal(device, want)


@pytest.mark.parametrize(
    ("rows", "depth", "out_depth", "in_zp", "act"),
    [
        (3, 7, 5, 5, 0),  # 4-row kernel: depth tail of 3, a group of 3 rows
        (9, 16, 40, -128, 0),  # two whole groups, then 1 row over more than 32 channels
        (4, 41, 10, 127, 0),  # zero point at the top, depth tail of 1
        (2, 16, 8, -128, 1),  # fused RELU clamping above -128: the 4-channel kernel
        (3, 70, 6, 9, 0),  # deeper than the 4-row kernel's buffer: the 4-channel kernel
    ],
)
def test_fully_connected_dsp_and_portable_match_tflm(
    rows: int, depth: int, out_depth: int, in_zp: int, act: int, tmp_path: Path
) -> None:
    rng = np.random.default_rng(depth)
    w = rng.integers(-127, 128, (out_depth, depth), dtype=np.int8)
    w_scales = list(rng.uniform(0.002, 0.02, out_depth))
    bias = rng.integers(-3000, 3000, out_depth, dtype=np.int32)
    in_scale, out_scale = 0.05, 0.08
    model = single_op(
        "FULLY_CONNECTED",
        [
            Spec((rows, depth), scale=in_scale, zero_point=in_zp),
            const(w, np.int8, scale=w_scales, zero_point=[0] * out_depth),
            const(
                bias, np.int32, scale=[in_scale * s for s in w_scales], zero_point=[0] * out_depth
            ),
        ],
        Spec((rows, out_depth), scale=out_scale, zero_point=-3),
        options("FullyConnectedOptions", fusedActivationFunction=act),
    )
    x4 = depth <= 64 and act == 0
    assert x4 == ("etx_fully_connected_x4" in _generated(model, tmp_path / "gen"))
    check(model, rows * depth, tmp_path, ("smlad", "smmlar") if x4 else ("smlad", "sxtb16"))


@pytest.mark.parametrize(
    ("batches", "rows", "depth", "cols", "adj_y", "zps", "out_scale"),
    [
        (2, 5, 9, 6, False, (-128, 17, 4), 1.8),  # depth tail (last lhs row copied), 2 columns left
        (1, 4, 12, 7, True, (127, -128, 127), 2.4),  # transposed rhs: columns contiguous
        (1, 34, 7, 5, False, (3, 127, -128), 1.4),  # more lhs rows than one pass, 1 column left
        (2, 8, 64, 8, False, (-128, 0, 127), 12.8),  # the deepest the 4-row kernel takes
        (1, 4, 12, 8, False, (0, 0, 0), 0.0011),  # multiplier above 1/2: the 4-column kernel
        (1, 3, 70, 4, False, (-128, 17, 4), 14.0),  # deeper: the portable loop
    ],
)
def test_batch_matmul_dsp_and_portable_match_tflm(
    batches: int,
    rows: int,
    depth: int,
    cols: int,
    adj_y: bool,
    zps: tuple[int, int, int],
    out_scale: float,
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(depth)
    rhs_shape = (batches, cols, depth) if adj_y else (batches, depth, cols)
    rhs = rng.integers(-128, 128, rhs_shape, dtype=np.int8)
    model = single_op(
        "BATCH_MATMUL",
        [
            Spec((batches, rows, depth), scale=0.04, zero_point=zps[0]),
            const(rhs, np.int8, scale=0.03, zero_point=zps[1]),
        ],
        Spec((batches, rows, cols), scale=out_scale, zero_point=zps[2]),
        options("BatchMatMulOptions", adjX=False, adjY=adj_y),
    )
    x4 = depth <= 64 and out_scale > 0.0024  # a multiplier under 1/2
    assert x4 == ("etx_batch_matmul_x4" in _generated(model, tmp_path / "gen"))
    dsp = ("smlad", "sxtab16") if x4 else ("smlad",) if depth <= 64 else ()
    check(model, batches * rows * depth, tmp_path, dsp)


def _generated(model: bytes, out: Path) -> str:
    generate_aot(parse_model(model), out)
    return (out / "edgetx_model.c").read_text()


def test_audio_model_dsp_and_portable_match_tflm(converted: Path, tmp_path: Path) -> None:
    model = (converted / "model" / "model.tflite").read_bytes()
    check(model, parse_model(model).input.size, tmp_path)


def test_audio_model_portable_path_on_cortex_m3(converted: Path, tmp_path: Path) -> None:
    # The Cortex-M3 has no DSP extension: the same generated C takes its portable path on an
    # Arm core (32-bit int, Thumb-2 code generation) and must still give TFLM's bytes.
    model_dir = converted / "model"
    model = (model_dir / "model.tflite").read_bytes()
    info = build(model_dir, "qemu-mps2-an385", tmp_path / "fw")
    disassembly = subprocess.run(
        ["arm-none-eabi-objdump", "-d", info.elf], capture_output=True, text=True, check=True
    ).stdout
    assert "\tsmlad" not in disassembly and "\tsxtb16" not in disassembly
    xs = np.random.default_rng(5).integers(-128, 128, (32, info.input_bytes), dtype=np.int8)
    xs[0], xs[1] = -128, 127
    want = Reference(model).run_many(xs).reshape(len(xs), -1)
    with (
        QemuRunner.from_board(load_board("qemu-mps2-an385")) as runner,
        Link.open(runner.start(Path(info.elf))) as link,
    ):
        link.sync()
        got = np.stack([np.frombuffer(link.run(x.tobytes()).output, np.int8) for x in xs])
    assert len({w.tobytes() for w in want}) > 16
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("opcode", "in_shape", "other_shape", "scales", "zps"),
    [
        # Row broadcast (LayerNorm), the input of larger scale first (its multiplier is 2^30).
        ("ADD", (8, 16), (8, 1), (0.04, 0.01, 0.05), (-128, 127, 127)),
        ("SUB", (8, 16), (8, 1), (0.02, 0.03, 0.04), (127, -128, 0)),
        ("MUL", (8, 16), (8, 1), (0.04, 0.006, 0.02), (-128, -128, 0)),
        ("SQUARED_DIFFERENCE", (8, 16), (8, 1), (0.04, 0.003, 0.1), (-20, 1, -128)),
        # Both inputs vary (a residual ADD), scales within 2x (shift -1 on both inputs).
        ("ADD", (8, 16), (8, 16), (0.0395, 0.02, 0.039), (-20, -1, -5)),
        # The first input broadcast: the kernel swaps the inputs of ADD, MUL and SQDIFF.
        ("ADD", (8, 1), (8, 16), (0.01, 0.04, 0.05), (3, -3, 0)),
        ("SQUARED_DIFFERENCE", (8, 1), (8, 16), (0.02, 0.02, 0.05), (0, 9, -128)),
        # A tiny output scale: nearly every output saturates.
        ("ADD", (8, 16), (8, 16), (0.5, 0.4, 0.002), (-128, 127, 0)),
    ],
)
def test_binary_dsp_and_portable_match_tflm(
    opcode: str,
    in_shape: tuple[int, ...],
    other_shape: tuple[int, ...],
    scales: tuple[float, float, float],
    zps: tuple[int, int, int],
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(len(opcode))
    out_shape = tuple(max(a, b) for a, b in zip(in_shape, other_shape, strict=True))
    kind = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}
    model = single_op(
        opcode,
        [
            Spec(in_shape, scale=scales[0], zero_point=zps[0]),
            const(
                rng.integers(-128, 128, other_shape), np.int8, scale=scales[1], zero_point=zps[1]
            ),
        ],
        Spec(out_shape, scale=scales[2], zero_point=zps[2]),
        options(kind.get(opcode, "SquaredDifferenceOptions")),
    )
    check(model, int(np.prod(in_shape)), tmp_path, dsp=("smmlar", "ssat"))


@pytest.mark.parametrize("depth", [16, 7])  # whole words, and a tail of 3
def test_mean_dsp_and_portable_match_tflm(depth: int, tmp_path: Path) -> None:
    model = single_op(
        "MEAN",
        [Spec((9, depth), scale=0.04, zero_point=-128), const(np.array([1]), np.int32)],
        Spec((9,), scale=0.05, zero_point=-128),
        options("ReducerOptions", keepDims=False),
    )
    check(model, 9 * depth, tmp_path, dsp=("usada8",))


@pytest.mark.parametrize("in_scale", [0.25, 0.02])  # a 64-entry exponential table, and 256
def test_softmax_dsp_and_portable_match_tflm(in_scale: float, tmp_path: Path) -> None:
    model = single_op(
        "SOFTMAX",
        [Spec((4, 32), scale=in_scale, zero_point=72)],
        Spec((4, 32), scale=1 / 256, zero_point=-128),
        options("SoftmaxOptions", beta=1.0),
    )
    gen = generate_aot(parse_model(model), tmp_path / "gen")
    table = "[64]" if in_scale == 0.25 else "[256]"
    assert f"_e{table}" in (tmp_path / "gen" / "edgetx_model.c").read_text(), gen
    check(model, 4 * 32, tmp_path / "fw", dsp=("usat",) if in_scale == 0.25 else ())
