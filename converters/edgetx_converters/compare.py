"""How far the int8 model's outputs are from the float model's."""

from __future__ import annotations

import numpy as np


def float_vs_int8(float_out: np.ndarray, int8_out: np.ndarray) -> dict:
    """Per-sample output cosine similarity, worst absolute error and top-1 agreement.

    Both are float arrays [N, ...]; INT8_OUT is the dequantized int8 output.
    """
    f = float_out.reshape(len(float_out), -1).astype(np.float64)
    q = int8_out.reshape(len(int8_out), -1).astype(np.float64)
    norms = np.linalg.norm(f, axis=1) * np.linalg.norm(q, axis=1)
    # Two all-zero outputs agree perfectly; one zero output against a non-zero one does not.
    cosine = np.where(norms > 0, (f * q).sum(axis=1) / np.maximum(norms, 1e-30), 0.0)
    cosine[(np.abs(f).sum(axis=1) == 0) & (np.abs(q).sum(axis=1) == 0)] = 1.0
    return {
        "samples": len(f),
        "cosine_mean": round(float(cosine.mean()), 6),
        "cosine_min": round(float(cosine.min()), 6),
        "max_abs_error": round(float(np.abs(f - q).max()), 6),
        "top1_agreement": round(float((f.argmax(axis=1) == q.argmax(axis=1)).mean()), 6),
    }


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    return round(float((outputs.reshape(len(outputs), -1).argmax(axis=1) == labels).mean()), 6)
