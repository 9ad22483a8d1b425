"""Shared fixtures: one converted tiny audio transformer for the AOT, build and HIL tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
TINY_MODEL = f"{FIXTURES / 'models' / 'tiny_audio.py'}:tiny"


def log_mel_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Inputs in the range of log-mel dB features, [n, 32, 40] float32."""
    return (rng.standard_normal((n, 32, 40)) * 15 - 45).astype(np.float32)


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory written by `edgetx convert` for the tiny audio transformer."""
    from edgetx_converters import convert

    work = tmp_path_factory.mktemp("converted")
    rng = np.random.default_rng(0)
    np.save(work / "calib.npy", log_mel_like(rng, 64))
    np.savez(work / "eval.npz", x=log_mel_like(rng, 48), y=rng.integers(0, 8, 48))
    convert(TINY_MODEL, work / "calib.npy", work / "model", eval_data=work / "eval.npz")
    return work
