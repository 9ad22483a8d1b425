"""Affine int8 quantization of inputs and outputs, numpy only (no torch, no TensorFlow)."""

import numpy as np

from edgetx.tflite_model import Tensor


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """q = clip(round(x / scale) + zero_point, -128, 127) as int8.

    Computed in float32 and rounded half away from zero, as TFLite's reference QUANTIZE kernel
    (std::round) and C's roundf do, so a C frontend on the device gives the same bytes.
    """
    v = np.asarray(x, np.float32) / np.float32(scale)
    q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """x = (q - zero_point) * scale as float32."""
    return ((np.asarray(q).astype(np.int32) - zero_point) * np.float32(scale)).astype(np.float32)


def quantize_for(x: np.ndarray, t: Tensor) -> np.ndarray:
    """Quantize float values with a model tensor's parameters."""
    return quantize(x, float(t.scale[0]), int(t.zero_point[0]))
