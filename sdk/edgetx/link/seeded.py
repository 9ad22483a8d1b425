"""The input bytes a device makes for RUN_SEEDED (docs/protocol.md): splitmix64 from the seed,
each 64-bit output little-endian, truncated to the model's input size. The host's twin of
etx_seeded_fill in src/protocol.c, so it can give the reference the same input."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SEED_MAX = (1 << 64) - 1
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def seeded_inputs(seeds: Sequence[int], nbytes: int) -> np.ndarray:
    """The bytes the device generates for each seed: uint8 [len(seeds), nbytes]."""
    if any(not 0 <= s <= SEED_MAX for s in seeds):
        raise ValueError(f"a RUN_SEEDED seed is a u64: 0..{SEED_MAX}")
    words = -(-nbytes // 8)
    steps = np.arange(1, words + 1, dtype=np.uint64)
    # uint64 array arithmetic wraps modulo 2**64, as the C does.
    z = np.array(seeds, dtype=np.uint64).reshape(-1, 1) + steps * _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z ^= z >> np.uint64(31)
    return np.ascontiguousarray(z.astype("<u8").view(np.uint8)[:, :nbytes])
