"""Whole zoo models: the AOT runtime's output bytes equal TFLite Micro's, on the host build
and on the Cortex-M4 build under QEMU, for random int8 inputs and the calibration data.

A fast subset of the zoo runs by default (the same one tests/test_zoo.py converts by
default); the rest, and the 1,000-input sweep under QEMU, are marked slow.
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
from edgetx.quant import quantize_for
from edgetx.reference import Reference
from edgetx.tflite_model import Model, load_model
from tests.conftest import load_zoo
from tests.test_zoo import FAST

ZOO = load_zoo().ZOO
BOARD = "qemu-mps2-an386"
HOST_RANDOM = 1000
QEMU_RANDOM = 24  # per model by default; the slow sweep sends 1,000


def _params(slow_too: bool = False) -> list:
    return [
        pytest.param(name, marks=() if name in FAST and not slow_too else pytest.mark.slow, id=name)
        for name in ZOO
    ]


def _inputs(model: Model, model_dir: Path, n_random: int, seed: int) -> np.ndarray:
    """n_random random int8 inputs, then the quantized calibration set."""
    rng = np.random.default_rng(seed)
    xs = rng.integers(-128, 128, (n_random, model.input.size), dtype=np.int8)
    calib = np.load(model_dir.parent / "calib.npy")
    xq = np.stack([quantize_for(s, model.input).ravel() for s in calib])
    return np.concatenate([xs, xq])


def _assert_equal(got: np.ndarray, want: np.ndarray, where: str) -> None:
    bad = np.flatnonzero((got != want).any(axis=1))
    assert not len(bad), f"{where}: {len(bad)} of {len(got)} outputs differ (first: #{bad[0]})"


@pytest.mark.parametrize("name", _params())
def test_zoo_aot_host_bit_exact(
    name: str, zoo_converted: Callable[[str], Path], tmp_path: Path
) -> None:
    model_dir = zoo_converted(name)
    model = load_model(model_dir / "model.tflite")
    gen = generate_aot(model, tmp_path / "src")
    host = host_model(tmp_path / "src", tmp_path / "host", gen.input_bytes, gen.output_bytes)
    xs = _inputs(model, model_dir, HOST_RANDOM, seed=1)
    want = Reference(model.raw).run_many(xs)
    got = host.run(xs)
    assert got.shape == want.shape == (len(xs), gen.output_bytes)
    assert len({g.tobytes() for g in want}) > len(xs) // 10  # the outputs really vary
    _assert_equal(got, want, f"{name} on the host")


def _qemu_check(name: str, model_dir: Path, fw: Path, n_random: int) -> None:
    model = load_model(model_dir / "model.tflite")
    result = build(model_dir, BOARD, out=fw)
    assert result.aot_ram_bytes is not None and result.aot_ram_bytes <= result.ram_bytes
    xs = _inputs(model, model_dir, n_random, seed=2)
    want = Reference(model.raw).run_many(xs)
    with QemuRunner.from_board(load_board(BOARD)) as runner:
        url = runner.start(Path(result.elf))
        with Link.open(url) as link:
            link.sync()
            got = np.stack([np.frombuffer(link.run(x.tobytes()).output, np.int8) for x in xs])
    _assert_equal(got, want, f"{name} on {BOARD}")


@pytest.mark.qemu
@pytest.mark.parametrize("name", _params())
def test_zoo_aot_qemu_bit_exact(
    name: str, zoo_converted: Callable[[str], Path], tmp_path: Path
) -> None:
    _qemu_check(name, zoo_converted(name), tmp_path / "fw", QEMU_RANDOM)


@pytest.mark.qemu
@pytest.mark.parametrize("name", _params(slow_too=True))
def test_zoo_aot_qemu_1000_inputs(
    name: str, zoo_converted: Callable[[str], Path], tmp_path: Path
) -> None:
    _qemu_check(name, zoo_converted(name), tmp_path / "fw", HOST_RANDOM)
