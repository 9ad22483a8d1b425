"""EELBERT-style hashed n-gram embedding, spec version 1 (docs/hash-embedding.md).

Text in, int8 model input [seq_len, width] out, with no embedding table: every token's vector
is the per-order mean of its character n-grams' hash vectors. All arithmetic is on integers, so
this module and edgetx_hash_embedding.c (sdk/edgetx/codegen/frontends/) give the same bytes.
`embed_float` is the training-time view of the same values (before int8 quantization).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

SPEC_VERSION = 1
MAX_TEXT_BYTES = 1024
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1
VALUE_SHIFT = 48  # the top 16 bits of hash * seed
VALUE_MAX = 65535  # value = (2u - 65535) / 65535 for u in [0, 65535]
QUANT_SHIFT = 32
BEGIN, END = b"<", b">"
_SEPARATORS = frozenset(b"\t\n\v\f\r " + bytes(range(0x21, 0x30)) + bytes(range(0x3A, 0x41)))
_SEPARATORS = _SEPARATORS | frozenset(bytes(range(0x5B, 0x61)) + bytes(range(0x7B, 0x7F)))


@dataclass(frozen=True)
class HashEmbeddingConfig:
    """The spec's parameters; stored with the model (frontend.json) and compiled into the C."""

    dims: tuple[int, int, int] = (16, 16, 16)  # output values per n-gram order 1, 2, 3
    seq_len: int = 16
    seed: int = 0x45454C42455254  # "EELBERT"
    version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        if self.version != SPEC_VERSION:
            raise ValueError(f"hash embedding spec version {self.version} is not {SPEC_VERSION}")
        if len(self.dims) != 3 or min(self.dims) < 1 or self.seq_len < 1:
            raise ValueError("dims must be three positive widths and seq_len positive")
        if not 0 <= self.seed <= MASK64:
            raise ValueError("seed must be a 64-bit unsigned integer")

    @property
    def width(self) -> int:
        return sum(self.dims)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "dims": list(self.dims)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HashEmbeddingConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown HashEmbeddingConfig fields: {sorted(unknown)}")
        return cls(**{**data, "dims": tuple(data.get("dims", cls.dims))})


def lowercase(text: bytes) -> bytes:
    """ASCII A-Z -> a-z; a byte 0x80-0x9E other than 0x97 right after 0xC3 gets +0x20
    (Latin-1 capitals U+00C0-U+00DE in UTF-8, without U+00D7). Everything else is kept."""
    out = bytearray(text)
    for i, b in enumerate(text):
        if 0x41 <= b <= 0x5A or (i and text[i - 1] == 0xC3 and 0x80 <= b <= 0x9E and b != 0x97):
            out[i] = b + 0x20
    return bytes(out)


def tokens(text: bytes) -> list[bytes]:
    """Maximal runs of bytes that are not ASCII whitespace or ASCII punctuation."""
    found, start = [], None
    for i, b in enumerate(text):
        if b in _SEPARATORS:
            if start is not None:
                found.append(text[start:i])
            start = None
        elif start is None:
            start = i
    if start is not None:
        found.append(text[start:])
    return found


def characters(token: bytes) -> list[bytes]:
    """A character starts at the token's first byte and at every byte outside 0x80-0xBF."""
    starts = [i for i, b in enumerate(token) if i == 0 or not 0x80 <= b <= 0xBF]
    return [token[s:e] for s, e in zip(starts, [*starts[1:], len(token)], strict=True)]


def ngrams(token: bytes, order: int) -> list[bytes]:
    """Order 1: the characters; orders 2 and 3: windows over '<' + characters + '>'."""
    chars = characters(token)
    if order == 1:
        return chars
    wrapped = [BEGIN, *chars, END]
    return [b"".join(wrapped[i : i + order]) for i in range(len(wrapped) - order + 1)]


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def seeds(cfg: HashEmbeddingConfig) -> np.ndarray:
    """uint64 [width]: splitmix64 outputs from cfg.seed, each with its low bit set (odd)."""
    state, out = cfg.seed, []
    for _ in range(cfg.width):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out.append((z ^ (z >> 31)) | 1)
    return np.array(out, np.uint64)


