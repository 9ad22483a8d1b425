"""edgetx: tiny transformers from PyTorch to int8 TFLite Micro, AOT C and firmware on MCUs."""

__version__ = "0.1.0"
