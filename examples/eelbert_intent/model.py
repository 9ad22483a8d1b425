"""EELBERT-style intent classifier over hashed n-gram features, TFLite-Micro-friendly.

Input `[batch, seq_len, width]` float32: the hash embedding's pooled values
(`edgetx.frontends.hash_embedding.embed_float`); the device computes the int8 version of the
same values in C. The model owns everything after the hash: a trainable projection to the
hidden size (`HashEmbedding`'s projection), a learned position embedding, pre-norm encoder
layers with hand-written attention (separate q/k/v, matmul, softmax) and a ReLU feed-forward
(TFLite Micro has no GELU kernel), and mean pooling into the classifier. The same code builds
the small student and the larger BERT-style teacher from an `EncoderConfig`.

`edgetx convert examples/eelbert_intent/model.py:trained` imports this file by path.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from edgetx.frontends.hash_embedding import HashEmbeddingConfig
from edgetx.frontends.hash_embedding_torch import HashEmbedding

FRONTEND = HashEmbeddingConfig(dims=(16, 16, 16), seq_len=16)
N_CLASSES = 14
WEIGHTS = Path(__file__).resolve().parents[2] / "build" / "eelbert_intent" / "weights.pt"


@dataclass(frozen=True)
class EncoderConfig:
    hidden: int
    layers: int
    heads: int
    ff: int


STUDENT = EncoderConfig(hidden=64, layers=2, heads=2, ff=128)
TEACHER = EncoderConfig(hidden=128, layers=4, heads=4, ff=256)


class SelfAttention(nn.Module):
    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.q = nn.Linear(cfg.hidden, cfg.hidden)
        self.k = nn.Linear(cfg.hidden, cfg.hidden)
        self.v = nn.Linear(cfg.hidden, cfg.hidden)
        self.out = nn.Linear(cfg.hidden, cfg.hidden)
        self.heads, self.hidden = cfg.heads, cfg.hidden
        self.head_dim = cfg.hidden // cfg.heads
        self.scale = self.head_dim**-0.5

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        # [batch, seq, hidden] -> [batch, heads, seq, head_dim]
        return x.reshape(-1, FRONTEND.seq_len, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.split_heads(self.q(x))
        k = self.split_heads(self.k(x))
        v = self.split_heads(self.v(x))
        weights = torch.softmax((q @ k.transpose(2, 3)) * self.scale, dim=-1)
        merged = (weights @ v).permute(0, 2, 1, 3).reshape(-1, FRONTEND.seq_len, self.hidden)
        return self.out(merged)


class EncoderLayer(nn.Module):
    """Pre-norm: x + attn(norm(x)), then x + ff(norm(x))."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.attn_norm = nn.LayerNorm(cfg.hidden)
        self.attn = SelfAttention(cfg)
        self.ff_norm = nn.LayerNorm(cfg.hidden)
        self.ff = nn.Sequential(
            nn.Linear(cfg.hidden, cfg.ff), nn.ReLU(), nn.Linear(cfg.ff, cfg.hidden)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x))
        return x + self.ff(self.ff_norm(x))


class IntentEncoder(nn.Module):
    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.embed = HashEmbedding(FRONTEND, cfg.hidden)
        self.pos = nn.Parameter(torch.zeros(1, FRONTEND.seq_len, cfg.hidden))
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.hidden)
        self.classifier = nn.Linear(cfg.hidden, N_CLASSES)
        nn.init.normal_(self.pos, std=0.02)

    def hidden_states(self, features: torch.Tensor) -> torch.Tensor:
        """The final token states [batch, seq_len, hidden] (distillation matches these)."""
        x = self.embed(features) + self.pos
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.hidden_states(features).mean(dim=1))


def untrained(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return IntentEncoder(STUDENT).eval()


def trained() -> nn.Module:
    """The student with weights from train.py (`EDGETX_EELBERT_WEIGHTS` overrides the path)."""
    path = Path(os.environ.get("EDGETX_EELBERT_WEIGHTS", WEIGHTS))
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run examples/eelbert_intent/train.py first")
    model = IntentEncoder(STUDENT)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
