"""Whole zoo models: the AOT runtime's output bytes equal TFLite Micro's, on the host build
and on the Cortex-M4 build under QEMU, for 1,000 random inputs and the calibration data.

The random inputs are RUN_SEEDED's (docs/protocol.md): under QEMU the device makes each one
from its seed, so only outputs cross the emulated UART, and the host makes the same bytes for
the reference. A fast subset of the zoo runs by default (the same one tests/test_zoo.py
converts by default); the rest is marked slow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edgetx.boards import load_board
from edgetx.build import build
from edgetx.codegen.aot import generate_aot
from edgetx.codegen.aot.host import host_model
from edgetx.flash import QemuRunner
from edgetx.link import Link
from edgetx.link.seeded import seeded_inputs
from edgetx.quant import quantize_for
from edgetx.reference import Reference
from edgetx.tflite_model import Model, load_model
from tests.conftest import load_zoo
from tests.test_zoo import FAST

ZOO = load_zoo().ZOO
BOARD = "qemu-mps2-an386"
SEEDS = range(1000)  # RUN_SEEDED seeds of the random inputs, on both builds


def _params(fast: set[str]) -> list:
    """Every zoo model; those not in fast marked slow."""
    return [
        pytest.param(name, marks=() if name in fast else pytest.mark.slow, id=name) for name in ZOO
    ]


def _random(model: Model) -> np.ndarray:
    """The inputs RUN_SEEDED makes from SEEDS: [len(SEEDS), input elements]."""
    return seeded_inputs(SEEDS, model.input.nbytes).view(model.input.np_dtype.newbyteorder("<"))


def _calibration(model: Model, model_dir: Path) -> np.ndarray:
    calib = np.load(model_dir.parent / "calib.npy")
    return np.stack([quantize_for(s, model.input).ravel() for s in calib])


def _outputs(replies: list[bytes], model: Model) -> np.ndarray:
    return np.stack([np.frombuffer(r, model.output.np_dtype.newbyteorder("<")) for r in replies])


def _assert_equal(got: np.ndarray, want: np.ndarray, where: str) -> None:
    bad = np.flatnonzero((got != want).any(axis=1))
    assert not len(bad), f"{where}: {len(bad)} of {len(got)} outputs differ (first: #{bad[0]})"


def _assert_host_bit_exact(model_dir: Path, label: str, work: Path) -> None:
    """The host build of a converted model (int8 or int16) equals TFLM on SEEDS' inputs and the
    calibration data."""
    model = load_model(model_dir / "model.tflite")
    gen = generate_aot(model, work / "src")
    host = host_model(work / "src", work / "host", gen.input_bytes, gen.output_bytes)
    xs = np.concatenate([_random(model), _calibration(model, model_dir)])
    want = Reference(model.raw).run_many(xs)
    got = host.run(xs.view(np.int8)).view(want.dtype)
    assert got.shape == want.shape == (len(xs), model.output.size)
    assert len({g.tobytes() for g in want}) > len(xs) // 10  # the outputs really vary
    _assert_equal(got, want, f"{label} on the host")


def _assert_qemu_bit_exact(model_dir: Path, label: str, work: Path) -> None:
    """The firmware of a converted model (int8 or int16) under QEMU equals TFLM on SEEDS'
    inputs (made on the device) and the calibration data."""
    model = load_model(model_dir / "model.tflite")
    result = build(model_dir, BOARD, out=work / "fw")
    assert result.aot_ram_bytes is not None and result.aot_ram_bytes <= result.ram_bytes
    calib = _calibration(model, model_dir)
    reference = Reference(model.raw)
    want_random, want_calib = reference.run_many(_random(model)), reference.run_many(calib)
    with QemuRunner.from_board(load_board(BOARD)) as runner:
        url = runner.start(Path(result.elf))
        with Link.open(url) as link:
            link.sync()
            seeded = [link.run_seeded(seed).output for seed in SEEDS]
            calibrated = [link.run(x.tobytes()).output for x in calib]
    assert len({o.tobytes() for o in want_random}) > len(SEEDS) // 10  # the outputs really vary
    _assert_equal(_outputs(seeded, model), want_random, f"{label} on {BOARD}, seeded inputs")
    _assert_equal(_outputs(calibrated, model), want_calib, f"{label} on {BOARD}, calibration")


@pytest.mark.parametrize("name", _params(FAST))
def test_zoo_aot_host_bit_exact(
    name: str, zoo_converted: Callable[[str], Path], tmp_path: Path
) -> None:
    _assert_host_bit_exact(zoo_converted(name), name, tmp_path)


@pytest.mark.qemu
@pytest.mark.parametrize("name", _params(FAST))
def test_zoo_aot_qemu_bit_exact(
    name: str, zoo_converted: Callable[[str], Path], tmp_path: Path
) -> None:
    _assert_qemu_bit_exact(zoo_converted(name), name, tmp_path)
