"""Load calibration (.npy) and evaluation (.npz) data, with user-facing errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from edgetx.errors import UserError


def load_calib(path: Path) -> np.ndarray:
    """CALIB.npy: float inputs [N, ...], one sample per row without the batch dim -> float32."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"calibration file {path} not found; save float32 model inputs [N, ...] with numpy.save"
        )
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise UserError(f"{path} is not a .npy array ({e}); save it with numpy.save") from None
    return _float_samples(x, f"calibration data {path}")


def load_eval(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """EVAL.npz with `x` float inputs [N, ...] and integer labels `y` [N]."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"evaluation file {path} not found; save it with numpy.savez(x=..., y=...)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise UserError(f"{path} is not an .npz archive ({e}); save it with numpy.savez") from None
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise UserError(
            f"{path} lacks {' and '.join(missing)} (it holds {sorted(arrays) or 'nothing'});"
            " save inputs as x=[N, ...] float32 and labels as y=[N] integers"
        )
    x = _float_samples(arrays["x"], f"evaluation inputs x in {path}")
    y = arrays["y"]
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise UserError(f"labels y in {path} are {y.dtype} {list(y.shape)}; expected integers [N]")
    if len(y) != len(x):
        raise UserError(f"{path} has {len(x)} inputs x but {len(y)} labels y; they must match")
    return x, y.astype(np.int64)


def _float_samples(x: np.ndarray, what: str) -> np.ndarray:
    if x.dtype.kind != "f":
        raise UserError(f"{what} has dtype {x.dtype}; expected float32 inputs (e.g. log-mel)")
    if x.ndim < 2 or len(x) == 0:
        raise UserError(
            f"{what} has shape {list(x.shape)}; expected [N, ...]: N >= 1 samples, each without"
            " the batch dimension"
        )
    if not np.isfinite(x).all():
        raise UserError(f"{what} contains NaN or infinite values")
    return x.astype(np.float32)
