"""Evaluation datasets for HIL: the shared .npz loader, checked against the model's input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetx.data import load_eval
from edgetx.errors import UserError


@dataclass(frozen=True)
class Dataset:
    x: np.ndarray  # float32 [N, ...]
    y: np.ndarray  # int64 [N]


def load_dataset(path: Path, input_shape: tuple[int, ...], limit: int | None = None) -> Dataset:
    """Load an .npz dataset and check it against the model's input shape (batch dim excluded)."""
    if limit is not None and limit <= 0:
        raise UserError("--limit must be a positive number of samples")
    x, y = load_eval(path)
    if int(np.prod(x.shape[1:])) != int(np.prod(input_shape)):
        raise UserError(
            f"dataset {path}: samples have shape {tuple(x.shape[1:])}, "
            f"the model expects {tuple(input_shape)}"
        )
    return Dataset(x[:limit], y[:limit])
