"""Rewrite a PyTorch model, before litert-torch sees it, into operators TFLite Micro runs in int8.

The model is traced once with torch.export at the calibration shape (batch 1), so every shape
is static. On that graph:

- GELU (exact erf form, tanh approximation, or the tanh form written out by hand) becomes
  x * sigmoid(2k(x + 0.044715 x^3)), k = sqrt(2/pi): the tanh approximation exactly, since
  0.5 (1 + tanh z) = sigmoid(2z), and within 1e-3 of erf GELU. TFLite Micro has no GELU
  kernel, and written with tanh the TFLite converter fuses the pattern back into GELU.
- x ** n for n = 2, 3, 4 becomes multiplications (POW has no int8 kernel).
- erf elsewhere becomes tanh(2/sqrt(pi) (z + 0.0894296 z^3)), the same approximation.
- LayerNorm is counted, not rewritten: litert-torch lowers it to MEAN, SQUARED_DIFFERENCE,
  ADD, RSQRT, MUL and SUB, all int8 kernels. A hand decomposition (sub, square, mean) gave
  fewer operators but lost SQUARED_DIFFERENCE's precision: the trained audio_kws model fell
  from 0.9080 to 0.9067 int8 accuracy (float 0.9093).
- Work that does not depend on the input (attention masks built from the sequence length,
  position ids, expanded CLS tokens) is counted here and folded into constants by
  litert-torch's runtime constant folding, so no BROADCAST_TO or int64 index math is left.

Attention is left as written: litert-torch lowers matmul and scaled_dot_product_attention
to BATCH_MATMUL and SOFTMAX, one per head group, not unrolled.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

RECORD = "rewrites.json"  # written next to the float .tflite, read back by api.convert

_GELU_K = 2.0 * math.sqrt(2.0 / math.pi)
_ERF_K = 2.0 / math.sqrt(math.pi)

_HOW = {
    "gelu": "GELU -> x*sigmoid(1.5958*(x + 0.044715*x^3)) (tanh approximation, exact identity)",
    "erf": "erf(z) -> tanh(1.1284*(z + 0.08943*z^3))",
    "pow": "x**n (n = 2, 3, 4) -> repeated MUL",
    "layer_norm": "LayerNorm -> MEAN, SQUARED_DIFFERENCE, ADD eps, RSQRT, SUB, MUL, ADD"
    " (litert-torch's lowering, int8 throughout)",
    "fold": "input-independent ops (masks, position ids, expands) folded to constants at the"
    " static traced shape",
}


def _gelu(x: object, approximate: str = "none") -> object:
    import torch

    return x * torch.sigmoid(x * (_GELU_K + _GELU_K * 0.044715 * x * x))


def _erf(z: object) -> object:
    import torch

    return torch.tanh(z * (_ERF_K + _ERF_K * 0.0894296 * z * z))


def legalize(net: object, sample: object) -> tuple[object, list[dict]]:
    """Trace NET (a torch.nn.Module) on SAMPLE and rewrite it; return the rewritten module and
    the rewrites made: [{"rewrite", "count", "how"}], only those that happened."""
    import torch

    aten = torch.ops.aten
    program = torch.export.export(net, (sample,), strict=False)
    found = _count(program)
    program = program.run_decompositions({
        aten.gelu.default: _gelu,
        aten.erf.default: _erf,
    })  # fmt: skip
    module = program.module()
    found["pow"] = _expand_pow(module)
    found["gelu"] += _unfuse_tanh_gelu(module)
    rewrites = [
        {"rewrite": name, "count": found[name], "how": how}
        for name, how in _HOW.items()
        if found[name]
    ]
    return module, rewrites


def _expand_pow(module: object) -> int:
    """Rewrite x ** n for n = 2, 3, 4 as multiplications in MODULE's graph; return how many.

    POW has no int8 kernel; GELU's tanh form written out by hand uses x ** 3.
    """
    import torch

    aten = torch.ops.aten
    graph = module.graph
    count = 0
    for node in list(graph.nodes):
        if node.target != aten.pow.Tensor_Scalar or node.args[1] not in (2, 3, 4):
            continue
        x, power = node.args[0], node.args[1]
        with graph.inserting_before(node):
            product = x
            for _ in range(int(power) - 1):
                product = graph.call_function(aten.mul.Tensor, (product, x))
        node.replace_all_uses_with(product)
        graph.erase_node(node)
        count += 1
    if count:
        module.recompile()
    return count


def _unfuse_tanh_gelu(module: object) -> int:
    """Rewrite 1 + tanh(z) as 2 sigmoid(2z) in MODULE's graph; return how many.

    That sum is the core of GELU's tanh form written out by hand (transformers' "gelu_new"),
    which the TFLite converter would fuse back into a GELU operator.
    """
    import torch

    aten = torch.ops.aten
    graph = module.graph
    count = 0
    for node in list(graph.nodes):
        if node.target != aten.tanh.default or len(node.users) != 1:
            continue
        (user,) = node.users
        if user.target != aten.add.Tensor or 1 not in user.args or user.kwargs:
            continue
        with graph.inserting_before(user):
            doubled = graph.call_function(aten.mul.Tensor, (node.args[0], 2.0))
            sigmoid = graph.call_function(aten.sigmoid.default, (doubled,))
            replacement = graph.call_function(aten.mul.Tensor, (sigmoid, 2.0))
        user.replace_all_uses_with(replacement)
        graph.erase_node(user)
        graph.erase_node(node)
        count += 1
    if count:
        module.recompile()
    return count


def _count(program: object) -> Counter:
    """How many GELU, erf and LayerNorm calls the graph has, and how many of its other
    operations depend on no user input (constants to fold)."""
    import torch

    aten = torch.ops.aten
    kinds = {aten.gelu.default: "gelu", aten.erf.default: "erf"}
    kinds[aten.layer_norm.default] = "layer_norm"
    user_inputs = set(program.graph_signature.user_inputs)
    variable: set[object] = set()
    found: Counter = Counter()
    for node in program.graph.nodes:
        if node.op == "placeholder":
            if node.name in user_inputs:
                variable.add(node)
        elif node.op == "call_function":
            if node.target in kinds:
                found[kinds[node.target]] += 1
            if any(arg in variable for arg in node.all_input_nodes):
                variable.add(node)
            elif node.all_input_nodes:
                found["fold"] += 1
    return found


def write_record(rewrites: list[dict], float_tflite: Path) -> None:
    (Path(float_tflite).parent / RECORD).write_text(json.dumps(rewrites))


def read_record(float_tflite: Path) -> list[dict]:
    """The rewrites made on the way to FLOAT_TFLITE; none when the model did not come through
    legalize (ONNX, a float .tflite)."""
    record = Path(float_tflite).parent / RECORD
    return json.loads(record.read_text()) if record.is_file() else []
