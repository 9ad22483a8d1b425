"""FULLY_CONNECTED and BATCH_MATMUL: the Arm DSP path (SXTB16/SMLAD, Cortex-M4 under QEMU) and
the portable path (host build) of the same generated C both give TFLM's bytes."""

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


def both_paths(model: bytes, xs: np.ndarray, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """Outputs of the host (portable) build and of the Cortex-M4 (DSP) firmware for inputs xs."""
    (work / "model").mkdir(parents=True)
    (work / "model" / "model.tflite").write_bytes(model)
    gen = generate_aot(parse_model(model), work / "src")
    host = host_model(work / "src", work / "host", gen.input_bytes, gen.output_bytes).run(xs)
    info = build(work / "model", BOARD, work / "fw")
    disassembly = subprocess.run(
        ["arm-none-eabi-objdump", "-d", info.elf], capture_output=True, text=True, check=True
    ).stdout
    assert "smlad" in disassembly and "sxtb16" in disassembly  # the DSP path was compiled
    device = []
    with (
        QemuRunner.from_board(load_board(BOARD)) as runner,
        Link.open(runner.start(Path(info.elf))) as link,
    ):
        link.sync()
        for x in xs:
            device.append(np.frombuffer(link.run(x.tobytes()).output, np.int8))
    return host, np.stack(device)


def check(model: bytes, n_inputs: int, work: Path) -> None:
    rng = np.random.default_rng(3)
    ref = Reference(model)
    xs = rng.integers(-128, 128, (32, n_inputs), dtype=np.int8)
    xs[0], xs[1] = -128, 127  # saturated inputs: the extremes of every sum
    want = ref.run_many(xs).reshape(len(xs), -1)
    host, device = both_paths(model, xs, work)
    assert len({w.tobytes() for w in want}) > 16  # the outputs really vary
    np.testing.assert_array_equal(host, want)
    np.testing.assert_array_equal(device, want)


@pytest.mark.parametrize(
    ("rows", "depth", "out_depth", "in_zp", "act"),
    [
        (3, 7, 5, 5, 0),  # depth tail of 3, a partial block of output channels
        (2, 16, 8, -128, 1),  # zero point at the bottom, fused RELU
        (4, 41, 10, 127, 0),  # zero point at the top, depth tail of 1
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
    check(model, rows * depth, tmp_path)


@pytest.mark.parametrize(
    ("batches", "rows", "depth", "cols", "adj_y"),
    [
        (2, 5, 9, 6, False),  # depth tail, a partial block of columns
        (1, 4, 12, 7, True),  # transposed rhs
        (1, 3, 70, 4, False),  # deeper than the DSP path packs: the portable loop
    ],
)
def test_batch_matmul_dsp_and_portable_match_tflm(
    batches: int, rows: int, depth: int, cols: int, adj_y: bool, tmp_path: Path
) -> None:
    rng = np.random.default_rng(depth)
    rhs_shape = (batches, cols, depth) if adj_y else (batches, depth, cols)
    rhs = rng.integers(-128, 128, rhs_shape, dtype=np.int8)
    model = single_op(
        "BATCH_MATMUL",
        [
            Spec((batches, rows, depth), scale=0.04, zero_point=-128),
            const(rhs, np.int8, scale=0.03, zero_point=17),
        ],
        Spec((batches, rows, cols), scale=0.9, zero_point=4),
        options("BatchMatMulOptions", adjX=False, adjY=adj_y),
    )
    check(model, batches * rows * depth, tmp_path)


def test_audio_model_dsp_and_portable_match_tflm(converted: Path, tmp_path: Path) -> None:
    model = (converted / "model" / "model.tflite").read_bytes()
    check(model, parse_model(model).input.size, tmp_path)
