"""16x8 models (int16 activations, `--activations int16`): the AOT runtime's bytes equal
TFLite Micro's.

- int16 LOGISTIC and TANH on every one of the 65,536 inputs, at input scales taking each path
  of TFLM's rescaling (exact power of two, general multiplier with every shift range, a
  multiplier above 32767) and at the scales the converter gave the zoo; RSQRT on every
  non-negative input (TFLM refuses negative ones) at several scale pairs.
- The sigmoid table the runtime carries is the interpreter's: tools/derive_sigmoid16.py
  measures it again and must reproduce runtime/edgetx_rt_sigmoid16.h.
- Every zoo model converted with int16 activations (the converter accepts all of them), on
  the host build, for 1,000 RUN_SEEDED inputs and the calibration data; one of them also as
  firmware under QEMU. One model runs by default, the rest are marked slow.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from edgetx.codegen.aot import generate_aot
from edgetx.codegen.aot.host import host_model
from edgetx.tflite_model import load_model, parse_model
from tests.conftest import ZOO_CALIB, ZOO_PY, load_zoo
from tests.test_aot_zoo import _assert_host_bit_exact, _assert_qemu_bit_exact, _params
from tests.tflite_builder import Spec, const, options, single_op, tflm_run

FAST = {"bert_classifier"}  # has int16 RSQRT, LOGISTIC and TANH
DERIVE = Path(__file__).parents[1] / "tools" / "derive_sigmoid16.py"
HEADER = Path(__file__).parents[1] / "sdk/edgetx/codegen/aot/runtime/edgetx_rt_sigmoid16.h"
EVERY_INT16 = np.arange(-32768, 32768, dtype=np.int16)[None]

# Input scales the converter gave the zoo's int16 LOGISTIC (GELU) and TANH (BERT's pooler).
ZOO_SIGMOID_SCALES = (1.2143e-4, 8.2992e-5, 2.0712e-4, 3.1516e-4, 7.5617e-5)
# (input, output) scales of the zoo's int16 RSQRT, then extremes: a left shift, a large input
# scale, a tiny one, equal scales.
RSQRT_SCALES = (
    (6.8807e-5, 3.4849e-5), (5.4133e-6, 1.3423e-4), (1.3485e-5, 7.6098e-5),
    (3.0518571e-5, 3.0518484e-5), (2**-12, 2**-15), (0.37, 1e-3), (3e-7, 0.5), (2.4e-4, 2.4e-4),
)  # fmt: skip


def _derive_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("derive_sigmoid16", DERIVE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _aot_equals_tflm(model: bytes, xs: np.ndarray, work: Path) -> np.ndarray:
    """Assert the host build's int16 outputs equal the interpreter's; return them."""
    gen = generate_aot(parse_model(model), work / "src")
    host = host_model(work / "src", work / "host", gen.input_bytes, gen.output_bytes)
    want = tflm_run(model, xs)
    got = host.run(xs.view(np.int8)).view(np.int16)
    bad = np.flatnonzero(got != want)
    assert not len(bad), f"{len(bad)} outputs differ; first for input {xs.ravel()[bad[0]]}"
    return want


def test_sigmoid_table_is_the_interpreters() -> None:
    derive = _derive_module()
    assert derive.render(derive.derive()) == HEADER.read_text()


@pytest.mark.parametrize("opcode", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize(
    "input_scale", [*_derive_module().CHECK_SCALES, *ZOO_SIGMOID_SCALES], ids=lambda s: f"{s:g}"
)
def test_sigmoid16_every_input(opcode: str, input_scale: float, tmp_path: Path) -> None:
    n = EVERY_INT16.size
    model = single_op(
        opcode, [Spec((n,), np.int16, scale=input_scale)], Spec((n,), np.int16, scale=2**-15)
    )
    out = _aot_equals_tflm(model, EVERY_INT16, tmp_path)
    assert np.all(np.diff(out.astype(np.int32)) >= 0)  # monotone: the inputs really map


@pytest.mark.parametrize(("in_scale", "out_scale"), RSQRT_SCALES, ids=str)
def test_rsqrt16_every_input(in_scale: float, out_scale: float, tmp_path: Path) -> None:
    xs = EVERY_INT16[:, 32768:]  # 0..32767
    model = single_op(
        "RSQRT",
        [Spec((xs.size,), np.int16, scale=in_scale)],
        Spec((xs.size,), np.int16, scale=out_scale),
    )
    out = _aot_equals_tflm(model, xs, tmp_path)
    assert np.all(np.diff(out[0, 1:].astype(np.int32)) <= 0)  # 1/sqrt falls


@pytest.mark.parametrize("seed", range(4))
def test_fully_connected16_without_bias(seed: int, tmp_path: Path) -> None:
    # TFLM accumulates a 16x8 FULLY_CONNECTED without bias in int64 (the zoo's attention
    # projections have none); the int32 path's rounding differs on 5-11 % of these outputs.
    rng = np.random.default_rng(seed)
    rows, depth, cols = 5, int(rng.integers(8, 48)), int(rng.integers(4, 24))
    scales = list(10 ** rng.uniform(-3, -1, cols))
    w = const(rng.integers(-127, 128, (cols, depth)), np.int8, scale=scales, zero_point=[0] * cols)
    model = single_op(
        "FULLY_CONNECTED",
        [Spec((rows, depth), np.int16, scale=5e-5), w],
        Spec((rows, cols), np.int16, scale=float(rng.uniform(2e-5, 2e-4))),
        options("FullyConnectedOptions"),
    )
    xs = rng.integers(-32768, 32768, (200, rows * depth)).astype(np.int16)
    _aot_equals_tflm(model, xs, tmp_path)


# --- Whole zoo models in 16x8.


@pytest.fixture(scope="session")
def zoo16_converted(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A function: zoo model name -> its int16 `edgetx convert` output (once per session)."""
    from edgetx_converters import convert

    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            work = tmp_path_factory.mktemp(f"zoo16_{name}")
            np.save(work / "calib.npy", load_zoo().calibration(name, ZOO_CALIB))
            convert(f"{ZOO_PY}:{name}", work / "calib.npy", work / "model", activations="int16")
            done[name] = work / "model"
        return done[name]

    return get


@pytest.mark.parametrize("name", _params(FAST))
def test_zoo_int16_aot_host_bit_exact(
    name: str, zoo16_converted: Callable[[str], Path], tmp_path: Path
) -> None:
    model = load_model(zoo16_converted(name) / "model.tflite")
    assert model.input.dtype == model.output.dtype == "INT16"
    _assert_host_bit_exact(zoo16_converted(name), f"{name} (int16)", tmp_path)


@pytest.mark.qemu
def test_zoo_int16_aot_qemu_bit_exact(
    zoo16_converted: Callable[[str], Path], tmp_path: Path
) -> None:
    (name,) = FAST
    model = load_model(zoo16_converted(name) / "model.tflite")
    assert {"RSQRT", "LOGISTIC", "TANH"} <= set(model.op_counts())
    _assert_qemu_bit_exact(zoo16_converted(name), f"{name} (int16)", tmp_path)
