"""Evaluation datasets: .npz files with float inputs `x` and integer labels `y`."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetx.errors import UserError


@dataclass(frozen=True)
class Dataset:
    x: np.ndarray  # float32 [N, ...]
    y: np.ndarray  # int64 [N]


def load_dataset(path: Path, input_shape: tuple[int, ...], limit: int | None = None) -> Dataset:
    """Load and check an .npz dataset against the model's input shape (batch dim excluded)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"dataset {path} not found")
    try:
        with np.load(path) as data:
            missing = [k for k in ("x", "y") if k not in data]
            if missing:
                raise UserError(f"dataset {path} lacks array {missing[0]!r}; it needs x and y")
            x, y = np.asarray(data["x"], np.float32), np.asarray(data["y"]).astype(np.int64)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise UserError(f"dataset {path} is not a readable .npz file ({e})") from None
    if len(x) != len(y):
        raise UserError(f"dataset {path}: x has {len(x)} samples but y has {len(y)}")
    if int(np.prod(x.shape[1:])) != int(np.prod(input_shape)):
        raise UserError(
            f"dataset {path}: samples have shape {tuple(x.shape[1:])}, "
            f"the model expects {tuple(input_shape)}"
        )
    if limit is not None:
        if limit <= 0:
            raise UserError("--limit must be a positive number of samples")
        x, y = x[:limit], y[:limit]
    return Dataset(x, y)
