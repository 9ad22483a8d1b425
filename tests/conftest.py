"""Shared fixtures: one converted tiny audio transformer for the AOT, build and HIL tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

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


ZOO_PY = Path(__file__).parents[1] / "examples" / "zoo" / "zoo.py"
ZOO_CALIB = 24  # samples: enough for min/max ranges, few enough to keep the zoo fast


def load_zoo() -> ModuleType:
    """examples/zoo/zoo.py as a module (ZOO, calibration), imported once."""
    if "edgetx_zoo" not in sys.modules:
        spec = importlib.util.spec_from_file_location("edgetx_zoo", ZOO_PY)
        module = importlib.util.module_from_spec(spec)
        sys.modules["edgetx_zoo"] = module
        spec.loader.exec_module(module)
    return sys.modules["edgetx_zoo"]


@pytest.fixture(scope="session")
def zoo_converted(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A function: zoo model name -> its `edgetx convert` output directory (once per session).

    The calibration set is saved next to it as calib.npy.
    """
    from edgetx_converters import convert

    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            work = tmp_path_factory.mktemp(f"zoo_{name}")
            np.save(work / "calib.npy", load_zoo().calibration(name, ZOO_CALIB))
            convert(f"{ZOO_PY}:{name}", work / "calib.npy", work / "model")
            done[name] = work / "model"
        return done[name]

    return get
