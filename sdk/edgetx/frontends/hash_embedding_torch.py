"""The hashed n-gram embedding as a PyTorch module, for training (imports torch).

The hash part is fixed (no parameters) and runs outside the graph: `encode` turns texts into
the float features the device front end quantizes. `forward` is the optional trainable
projection after it; it is part of the model, so `edgetx convert` puts it in the converted
model (a FULLY_CONNECTED on the int8 features), not in the front end.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from edgetx.frontends.hash_embedding import HashEmbeddingConfig, embed_float


class HashEmbedding(nn.Module):
    def __init__(self, cfg: HashEmbeddingConfig, out_dim: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.projection = nn.Linear(cfg.width, out_dim) if out_dim else nn.Identity()

    def encode(self, texts: Sequence[str | bytes]) -> torch.Tensor:
        """Fixed hash features [batch, seq_len, width] float32 (no gradient)."""
        return torch.from_numpy(np.stack([embed_float(t, self.cfg) for t in texts]))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.projection(features)
