"""Operator fusion: a graph pass that groups operators into steps run as one kernel.

The generated model is a sequence of steps, each one operator or one fused group. A fusion is
a matcher anchored at an operator (the group it finds, or None) and an emitter for the whole
group. A group runs at the place of its last operator and must be closed: every tensor its
operators make, except its last operator's output, is read only inside the group and is not
a model output. Those internal tensors never exist in memory (the planner gives them no arena
space) and the group's output never overlaps its inputs. More fusions are registered by
adding to FUSIONS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edgetx.codegen.aot.graph import Graph
from edgetx.codegen.aot.ops import Context, Emitted, emit, layer_norm
from edgetx.tflite_model import Model, Operator

Matcher = Callable[[Graph, Operator], "tuple[Operator, ...] | None"]


@dataclass(frozen=True)
class Fusion:
    name: str
    match: Matcher
    emit: Callable[[Context, Step, str], Emitted]


FUSIONS: tuple[Fusion, ...] = (Fusion("LAYER_NORM", layer_norm.match, layer_norm.emit),)


@dataclass(frozen=True)
class Step:
    """One call of the generated model: one operator, or a fused group of them."""

    name: str  # the opcode, or the fusion's name
    ops: tuple[Operator, ...]  # in model order; the step runs at the last one's place
    inputs: tuple[int, ...]  # tensors read and not made here (constants included)
    outputs: tuple[int, ...]

    @property
    def index(self) -> int:
        return self.ops[-1].index

    @property
    def fused(self) -> bool:
        return len(self.ops) > 1

    @property
    def label(self) -> str:
        """The name profiles show: the opcode, or e.g. 'LAYER_NORM (fused MEAN..ADD)'."""
        if not self.fused:
            return self.name
        return f"{self.name} (fused {self.ops[0].opcode}..{self.ops[-1].opcode})"


def _group(graph: Graph, name: str, ops: tuple[Operator, ...]) -> Step | None:
    """The group as a step, or None when it is not closed."""
    members = {op.index for op in ops}
    made = [t for op in ops for t in op.outputs]
    last = ops[-1].outputs
    for t in made:
        if t in last:
            continue
        if t in graph.model.outputs or any(c.index not in members for c in graph.consumers[t]):
            return None
    inputs = []
    for op in ops:
        inputs += [t for t in op.inputs if t >= 0 and t not in made and t not in inputs]
    return Step(name, ops, tuple(inputs), tuple(last))


def _single(op: Operator) -> Step:
    return Step(op.opcode, (op,), tuple(t for t in op.inputs if t >= 0), tuple(op.outputs))


def steps(model: Model) -> list[Step]:
    """The model's operators as steps, fused where a registered fusion matches."""
    graph = Graph(model)
    at_last: dict[int, Step] = {}
    taken: set[int] = set()
    for op in model.operators:
        if op.index in taken:
            continue
        for fusion in FUSIONS:
            ops = fusion.match(graph, op)
            if not ops or taken & {o.index for o in ops}:
                continue
            ops = tuple(sorted(ops, key=lambda o: o.index))
            step = _group(graph, fusion.name, ops)
            if step is not None:
                taken |= {o.index for o in ops}
                at_last[ops[-1].index] = step
                break
    out = []
    for op in model.operators:
        if op.index in at_last:
            out.append(at_last[op.index])
        elif op.index not in taken:
            out.append(_single(op))
    return out


def internal(steps_: list[Step]) -> set[int]:
    """Tensors made and consumed inside fused steps: they get no memory."""
    return {t for s in steps_ if s.fused for op in s.ops for t in op.outputs} - {
        t for s in steps_ for t in s.outputs
    }


def emit_step(ctx: Context, step: Step) -> Emitted:
    """The C for one step."""
    if not step.fused:
        return emit(ctx, step.ops[0])
    fusion = next(f for f in FUSIONS if f.name == step.name)
    return fusion.emit(ctx, step, f"op{step.index}")
