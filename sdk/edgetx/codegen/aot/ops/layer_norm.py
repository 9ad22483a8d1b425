"""Fused LayerNorm: the converter's int8 decomposition of a LayerNorm over the last axis,

    m = MEAN(x); v = MEAN(SQUARED_DIFFERENCE(x, m)); r = RSQRT(ADD(v, eps));
    s = SUB(c, MUL(r, m)); y = ADD(MUL(x, r), s)

(RESHAPEs between row vectors [rows] and [rows, 1] anywhere, commuting operands in either
order), run as one kernel (etx_layer_norm) with every intermediate int8 value and
requantization TFLM's. ADD(v, eps) then RSQRT become one generation-time table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edgetx.codegen.aot.graph import Graph
from edgetx.codegen.aot.ops.common import Context, Emitted, c_array, zero_point
from edgetx.codegen.aot.ops.elementwise import binary_table, binop_init
from edgetx.codegen.aot.ops.reduce import reduce_multiplier
from edgetx.codegen.aot.ops.tables import rsqrt_table
from edgetx.tflite_model import Operator, Tensor

if TYPE_CHECKING:
    from edgetx.codegen.aot.fusion import Step


@dataclass(frozen=True)
class _Chain:
    x: int
    mean: Operator
    sqdiff: Operator
    var: Operator
    add_eps: Operator
    rsqrt: Operator
    mul_rm: Operator
    sub: Operator
    mul_x: Operator
    add_y: Operator
    reshapes: tuple[Operator, ...]
    rm_r: int  # the input of mul_rm that is r

    @property
    def ops(self) -> tuple[Operator, ...]:
        return (self.mean, self.sqdiff, self.var, self.add_eps, self.rsqrt, self.mul_rm,
                self.sub, self.mul_x, self.add_y, *self.reshapes)  # fmt: skip


Pred = Callable[[int], bool]


class _Matcher:
    def __init__(self, graph: Graph, x: int) -> None:
        self.graph, self.m = graph, graph.model
        self.xt = self.m.tensors[x]
        self.depth = self.xt.shape[-1]
        self.rows = self.xt.size // self.depth
        self.reshapes: list[Operator] = []

    def t(self, i: int) -> Tensor:
        return self.m.tensors[i]

    def int8(self, i: int) -> bool:
        return self.t(i).dtype == "INT8"

    def row_mean(self, op: Operator, x: int) -> int | None:
        """op's output if op is an int8 MEAN of x over its last axis alone."""
        if op.opcode != "MEAN" or op.inputs[0] != x or not self.t(op.inputs[1]).is_constant:
            return None
        shape = self.t(x).shape
        axes = {int(a) % len(shape) for a in np.ravel(self.t(op.inputs[1]).data)}
        out = op.outputs[0]
        last = len(shape) - 1
        if last not in axes or any(shape[a] != 1 for a in axes - {last}):
            return None
        if self.t(out).size != self.rows:
            return None
        return out if self.int8(out) else None

    def aliases(self, t: int) -> set[int]:
        """t and its RESHAPEs (transitively) to other row-vector shapes."""
        out, todo = {t}, [t]
        while todo:
            for op in self.graph.consumers[todo.pop()]:
                if op.opcode == "RESHAPE" and op.outputs[0] not in out:
                    out.add(op.outputs[0])
                    todo.append(op.outputs[0])
                    self.reshapes.append(op)
        return out

    def per_row(self, t: int) -> bool:
        """t broadcasts one value per row of x: shape x.shape[:-1] + (1,), ones in front."""
        shape, full = self.t(t).shape, self.xt.shape
        if len(shape) > len(full) or not shape or shape[-1] != 1:
            return False
        padded = (1,) * (len(full) - len(shape)) + tuple(shape)
        return padded[:-1] == tuple(full[:-1])

    def scalar(self, t: int) -> bool:
        c = self.t(t)
        return c.is_constant and c.size == 1 and c.dtype == "INT8"

    def binary(self, opcode: str, left: Pred, right: Pred, among: set[int]) -> Operator | None:
        """The int8 opcode reading a tensor of among, with one input left and one right."""
        for t in among:
            for op in self.graph.consumers[t]:
                if op.opcode != opcode or len(op.inputs) < 2 or not self.int8(op.outputs[0]):
                    continue
                a, b = op.inputs[:2]
                if (left(a) and right(b)) or (left(b) and right(a)):
                    return op
        return None

    def unary(self, opcode: str, among: set[int]) -> Operator | None:
        for t in among:
            for op in self.graph.consumers[t]:
                if op.opcode == opcode and self.int8(op.outputs[0]):
                    return op
        return None


