"""The AOT memory plan: buffers shared by lifetime, in place where legal, never an input
overwritten while it is still read; its peak (aot_ram_bytes) is in the build result and a
board whose RAM cannot hold it is refused with the numbers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from edgetx import build as build_module
from edgetx.boards import load_board
from edgetx.codegen.aot.fusion import steps
from edgetx.codegen.aot.planner import INPLACE_OPS, plan_memory
from edgetx.errors import UserError
from edgetx.tflite_model import load_model, parse_model
from tests.test_aot_kernels import _inputs, check
from tests.tflite_builder import Spec, const, model_bytes, options

BOARD = "qemu-mps2-an386"


def _chain_model(rng: np.random.Generator) -> bytes:
    """x -> ADD(x, c) -> TANH -> MUL(., c2) -> RSQRT-free chain of in-place candidates."""
    q = dict(scale=0.05, zero_point=0)
    tensors = [
        Spec((4, 8), **q),
        const(rng.integers(-128, 128, (4, 8)), np.int8, **q),
        Spec((4, 8), **q),
        Spec((4, 8), scale=1 / 128, zero_point=0),
        const(rng.integers(-128, 128, (8,)), np.int8, **q),
        Spec((4, 8), scale=0.02, zero_point=3),
    ]
    ops = [
        ("ADD", [0, 1], [2], options("AddOptions")),
        ("TANH", [2], [3], None),
        ("MUL", [3, 4], [5], options("MulOptions")),
    ]
    return model_bytes(ops, tensors, [0], [5])


def test_in_place_operators_share_buffers_and_stay_exact(tmp_path: Path) -> None:
    model = _chain_model(np.random.default_rng(5))
    m = parse_model(model)
    plan = plan_memory(m)
    # Every activation here is 32 bytes and each dies where the next is made: one buffer.
    assert len({plan.storage[t] for t in plan.offsets}) == 1
    assert plan.arena_bytes == 32
    for op in m.operators:
        assert op.opcode in INPLACE_OPS
    check(model, _inputs(np.random.default_rng(6), 32, np.int8), tmp_path)


def test_in_place_never_overwrites_an_input_read_later(tmp_path: Path) -> None:
    # y = ADD(x, c); z = MUL(x, y): x is read after the ADD, so the ADD must not overwrite it.
    q = dict(scale=0.05, zero_point=0)
    rng = np.random.default_rng(7)
    tensors = [
        Spec((16,), **q),
        const(rng.integers(-128, 128, 16), np.int8, **q),
        Spec((16,), **q),
        Spec((16,), scale=0.1, zero_point=0),
    ]
    ops = [("ADD", [0, 1], [2], options("AddOptions")), ("MUL", [0, 2], [3], options("MulOptions"))]
    model = model_bytes(ops, tensors, [0], [3])
    plan = plan_memory(parse_model(model))
    assert plan.storage[2] != plan.storage[0]
    assert plan.storage[3] in (plan.storage[0], plan.storage[2])  # the MUL may reuse one
    check(model, _inputs(rng, 16, np.int8), tmp_path)


def test_broadcast_input_is_not_overwritten_in_place() -> None:
    q = dict(scale=0.05, zero_point=0)
    tensors = [Spec((1, 8), **q), const(np.ones((4, 1)), np.int8, **q), Spec((4, 8), **q)]
    model = model_bytes([("ADD", [0, 1], [2], options("AddOptions"))], tensors, [0], [2])
    plan = plan_memory(parse_model(model))
    assert plan.storage[2] != plan.storage[0]


def test_plan_of_the_audio_model_shares_buffers(converted: Path) -> None:
    model = load_model(converted / "model" / "model.tflite")
    plan = plan_memory(model)
    activations = [t for t in model.tensors if not t.is_constant]
    assert plan.arena_bytes < sum(t.nbytes for t in activations) / 4
    # Some element-wise operators really run in place (fused groups never do).
    in_place = [
        step
        for step in steps(model)
        if step.name in INPLACE_OPS
        and plan.storage[step.outputs[0]] in {plan.storage.get(t) for t in step.inputs}
    ]
    assert in_place and not any(step.fused for step in in_place)


def test_build_refuses_a_board_without_room_for_the_plan(
    converted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = load_board(BOARD)
    small = dataclasses.replace(board, ram=dataclasses.replace(board.ram, size_bytes=2048))
    monkeypatch.setattr(build_module, "load_board", lambda _id: small)
    need = plan_memory(load_model(converted / "model" / "model.tflite")).arena_bytes
    with pytest.raises(UserError) as e:
        build_module.build(converted / "model", BOARD, out=tmp_path / "fw")
    assert e.value.exit_code == 2
    assert f"needs {need} bytes" in str(e.value) and "has 2048 bytes" in str(e.value)
    assert not (tmp_path / "fw").exists()  # nothing half-written


@pytest.mark.qemu
def test_build_reports_aot_ram_bytes(converted: Path, tmp_path: Path) -> None:
    result = build_module.build(converted / "model", BOARD, out=tmp_path / "fw")
    info = json.loads((tmp_path / "fw" / "build.json").read_text())
    need = plan_memory(load_model(converted / "model" / "model.tflite")).arena_bytes
    assert info["aot_ram_bytes"] == result.aot_ram_bytes == need
    assert need <= info["ram_bytes"]
