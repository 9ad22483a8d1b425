"""Static memory plan: every activation tensor gets an offset in one arena.

Lifetimes come from the graph (first writer to last reader). RESHAPE outputs
alias their input, since the bytes are identical. Buffers are placed greedily
by size, largest first, at the lowest offset that does not overlap any placed
buffer alive at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgetx.tflite_model import Model

ALIGN = 16
ALIASING_OPS = ("RESHAPE",)


@dataclass(frozen=True)
class Plan:
    offsets: dict[int, int]  # tensor index -> arena offset
    arena_bytes: int


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_memory(model: Model) -> Plan:
    root: dict[int, int] = {}

    def find(t: int) -> int:
        while root.get(t, t) != t:
            t = root[t]
        return t

    for op in model.operators:
        if op.opcode in ALIASING_OPS:
            root[find(op.outputs[0])] = find(op.inputs[0])

    last_op = len(model.operators)
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(t: int, when: int) -> None:
        if t < 0 or model.tensors[t].is_constant:
            return
        r = find(t)
        first[r] = min(first.get(r, when), when)
        last[r] = max(last.get(r, when), when)

    for t in model.inputs:
        touch(t, -1)
    for i, op in enumerate(model.operators):
        for t in op.inputs + op.outputs:
            touch(t, i)
    for t in model.outputs:
        touch(t, last_op)

    size = {r: _align(model.tensors[r].nbytes) for r in first}
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    offsets: dict[int, int] = {}
    for r in sorted(first, key=lambda r: (-size[r], first[r])):
        offset = 0
        for o, s, f, lst in sorted(placed):
            overlaps_in_time = not (last[r] < f or lst < first[r])
            if overlaps_in_time and offset < o + s and o < offset + size[r]:
                offset = o + s
        placed.append((offset, size[r], first[r], last[r]))
        offsets[r] = offset
    arena = max((o + s for o, s, _, _ in placed), default=0)

    all_offsets = {}
    for i, t in enumerate(model.tensors):
        if not t.is_constant and find(i) in offsets:
            all_offsets[i] = offsets[find(i)]
    return Plan(all_offsets, arena)
