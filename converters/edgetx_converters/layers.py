"""Where quantization hurts: every activation tensor of the quantized model against the same
tensor of the float model, on the calibration data.

ai-edge-quantizer keeps the float model's tensors at the same indices (it appends the tensors it
adds, such as those of a float island's DEQUANTIZE), and compact() only shortens their names,
so tensor i of one is tensor i of the other; names and shapes are checked all the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgetx.quant import dequantize, quantize_for
from edgetx.reference import Reference
from edgetx.tflite_model import Model, Tensor, parse_model
from edgetx_converters.compact import short_name

# Enough samples for stable figures; bounds the pass (about 0.01 s per sample on a 6 k-parameter
# transformer) when the calibration set is large.
MAX_SAMPLES = 128


def layer_errors(
    float_tflite: Path, model: Model, reference: Reference, calib: np.ndarray
) -> list[dict]:
    """[{tensor, index, op, sqnr_db, cosine}] for every activation tensor, worst SQNR first.

    MODEL is the quantized model REFERENCE runs. SQNR is 10·log10(Σ float² / Σ (float −
    dequantized)²) and cosine is taken over all the tensor's values on the first MAX_SAMPLES
    samples of CALIB [N, ...].
    sqnr_db is None where it is undefined: no error at all, or a tensor that is zero in float.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    float_model = parse_model(Path(float_tflite).read_bytes())
    producers = {out: op.opcode for op in model.operators for out in op.outputs}
    pairs = [
        (t, producers.get(t.index, "INPUT"))
        for t, f in zip(model.tensors, float_model.tensors, strict=False)
        if not t.is_constant
        and t.scale.size == 1
        and f.dtype == "FLOAT32"
        and t.shape == f.shape
        and t.name == short_name(f.name)
        and (t.index in producers or t.index == model.inputs[0])
    ]
    # The reference resolver runs every operator on its own, so each tensor keeps its value.
    interp = Interpreter(
        model_content=float_model.raw,
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
    )
    interp.allocate_tensors()
    input_index = interp.get_input_details()[0]["index"]
    sums = np.zeros((len(pairs), 4))  # Σf², Σ(f−q)², Σf·q, Σq²
    indices = [t.index for t, _ in pairs]
    for x in calib[:MAX_SAMPLES]:
        interp.set_tensor(input_index, x[None].astype(np.float32))
        interp.invoke()
        quantized = reference.tensors(quantize_for(x, model.input), indices)
        for k, (t, _) in enumerate(pairs):
            f = interp.get_tensor(t.index).astype(np.float64).ravel()
            q = dequantize(quantized[t.index], float(t.scale[0]), int(t.zero_point[0]))
            q = q.astype(np.float64)
            sums[k] += ((f * f).sum(), ((f - q) ** 2).sum(), (f * q).sum(), (q * q).sum())
    rows = [_row(t, op, s) for (t, op), s in zip(pairs, sums, strict=True)]
    return sorted(rows, key=lambda r: (r["sqnr_db"] is None, r["sqnr_db"] or 0.0))


def _row(t: Tensor, op: str, s: np.ndarray) -> dict:
    signal, noise, dot, q2 = s
    sqnr = round(float(10 * np.log10(signal / noise)), 2) if signal > 0 and noise > 0 else None
    norms = np.sqrt(signal * q2)
    cosine = 1.0 if signal == q2 == 0 else float(dot / norms) if norms > 0 else 0.0
    return {
        "tensor": t.name,
        "index": t.index,
        "op": op,
        "sqnr_db": sqnr,
        "cosine": round(cosine, 6),
    }
