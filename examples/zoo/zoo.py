"""A zoo of tiny transformers (each under 2 M parameters) that `edgetx convert` must handle.

Every entry is a factory in this file, so each converts as
`edgetx convert examples/zoo/zoo.py:NAME --calib CALIB.npy`. Weights are seeded random
(nothing is downloaded); the factories return eval-mode modules taking one float32 input
[1, *input_shape] and returning one tensor.

Stable interface, imported by tests, bench/ and the AOT generator's checks:
    ZOO: dict[str, ZooSpec]           name -> factory, input shape, what it covers
    calibration(name, n, seed=0)      n realistic float32 inputs [n, *input_shape]
"""
# No `from __future__ import annotations` here: with string annotations, @dataclass looks
# this module up in sys.modules, where a file imported by path may not be.

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class ZooSpec:
    factory: Callable[[], nn.Module]
    input_shape: tuple[int, ...]  # one sample, without the batch dimension
    inputs: str  # "embeddings" (token vectors) or "logmel" (log-mel dB frames)
    covers: tuple[str, ...]  # the architecture features this entry exists to exercise
    gelu: bool = False  # has GELU, which converts only through the GELU rewrite


ZOO: dict[str, ZooSpec] = {}  # filled by @zoo below, in definition order


def zoo(
    input_shape: tuple[int, ...], inputs: str, covers: tuple[str, ...], gelu: bool = False
) -> Callable[[Callable[[], nn.Module]], Callable[[], nn.Module]]:
    """Register the decorated factory in ZOO under its function name."""

    def register(factory: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
        ZOO[factory.__name__] = ZooSpec(factory, input_shape, inputs, covers, gelu)
        return factory

    return register


def calibration(name: str, n: int, seed: int = 0) -> np.ndarray:
    """N deterministic, realistic float32 inputs for zoo model NAME: [n, *input_shape]."""
    spec = ZOO[name]
    rng = np.random.default_rng(seed)
    if spec.inputs == "embeddings":
        return _token_embeddings(rng, n, spec.input_shape)
    return _logmel(rng, n, spec.input_shape)


def _token_embeddings(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    """Rows of one fixed 200-word embedding table, picked by Zipf-distributed token ids:
    repeated tokens and a frequent few, as in text."""
    seq, dim = shape
    table = np.random.default_rng(1234 + dim).standard_normal((200, dim)).astype(np.float32)
    ids = np.minimum(rng.zipf(1.3, (n, seq)) - 1, len(table) - 1)
    return table[ids] * 0.5


def _logmel(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    """Log-mel dB frames [frames, mels]: a -60 dB floor with noise, plus a few smooth
    time-frequency blobs of speech-like energy up to about -10 dB."""
    frames, mels = shape[-2:]
    t = np.arange(frames)[:, None]
    f = np.arange(mels)[None, :]
    x = rng.standard_normal((n, frames, mels)) * 3.0 - 60.0
    for sample in x:
        for _ in range(rng.integers(1, 4)):
            t0, f0 = rng.uniform(0, frames), rng.uniform(0, mels)
            wt, wf = rng.uniform(2, frames / 3), rng.uniform(2, mels / 3)
            blob = rng.uniform(20, 50) * np.exp(-(((t - t0) / wt) ** 2) - ((f - f0) / wf) ** 2)
            np.maximum(sample, blob - 60.0, out=sample)
    return x.reshape(n, *shape).astype(np.float32)


# --- building blocks -------------------------------------------------------------------------


def sinusoidal(seq: int, dim: int) -> torch.Tensor:
    """The fixed sine/cosine positional encoding of 'Attention is all you need', [1, seq, dim]."""
    pos = torch.arange(seq, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(seq, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe[None]


class Positions(nn.Module):
    """Adds a learned or a fixed sinusoidal positional encoding."""

    def __init__(self, seq: int, dim: int, learned: bool) -> None:
        super().__init__()
        if learned:
            self.pe = nn.Parameter(torch.randn(1, seq, dim) * 0.1)
        else:
            self.register_buffer("pe", sinusoidal(seq, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe


class Head(nn.Module):
    """Classifier over a sequence: mean over time, or the first (CLS) position."""

    def __init__(self, dim: int, classes: int, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.mean(dim=1) if self.pool == "mean" else x[:, 0]
        return self.fc(self.norm(x))


class WithCls(nn.Module):
    """Prepends a learned CLS token to a [batch, seq, dim] sequence."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)


class TorchEncoder(nn.Module):
    """Input projection, positions, nn.TransformerEncoder layers, classifier."""

    def __init__(
        self,
        *,
        seq: int,
        features: int,
        dim: int,
        heads: int,
        ffn: int,
        layers: int,
        activation: str,
        norm_first: bool,
        pool: str,
        learned_pos: bool,
        classes: int = 10,
    ) -> None:
        super().__init__()
        self.proj = nn.Linear(features, dim)
        self.cls = WithCls(dim) if pool == "cls" else nn.Identity()
        self.pos = Positions(seq + (pool == "cls"), dim, learned_pos)
        layer = nn.TransformerEncoderLayer(
            dim, heads, ffn, dropout=0.0, activation=activation, batch_first=True,
            norm_first=norm_first,
        )  # fmt: skip
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        for module in self.encoder.layers[1:].modules():  # the layers start as clones
            for reset in ("reset_parameters", "_reset_parameters"):
                if hasattr(module, reset):
                    getattr(module, reset)()
        self.head = Head(dim, classes, pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.pos(self.cls(self.proj(x)))))


class MhaBlock(nn.Module):
    """Post-norm block calling nn.MultiheadAttention directly."""

    def __init__(self, dim: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ffn), nn.ReLU(), nn.Linear(ffn, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.attn(x, x, x, need_weights=False)[0])
        return self.norm2(x + self.ff(x))


class FusedQkvBlock(nn.Module):
    """Pre-norm block with one qkv Linear split by chunk, attention written out."""

    def __init__(self, dim: int, heads: int, ffn: int, activation: nn.Module) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ffn), activation, nn.Linear(ffn, dim))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        hd = d // self.heads
        q, k, v = (
            y.reshape(b, t, self.heads, hd).transpose(1, 2) for y in self.qkv(x).chunk(3, dim=-1)
        )
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
        return self.out((att @ v).transpose(1, 2).reshape(b, t, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.ff(self.norm2(x))


class ErfGelu(nn.Module):
    """GELU written out with erf, as in the original BERT code."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


class Stack(nn.Module):
    """Input stage, positions, a stack of blocks, classifier."""

    def __init__(self, stem: nn.Module, pos: nn.Module, blocks: list[nn.Module], head: nn.Module):
        super().__init__()
        self.stem = stem
        self.pos = pos
        self.blocks = nn.Sequential(*blocks)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.pos(self.stem(x))))


class NoNorm(nn.Module):
    """MobileBERT's replacement for LayerNorm: an elementwise affine map, no statistics."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(dim))
        self.bias = nn.Parameter(0.1 * torch.randn(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight + self.bias


class MobileBertBlock(nn.Module):
    """MobileBERT's layer: a bottleneck in and out of a narrow inner width, attention and a
    stack of small feed-forward networks inside, NoNorm after every residual."""

    def __init__(self, dim: int, inner: int, heads: int, ffn: int, n_ffn: int) -> None:
        super().__init__()
        self.heads = heads
        self.bottleneck_in = nn.Linear(dim, inner)
        self.norm_in = NoNorm(inner)
        self.q = nn.Linear(inner, inner)
        self.k = nn.Linear(inner, inner)
        self.v = nn.Linear(dim, inner)  # MobileBERT projects values from the wide input
        self.o = nn.Linear(inner, inner)
        self.norm_att = NoNorm(inner)
        self.ffns = nn.ModuleList(
            nn.Sequential(nn.Linear(inner, ffn), nn.ReLU(), nn.Linear(ffn, inner))
            for _ in range(n_ffn)
        )
        self.norm_ffn = nn.ModuleList(NoNorm(inner) for _ in range(n_ffn))
        self.bottleneck_out = nn.Linear(inner, dim)
        self.norm_out = NoNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        h = self.norm_in(self.bottleneck_in(x))
        hd = h.shape[-1] // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.reshape(b, t, self.heads, hd).transpose(1, 2)

        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(x))
        att = torch.softmax(q @ k.transpose(-1, -2) * hd**-0.5, dim=-1)
        h = self.norm_att(h + self.o((att @ v).transpose(1, 2).reshape(b, t, -1)))
        for ffn, norm in zip(self.ffns, self.norm_ffn, strict=True):
            h = norm(h + ffn(h))
        return self.norm_out(x + self.bottleneck_out(h))


class Conv1dStem(nn.Module):
    """[batch, frames, mels] -> Conv1d over time (stride 2) -> [batch, frames', dim]."""

    def __init__(self, mels: int, dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(mels, dim, kernel_size=3, stride=2, padding=1)
        self.scale = 1.0 / 20.0  # dB to a unit range

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv((x * self.scale).transpose(1, 2))).transpose(1, 2)


class Conv2dStem(nn.Module):
    """[batch, frames, mels] -> 2-D conv patches (stride 2x2) -> [batch, frames', dim]."""

    def __init__(self, frames: int, mels: int, channels: int, dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, channels, kernel_size=3, stride=2, padding=1)
        self.proj = nn.Linear(channels * ((mels + 1) // 2), dim)
        self.frames = (frames + 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv(x[:, None] / 20.0))  # [b, c, frames', mels']
        y = y.permute(0, 2, 1, 3).reshape(x.shape[0], self.frames, -1)
        return self.proj(y)


class HfEncoder(nn.Module):
    """A Hugging Face encoder fed through inputs_embeds; returns logits or pooled features."""

    def __init__(self, model: nn.Module, head: nn.Module | None) -> None:
        super().__init__()
        self.model = model
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(inputs_embeds=x, return_dict=True)
        if self.head is None:
            return out.logits
        return self.head(out.last_hidden_state)


# --- the zoo ---------------------------------------------------------------------------------


def _seeded(build: Callable[[], nn.Module]) -> nn.Module:
    torch.manual_seed(0)
    return build().eval()


@zoo(
    (25, 32),
    "embeddings",
    (
        "TransformerEncoderLayer",
        "relu",
        "post-norm",
        "sinusoidal",
        "mean-pool",
        "seq 25",
        "head 12",
    ),
)
def encoder_relu_post() -> nn.Module:
    """nn.TransformerEncoderLayer, ReLU, post-norm; 25 tokens, sinusoidal positions, mean pool,
    head size 12."""
    return _seeded(lambda: TorchEncoder(
        seq=25, features=32, dim=48, heads=4, ffn=96, layers=2, activation="relu",
        norm_first=False, pool="mean", learned_pos=False,
    ))  # fmt: skip


@zoo(
    (31, 32),
    "embeddings",
    ("TransformerEncoderLayer", "relu", "pre-norm", "learned", "cls", "seq 32"),
)
def encoder_relu_pre() -> nn.Module:
    """nn.TransformerEncoderLayer, ReLU, pre-norm; CLS token, learned positions."""
    return _seeded(lambda: TorchEncoder(
        seq=31, features=32, dim=64, heads=4, ffn=128, layers=2, activation="relu",
        norm_first=True, pool="cls", learned_pos=True,
    ))  # fmt: skip


@zoo(
    (19, 40),
    "embeddings",
    ("TransformerEncoderLayer", "gelu", "post-norm", "sinusoidal", "cls", "seq 20", "head 10"),
    gelu=True,
)
def encoder_gelu_post() -> nn.Module:
    """nn.TransformerEncoderLayer, GELU, post-norm; CLS token, sinusoidal positions, head
    size 10."""
    return _seeded(lambda: TorchEncoder(
        seq=19, features=40, dim=40, heads=4, ffn=80, layers=2, activation="gelu",
        norm_first=False, pool="cls", learned_pos=False,
    ))  # fmt: skip


@zoo(
    (24, 32),
    "embeddings",
    ("TransformerEncoderLayer", "gelu", "pre-norm", "learned", "mean-pool", "seq 24", "head 20"),
    gelu=True,
)
def encoder_gelu_pre() -> nn.Module:
    """nn.TransformerEncoderLayer, GELU, pre-norm; mean pool, learned positions, head size 20."""
    return _seeded(lambda: TorchEncoder(
        seq=24, features=32, dim=60, heads=3, ffn=120, layers=2, activation="gelu",
        norm_first=True, pool="mean", learned_pos=True,
    ))  # fmt: skip


@zoo(
    (20, 32),
    "embeddings",
    ("MultiheadAttention", "relu", "learned", "mean-pool", "seq 20", "head 12"),
)
def mha_direct() -> nn.Module:
    """nn.MultiheadAttention called directly; 20 tokens, head size 12."""
    dim, seq = 36, 20
    return _seeded(lambda: Stack(
        nn.Linear(32, dim), Positions(seq, dim, learned=True),
        [MhaBlock(dim, 3, 72) for _ in range(2)], Head(dim, 10, "mean"),
    ))  # fmt: skip


@zoo(
    (30, 32),
    "embeddings",
    ("fused qkv chunk", "gelu", "pre-norm", "sinusoidal", "cls", "seq 31", "head 12"),
    gelu=True,
)
def fused_qkv() -> nn.Module:
    """Hand-written attention with a fused qkv Linear split by chunk; GELU FFN, CLS token."""
    dim, seq = 48, 30
    return _seeded(lambda: Stack(
        nn.Sequential(nn.Linear(32, dim), WithCls(dim)), Positions(seq + 1, dim, learned=False),
        [FusedQkvBlock(dim, 4, 96, nn.GELU()) for _ in range(2)], Head(dim, 10, "cls"),
    ))  # fmt: skip


@zoo(
    (30, 32),
    "embeddings",
    ("fused qkv chunk", "gelu tanh", "pre-norm", "learned", "mean-pool", "seq 30", "head 20"),
    gelu=True,
)
def fused_qkv_tanh_gelu() -> nn.Module:
    """fused_qkv with GELU's tanh approximation (nn.GELU(approximate='tanh'))."""
    dim, seq = 40, 30
    return _seeded(lambda: Stack(
        nn.Linear(32, dim), Positions(seq, dim, learned=True),
        [FusedQkvBlock(dim, 2, 80, nn.GELU(approximate="tanh")) for _ in range(2)],
        Head(dim, 10, "mean"),
    ))  # fmt: skip


def _bert_config(**kw: object) -> object:
    from transformers import BertConfig

    base = dict(
        vocab_size=8, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=64, type_vocab_size=1, initializer_range=0.1,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=6,
    )  # fmt: skip
    return BertConfig(**{**base, **kw})


@zoo(
    (18, 64),
    "embeddings",
    ("BertModel", "inputs_embeds", "gelu", "mean-pool", "seq 18", "head 16"),
    gelu=True,
)
def bert_model() -> nn.Module:
    """transformers BertModel (tiny BertConfig, GELU) through inputs_embeds; mean pool."""
    from transformers import BertModel

    return _seeded(lambda: HfEncoder(
        BertModel(_bert_config(), add_pooling_layer=False), Head(64, 6, "mean"),
    ))  # fmt: skip


@zoo(
    (23, 48),
    "embeddings",
    ("BertForSequenceClassification", "inputs_embeds", "gelu_new", "cls", "seq 23", "head 12"),
    gelu=True,
)
def bert_classifier() -> nn.Module:
    """transformers BertForSequenceClassification: CLS pooler + classifier, GELU's tanh form
    written out ("gelu_new"); 23 tokens, head size 12."""
    from transformers import BertForSequenceClassification

    return _seeded(lambda: HfEncoder(
        BertForSequenceClassification(_bert_config(
            hidden_size=48, intermediate_size=96, hidden_act="gelu_new",
        )), None,
    ))  # fmt: skip


@zoo(
    (27, 64),
    "embeddings",
    ("DistilBertForSequenceClassification", "inputs_embeds", "gelu", "cls", "seq 27"),
    gelu=True,
)
def distilbert() -> nn.Module:
    """transformers DistilBertForSequenceClassification from a tiny DistilBertConfig."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    config = DistilBertConfig(
        vocab_size=8, dim=64, n_layers=2, n_heads=4, hidden_dim=128, max_position_embeddings=64,
        dropout=0.0, attention_dropout=0.0, seq_classif_dropout=0.0, num_labels=5,
        initializer_range=0.1,
    )  # fmt: skip
    return _seeded(lambda: HfEncoder(DistilBertForSequenceClassification(config), None))


@zoo(
    (21, 32),
    "embeddings",
    ("MobileBERT bottleneck", "NoNorm", "stacked ffn", "learned", "mean-pool", "seq 21"),
)
def mobilebert_block() -> nn.Module:
    """MobileBERT-style bottleneck blocks (wide 64, inner 32, four stacked FFNs, NoNorm)."""
    return _seeded(lambda: Stack(
        nn.Linear(32, 64), Positions(21, 64, learned=True),
        [MobileBertBlock(64, 32, 4, 64, 4) for _ in range(2)], Head(64, 10, "mean"),
    ))  # fmt: skip


@zoo(
    (49, 40),
    "logmel",
    ("Conv1d stem", "fused qkv chunk", "erf gelu", "sinusoidal", "mean-pool", "seq 25", "head 16"),
    gelu=True,
)
def audio_conv1d() -> nn.Module:
    """Conv1d stem (stride 2 over 49 frames of 40 mels) in front of a transformer whose GELU is
    written out with erf."""
    dim = 32
    return _seeded(lambda: Stack(
        Conv1dStem(40, dim), Positions(25, dim, learned=False),
        [FusedQkvBlock(dim, 2, 64, ErfGelu()) for _ in range(2)], Head(dim, 12, "mean"),
    ))  # fmt: skip


@zoo(
    (49, 40), "logmel", ("Conv2d stem", "MultiheadAttention", "learned", "cls", "seq 26", "head 12")
)
def audio_conv2d() -> nn.Module:
    """Conv2d stem (3x3, stride 2) on a 49x40 log-mel in front of a transformer with CLS."""
    dim = 48
    return _seeded(lambda: Stack(
        nn.Sequential(Conv2dStem(49, 40, 8, dim), WithCls(dim)), Positions(26, dim, learned=True),
        [MhaBlock(dim, 4, 96) for _ in range(2)], Head(dim, 12, "cls"),
    ))  # fmt: skip
