"""A ~6k-parameter transformer over log-mel frames, written with TFLite-Micro-friendly ops only.

Input `[batch, 32, 40]` float32 log-mel dB exactly as `edgetx.frontends.logmel.logmel` gives;
output logits `[batch, n_classes]`. Attention is spelled out with separate q/k/v Linears,
matmul and softmax (no fused attention), the feed-forward uses ReLU (TFLite Micro has no
GELU kernel), and all shapes are static. Input normalization is folded into `proj` by
train.py, so the exported graph starts with the projection on raw dB.

`edgetx convert examples/audio_kws/model.py:trained` imports this file by path, so it only
imports torch.
"""

import os
from pathlib import Path

import torch
from torch import nn

N_FRAMES = 32
N_MELS = 40
N_CLASSES = 10
D_MODEL = 16
N_HEADS = 2
D_FF = 32
N_LAYERS = 2

WEIGHTS = Path(__file__).resolve().parents[2] / "build" / "audio_kws" / "weights.pt"


class SelfAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(D_MODEL, D_MODEL)
        self.k = nn.Linear(D_MODEL, D_MODEL)
        self.v = nn.Linear(D_MODEL, D_MODEL)
        self.out = nn.Linear(D_MODEL, D_MODEL)
        self.head_dim = D_MODEL // N_HEADS
        self.scale = self.head_dim**-0.5

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        # [batch, time, d_model] -> [batch, heads, time, head_dim]
        return x.reshape(-1, N_FRAMES, N_HEADS, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.split_heads(self.q(x))
        k = self.split_heads(self.k(x))
        v = self.split_heads(self.v(x))
        weights = torch.softmax((q @ k.transpose(2, 3)) * self.scale, dim=-1)
        merged = (weights @ v).permute(0, 2, 1, 3).reshape(-1, N_FRAMES, D_MODEL)
        return self.out(merged)


class EncoderLayer(nn.Module):
    """Pre-norm encoder layer: x + attn(norm(x)), then x + ff(norm(x))."""

    def __init__(self) -> None:
        super().__init__()
        self.attn_norm = nn.LayerNorm(D_MODEL)
        self.attn = SelfAttention()
        self.ff_norm = nn.LayerNorm(D_MODEL)
        self.ff = nn.Sequential(nn.Linear(D_MODEL, D_FF), nn.ReLU(), nn.Linear(D_FF, D_MODEL))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x))
        return x + self.ff(self.ff_norm(x))


class KeywordTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(N_MELS, D_MODEL)
        self.pos = nn.Parameter(torch.zeros(1, N_FRAMES, D_MODEL))
        self.layers = nn.Sequential(*(EncoderLayer() for _ in range(N_LAYERS)))
        self.norm = nn.LayerNorm(D_MODEL)
        self.classifier = nn.Linear(D_MODEL, N_CLASSES)
        nn.init.normal_(self.pos, std=0.02)

    def forward(self, logmel_db: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.proj(logmel_db) + self.pos)
        return self.classifier(self.norm(x).mean(dim=1))


def untrained(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return KeywordTransformer().eval()


def trained() -> nn.Module:
    """The model with weights from train.py (`EDGETX_KWS_WEIGHTS` overrides the path)."""
    path = Path(os.environ.get("EDGETX_KWS_WEIGHTS", WEIGHTS))
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run examples/audio_kws/train.py first")
    model = KeywordTransformer()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