def _chain(graph: Graph, op: Operator) -> _Chain | None:
    """The LayerNorm chain whose first MEAN is op, if op starts one."""
    if op.opcode != "MEAN":
        return None
    x = op.inputs[0]
    xt = graph.model.tensors[x]
    if xt.is_constant or xt.dtype != "INT8" or not xt.shape or xt.size == 0:
        return None
    f = _Matcher(graph, x)
    full = lambda t: f.t(t).shape == xt.shape  # noqa: E731
    m = f.row_mean(op, x)
    if m is None:
        return None
    m_all = f.aliases(m)
    sqdiff = f.binary(
        "SQUARED_DIFFERENCE", lambda t: t == x, lambda t: t in m_all and f.per_row(t), {x}
    )
    if sqdiff is None or not full(sqdiff.outputs[0]):
        return None
    var_op = f.unary("MEAN", {sqdiff.outputs[0]})
    v = f.row_mean(var_op, sqdiff.outputs[0]) if var_op else None
    if v is None:
        return None
    v_all = f.aliases(v)
    add_eps = f.binary("ADD", lambda t: t in v_all, f.scalar, v_all)
    if add_eps is None:
        return None
    rsqrt = f.unary("RSQRT", f.aliases(add_eps.outputs[0]))
    if rsqrt is None:
        return None
    r_all = f.aliases(rsqrt.outputs[0])
    vector = lambda t: f.t(t).size == f.rows  # noqa: E731
    mul_rm = f.binary("MUL", lambda t: t in r_all, lambda t: t in m_all, r_all)
    if mul_rm is None or {f.t(t).shape for t in (*mul_rm.inputs[:2], mul_rm.outputs[0])} != {
        f.t(mul_rm.outputs[0]).shape
    }:
        return None
    rm_all = f.aliases(mul_rm.outputs[0])
    sub = f.binary("SUB", lambda t: t in rm_all, f.scalar, rm_all)
    if sub is None or not vector(sub.outputs[0]):
        return None
    s_all = f.aliases(sub.outputs[0])
    mul_x = f.binary("MUL", lambda t: t == x, lambda t: t in r_all and f.per_row(t), {x})
    if mul_x is None or not full(mul_x.outputs[0]):
        return None
    xr = mul_x.outputs[0]
    add_y = f.binary("ADD", lambda t: t == xr, lambda t: t in s_all and f.per_row(t), {xr})
    if add_y is None or not full(add_y.outputs[0]):
        return None
    rm_r = next(i for i in mul_rm.inputs[:2] if i in r_all)
    return _Chain(x, op, sqdiff, var_op, add_eps, rsqrt, mul_rm, sub, mul_x, add_y,
                  tuple(f.reshapes), rm_r)  # fmt: skip


def match(graph: Graph, op: Operator) -> tuple[Operator, ...] | None:
    chain = _chain(graph, op)
    return chain.ops if chain else None


def _other(op: Operator, t: int) -> int:
    a, b = op.inputs[:2]
    return b if a == t else a


def emit(ctx: Context, step: Step, name: str) -> Emitted:
    chain = _chain(Graph(ctx.model), step.ops[0])
    assert chain is not None and {o.index for o in chain.ops} == {o.index for o in step.ops}
    t = ctx.tensor
    x = chain.x
    xt = t(x)
    depth = xt.shape[-1]
    rows = xt.size // depth
    m, sq, v = chain.mean.outputs[0], chain.sqdiff.outputs[0], chain.var.outputs[0]
    mean_mult, mean_shift = reduce_multiplier("MEAN", xt, t(m), depth)
    var_mult, var_shift = reduce_multiplier("MEAN", t(sq), t(v), depth)
    # ADD(v, eps) then RSQRT, as one table over v's 256 values.
    add, rsq = chain.add_eps, chain.rsqrt
    v_in = next(i for i in add.inputs[:2] if not t(i).is_constant)
    eps = _other(add, v_in)
    added = binary_table(add, t(v_in), t(eps), t(add.outputs[0]), add.inputs[0] == eps)
    root = rsqrt_table(rsq, t(rsq.inputs[0]), t(rsq.outputs[0]))
    table = [root[q + 128] for q in added]
    # MUL(r, m), in that order (it commutes).
    rm = chain.mul_rm
    r_in = chain.rm_r
    sub = chain.sub
    c_first = t(sub.inputs[0]).is_constant
    c = sub.inputs[0] if c_first else sub.inputs[1]
    x_r = _other(chain.mul_x, x)
    xr = chain.mul_x.outputs[0]
    s_row = _other(chain.add_y, xr)
    init = ", ".join(
        [
            f"{rows}, {depth}",
            f"{zero_point(xt)}, {mean_mult}, {mean_shift}, {zero_point(t(m))}",
            f"{zero_point(t(sq))}, {var_mult}, {var_shift}, {zero_point(t(v))}",
            f"{int(t(c).data.ravel()[0])}, {int(c_first)}",
            binop_init(chain.sqdiff, xt, t(_other(chain.sqdiff, x)), t(sq)),
            binop_init(rm, t(r_in), t(_other(rm, r_in)), t(rm.outputs[0])),
            binop_init(sub, t(sub.inputs[0]), t(sub.inputs[1]), t(sub.outputs[0])),
            binop_init(chain.mul_x, xt, t(x_r), t(xr)),
            binop_init(chain.add_y, t(xr), t(s_row), t(chain.add_y.outputs[0])),
        ]
    )
    consts = [
        f"static const etx_layer_norm_params {name}_p = {{{init}}};",
        c_array(f"{name}_t", np.array(table[128:] + table[:128]), np.int8),  # by unsigned byte
    ]
    y = chain.add_y.outputs[0]
    call = f"etx_layer_norm(&{name}_p, {name}_t, {ctx.ptr(x)}, {ctx.ptr(y)});"
    return Emitted(call, consts)
