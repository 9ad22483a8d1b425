"""Model -> full-integer int8 TensorFlow Lite for TFLite Micro.

The only part of edgetx that uses torch, TensorFlow, litert-torch, ai-edge-quantizer and
onnx2tf; each is imported inside the function that needs it, so importing this package is cheap.
"""

from edgetx_converters.api import convert

__all__ = ["convert"]