def _as_bytes(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if len(data) > MAX_TEXT_BYTES:
        raise ValueError(f"text has {len(data)} bytes; the hash embedding takes {MAX_TEXT_BYTES}")
    return data


def pooled_sums(text: str | bytes, cfg: HashEmbeddingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Integer pooling state: sums int64 [seq_len, width] of (2u - 65535) and n-gram counts
    int64 [seq_len, width] (0 on padding rows). Tokens after the first seq_len are dropped."""
    s = seeds(cfg)
    sums = np.zeros((cfg.seq_len, cfg.width), np.int64)
    counts = np.zeros((cfg.seq_len, cfg.width), np.int64)
    for t, token in enumerate(tokens(lowercase(_as_bytes(text)))[: cfg.seq_len]):
        col = 0
        for order, dim in zip((1, 2, 3), cfg.dims, strict=True):
            h = np.array([fnv1a64(g) for g in ngrams(token, order)], np.uint64)
            u = (h[:, None] * s[None, col : col + dim]) >> np.uint64(VALUE_SHIFT)
            sums[t, col : col + dim] = (2 * u.astype(np.int64) - VALUE_MAX).sum(axis=0)
            counts[t, col : col + dim] = h.size
            col += dim
    return sums, counts


def embed_float(text: str | bytes, cfg: HashEmbeddingConfig) -> np.ndarray:
    """float32 [seq_len, width] in [-1, 1]: the pooled values the model is trained on."""
    sums, counts = pooled_sums(text, cfg)
    return (sums / (np.maximum(counts, 1) * VALUE_MAX)).astype(np.float32)


def quant_multiplier(scale: float) -> int:
    """M with q = zp + floor((2 S M + c 2^32) / (c 2^33)) ~ round(S / (c 65535 scale))."""
    mult = round(2**QUANT_SHIFT / (VALUE_MAX * scale))
    if mult <= 0 or 2 * (MAX_TEXT_BYTES + 1) * VALUE_MAX * mult >= 2**62:
        raise ValueError(f"input scale {scale} is out of range for the hash embedding")
    return mult


def embed_int8(text: str | bytes, cfg: HashEmbeddingConfig, scale: float, zp: int) -> np.ndarray:
    """int8 model input [seq_len, width], exactly as the C front end (padding rows are zp)."""
    sums, counts = pooled_sums(text, cfg)
    den = counts << QUANT_SHIFT
    q = (2 * sums * quant_multiplier(scale) + den) // np.maximum(2 * den, 1) + zp
    return np.where(counts > 0, np.clip(q, -128, 127), zp).astype(np.int8)


def write_hash_embedding_c(
    cfg: HashEmbeddingConfig, scale: float, zero_point: int, out_dir: Path
) -> Path:
    """Write edgetx_hash_embedding_config.h (constants for edgetx_hash_embedding.c)."""
    mult = quant_multiplier(scale)
    if not -128 <= zero_point <= 127:
        raise ValueError(f"input zero point {zero_point} is not int8")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "edgetx_hash_embedding_config.h"
    path.write_text(f"""\
/* Generated by edgetx from a HashEmbeddingConfig (spec v{cfg.version}); do not edit. */
#ifndef EDGETX_HASH_EMBEDDING_CONFIG_H
#define EDGETX_HASH_EMBEDDING_CONFIG_H

#define EDGETX_HASH_SPEC_VERSION {cfg.version}
#define EDGETX_HASH_SEQ_LEN {cfg.seq_len}
#define EDGETX_HASH_DIM1 {cfg.dims[0]}
#define EDGETX_HASH_DIM2 {cfg.dims[1]}
#define EDGETX_HASH_DIM3 {cfg.dims[2]}
#define EDGETX_HASH_WIDTH {cfg.width}
#define EDGETX_HASH_SEED 0x{cfg.seed:016X}ull
#define EDGETX_HASH_MAX_TEXT_BYTES {MAX_TEXT_BYTES}
#define EDGETX_HASH_QUANT_MULT {mult}ll
#define EDGETX_HASH_ZERO_POINT ({zero_point})

#endif
""")
    return path
