"""Static memory plan: every activation tensor gets an offset in one arena.

Lifetimes come from the graph (first writer to last reader). Two kinds of
tensors share storage instead of getting their own buffer: a RESHAPE's output
is its input (same bytes), and an element-wise operator whose input dies at
that operator and has the output's size and shape writes its output in place
(every kernel listed in INPLACE_OPS reads an element before writing the same
position, and nothing after it). Buffers are placed greedily at the lowest
offset that overlaps no buffer alive at the same time; plan_memory keeps the
smallest of a few such plans. Time is counted in steps (fusion.py): a fused group is one step,
its internal tensors get no buffer, and its output never shares one with its inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edgetx.codegen.aot.fusion import Step, internal, steps
from edgetx.tflite_model import Model

ALIGN = 16
ALIASING_OPS = ("RESHAPE",)
# Kernels that may write their output over their first input(s), element for element.
INPLACE_OPS = {
    "ADD": (0, 1),
    "SUB": (0, 1),
    "MUL": (0, 1),
    "SQUARED_DIFFERENCE": (0, 1),
    "RSQRT": (0,),
    "TANH": (0,),
    "LOGISTIC": (0,),
    "HARD_SWISH": (0,),
    "RELU": (0,),
    "QUANTIZE": (0,),
}


@dataclass(frozen=True)
class Plan:
    offsets: dict[int, int]  # tensor index -> arena offset
    arena_bytes: int  # planned peak: the arena's size
    storage: dict[int, int]  # tensor index -> the tensor whose buffer it uses


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _reads(model: Model, plan_steps: list[Step]) -> dict[int, int]:
    """The last step reading each activation (model outputs: past the last step)."""
    last: dict[int, int] = {}
    for i, step in enumerate(plan_steps):
        for t in step.inputs:
            last[t] = i
    for t in model.outputs:
        last[t] = len(plan_steps)
    return last


def _in_place_input(
    model: Model, step: Step, when: int, group_last: dict[int, int], find: Callable[[int], int]
) -> int | None:
    """An input this single-operator step may overwrite with its output, if any."""
    if step.fused:
        return None
    op = step.ops[0]
    out = model.tensors[op.outputs[0]]
    for k in INPLACE_OPS.get(op.opcode, ()):
        t = op.inputs[k] if k < len(op.inputs) else -1
        if t < 0 or model.tensors[t].is_constant:
            continue
        x = model.tensors[t]
        if x.shape == out.shape and x.nbytes == out.nbytes and group_last[find(t)] == when:
            return t
    return None


def plan_memory(model: Model, plan_steps: list[Step] | None = None) -> Plan:
    """The smallest of a few greedy plans: with and without in-place sharing (sharing
    lengthens a buffer's life, which can fragment the arena), buffers placed largest
    first or earliest first. plan_steps: the model's steps (fusion.steps by default)."""
    plan_steps = steps(model) if plan_steps is None else plan_steps
    best: Plan | None = None
    for in_place in (True, False):
        storage = _storage(model, plan_steps, in_place)
        for order in ("size", "first"):
            plan = _place(model, plan_steps, storage, order)
            if best is None or plan.arena_bytes < best.arena_bytes:
                best = plan
    assert best is not None
    return best


def _storage(model: Model, plan_steps: list[Step], in_place: bool) -> dict[int, int]:
    """Tensor -> the tensor whose buffer it uses (RESHAPE always, in-place if asked)."""
    root: dict[int, int] = {}

    def find(t: int) -> int:
        while root.get(t, t) != t:
            t = root[t]
        return t

    group_last = _reads(model, plan_steps)
    for i, step in enumerate(plan_steps):
        src = step.ops[0].inputs[0] if step.name in ALIASING_OPS else None
        if src is None and in_place:
            src = _in_place_input(model, step, i, group_last, find)
        if src is not None:
            r, o = find(src), find(step.outputs[0])
            root[o] = r
            group_last[r] = max(group_last.get(r, -1), group_last.get(o, -1))
    hidden = internal(plan_steps)
    return {
        i: find(i) for i, t in enumerate(model.tensors) if not t.is_constant and i not in hidden
    }


def _place(model: Model, plan_steps: list[Step], storage: dict[int, int], order: str) -> Plan:
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(t: int, when: int) -> None:
        if t < 0 or model.tensors[t].is_constant:
            return
        r = storage[t]
        first[r] = min(first.get(r, when), when)
        last[r] = max(last.get(r, when), when)

    for t in model.inputs:
        touch(t, -1)
    for i, step in enumerate(plan_steps):
        for t in step.inputs + step.outputs:
            touch(t, i)
    for t in model.outputs:
        touch(t, len(plan_steps))

    size: dict[int, int] = {}
    for t, r in storage.items():
        if r in first:
            size[r] = max(size.get(r, 0), _align(model.tensors[t].nbytes))
    key = (lambda r: (-size[r], first[r])) if order == "size" else (lambda r: (first[r], -size[r]))
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    offsets: dict[int, int] = {}
    for r in sorted(first, key=key):
        offset = 0
        for o, s, f, lst in sorted(placed):
            overlaps_in_time = not (last[r] < f or lst < first[r])
            if overlaps_in_time and offset < o + s and o < offset + size[r]:
                offset = o + s
        placed.append((offset, size[r], first[r], last[r]))
        offsets[r] = offset
    arena = max((o + s for o, s, _, _ in placed), default=0)
    used = {t: r for t, r in storage.items() if r in offsets}
    return Plan({t: offsets[r] for t, r in used.items()}, arena, used)
