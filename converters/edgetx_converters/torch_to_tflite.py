"""torch.nn.Module -> float TFLite with litert-torch (no ONNX, no TensorFlow graph)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgetx.errors import UnsupportedModel
from edgetx_converters import legalize
from edgetx_converters.quiet import first_line


def torch_to_tflite(net: object, sample: np.ndarray, out: Path) -> Path:
    """Export NET traced on SAMPLE (a float32 batch of one) to OUT; return OUT.

    NET is legalized for TFLite Micro first (see legalize.py); the rewrites made are recorded
    next to OUT for the report.
    """
    import litert_torch
    import torch

    x = torch.from_numpy(sample)
    try:
        net, rewrites = legalize.legalize(net, x)
        # Runtime folding turns input-independent subgraphs (masks, expands) into constants.
        edge = litert_torch.convert(net, (x,), runtime_constant_folding=True)
        edge.export(str(out))
    except Exception as e:
        raise UnsupportedModel(
            f"litert-torch could not convert the model ({type(e).__name__}: {first_line(e)});"
            " data-dependent Python control flow and custom autograd functions do not export:"
            " rewrite them as tensor operations"
        ) from None
    legalize.write_record(rewrites, out)
    return out
