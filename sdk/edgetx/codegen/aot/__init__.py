"""Ahead-of-time C generation for int8 TFLite models (no interpreter on the device)."""

from edgetx.codegen.aot.generate import AotModel, generate_aot

__all__ = ["AotModel", "generate_aot"]
