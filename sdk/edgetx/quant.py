"""Affine int8/int16 quantization of inputs and outputs, numpy only (no torch, no TensorFlow)."""

import numpy as np

from edgetx.tflite_model import Tensor

_INT8 = np.dtype(np.int8)


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype: np.dtype = _INT8) -> np.ndarray:
    """q = clip(round(x / scale) + zero_point, -128, 127) as int8 (or DTYPE's range).

    Computed in float32 and rounded half away from zero, as TFLite's reference QUANTIZE kernel
    (std::round) and C's roundf do, so a C frontend on the device gives the same bytes.
    """
    v = np.asarray(x, np.float32) / np.float32(scale)
    q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) + zero_point
    info = np.iinfo(dtype)
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """x = (q - zero_point) * scale as float32."""
    return ((np.asarray(q).astype(np.int32) - zero_point) * np.float32(scale)).astype(np.float32)


def quantize_for(x: np.ndarray, t: Tensor) -> np.ndarray:
    """Quantize float values with a model tensor's parameters and type (int8 or int16)."""
    return quantize(x, float(t.scale[0]), int(t.zero_point[0]), t.np_dtype)
