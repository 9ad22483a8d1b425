"""The AOT runtime computes exactly what TFLM's reference kernels compute (host build)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgetx.codegen.aot import generate_aot
from edgetx.codegen.aot.host import host_model
from edgetx.codegen.aot.planner import plan_memory
from edgetx.errors import UnsupportedModel
from edgetx.quant import quantize_for
from edgetx.reference import Reference
from edgetx.tflite_model import load_model, parse_model


@pytest.fixture(scope="module")
def aot(converted: Path, tmp_path_factory: pytest.TempPathFactory):
    model = load_model(converted / "model" / "model.tflite")
    work = tmp_path_factory.mktemp("aot")
    gen = generate_aot(model, work / "src")
    return model, gen, work


def test_random_inputs_bit_exact(aot, converted: Path) -> None:
    _, gen, work = aot
    host = host_model(work / "src", work / "host", gen.input_bytes, gen.output_bytes)
    xs = np.random.default_rng(1).integers(-128, 128, (1000, gen.input_bytes), dtype=np.int8)
    want = Reference((converted / "model" / "model.tflite").read_bytes()).run_many(xs)
    got = host.run(xs)
    assert got.shape == want.shape == (1000, gen.output_bytes)
    assert len({g.tobytes() for g in got}) > 900  # the outputs really vary
    np.testing.assert_array_equal(got, want)


def test_calibration_and_eval_data_bit_exact(aot, converted: Path) -> None:
    model, gen, work = aot
    host = host_model(work / "src", work / "host_cal", gen.input_bytes, gen.output_bytes)
    x = np.concatenate([np.load(converted / "calib.npy"), np.load(converted / "eval.npz")["x"]])
    xq = np.stack([quantize_for(s, model.input).ravel() for s in x])
    want = Reference((converted / "model" / "model.tflite").read_bytes()).run_many(xq)
    np.testing.assert_array_equal(host.run(xq), want)


def test_compiles_as_cxx_with_warnings_as_errors(aot) -> None:
    _, gen, work = aot
    host = host_model(work / "src", work / "host_cxx", gen.input_bytes, gen.output_bytes, cxx=True)
    xs = np.zeros((2, gen.input_bytes), np.int8)
    assert host.run(xs).shape == (2, gen.output_bytes)


def test_memory_plan_never_overlaps_live_tensors(aot) -> None:
    model, gen, _ = aot
    plan = plan_memory(model)
    live: dict[int, tuple[int, int]] = {}
    for i, op in enumerate(model.operators):
        for t in op.inputs + op.outputs:
            if t >= 0 and t in plan.offsets:
                first, _ = live.get(t, (i, i))
                live[t] = (first, i)
    for t in model.inputs:
        live[t] = (-1, live.get(t, (-1, -1))[1])
    # Tensors sharing storage (RESHAPE, in-place operators) are checked in test_aot_kernels.
    items = list(live.items())
    for a, (fa, la) in items:
        for b, (fb, lb) in items:
            if plan.storage[a] == plan.storage[b] or la < fb or lb < fa:
                continue
            ra = (plan.offsets[a], plan.offsets[a] + model.tensors[a].nbytes)
            rb = (plan.offsets[b], plan.offsets[b] + model.tensors[b].nbytes)
            assert ra[1] <= rb[0] or rb[1] <= ra[0], f"tensors {a} and {b} overlap"
    assert gen.arena_bytes == plan.arena_bytes
    assert gen.arena_bytes < sum(t.nbytes for t in model.tensors if not t.is_constant)


def test_unknown_operator_is_refused_by_name(aot) -> None:
    model, _, work = aot
    gelu = parse_model(model.raw)
    gelu.operators[0].opcode = "GELU"
    with pytest.raises(UnsupportedModel, match="operator GELU"):
        generate_aot(gelu, work / "refused")
