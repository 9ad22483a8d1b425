"""Who makes and who reads each tensor of a model: what graph passes (fusion) look at."""

from __future__ import annotations

from collections import defaultdict

from edgetx.tflite_model import Model, Operator


class Graph:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.producer: dict[int, Operator] = {}
        self.consumers: dict[int, list[Operator]] = defaultdict(list)
        for op in model.operators:
            for t in op.outputs:
                self.producer[t] = op
            for t in op.inputs:
                if t >= 0 and all(c.index != op.index for c in self.consumers[t]):
                    self.consumers[t].append(op)
