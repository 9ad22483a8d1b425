"""Front ends on the device: which one a model uses, its C sources, and the host's twin of it.

A model's front end is described by a frontend.json (written by the example's make_data.py):
a LogMelConfig (audio, int16 PCM in) or a HashEmbeddingConfig (text, UTF-8 in). `write_c`
puts the C for the firmware into a directory; `host_input` computes the same int8 model input
in Python, for the host side of `edgetx hil --raw`.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np

from edgetx.errors import UserError
from edgetx.frontends.hash_embedding import MAX_TEXT_BYTES as _MAX_TEXT
from edgetx.frontends.hash_embedding import HashEmbeddingConfig, embed_int8, write_hash_embedding_c
from edgetx.frontends.logmel import LogMelConfig
from edgetx.frontends.logmel_fixed import logmel_fixed, write_logmel_c
from edgetx.tflite_model import Model

C_SOURCES = Path(__file__).parents[1] / "codegen" / "frontends"
FRONTEND_FILE = "frontend.json"  # the front end's config, next to a firmware built with it
Frontend = LogMelConfig | HashEmbeddingConfig
_FILES = {
    LogMelConfig: ("edgetx_frontend.h", "edgetx_logmel.h", "edgetx_logmel.c",
                   "edgetx_frontend_logmel.c"),
    HashEmbeddingConfig: ("edgetx_frontend.h", "edgetx_hash_embedding.h",
                          "edgetx_hash_embedding.c", "edgetx_frontend_text.c"),
}  # fmt: skip


def load_frontend(path: Path) -> Frontend:
    """The front end described by a frontend.json."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UserError(
            f"cannot read front end config {path} ({e}); pass a frontend.json"
        ) from None
    kind = LogMelConfig if isinstance(data, dict) and "n_mels" in data else HashEmbeddingConfig
    try:
        return kind.from_dict(data)
    except (TypeError, ValueError) as e:
        raise UserError(
            f"{path} is neither a log-mel nor a hash-embedding front end config ({e});"
            " use the frontend.json the example's make_data.py wrote"
        ) from None


def write_c(frontend: Frontend, scale: float, zero_point: int, out_dir: Path) -> list[Path]:
    """Copy the front end's C sources and write its generated constants into out_dir."""
    try:
        if isinstance(frontend, LogMelConfig):
            paths = write_logmel_c(frontend, scale, zero_point, out_dir)
        else:
            paths = [write_hash_embedding_c(frontend, scale, zero_point, out_dir)]
    except ValueError as e:
        raise UserError(f"the model's input cannot take this front end's output: {e}") from None
    for name in _FILES[type(frontend)]:
        paths.append(Path(shutil.copy2(C_SOURCES / name, out_dir / name)))
    return paths


def check_input_shape(frontend: Frontend, shape: tuple[int, ...]) -> None:
    """Raise UserError unless the model input (without batch) is what the front end makes."""
    if isinstance(frontend, LogMelConfig):
        made = (frontend.n_frames, frontend.n_mels)
    else:
        made = (frontend.seq_len, frontend.width)
    if tuple(shape) != made:
        raise UserError(
            f"the front end makes inputs of shape {list(made)} but the model takes {list(shape)};"
            " use the frontend.json the model was trained with"
        )


def raw_bytes(frontend: Frontend, sample: np.ndarray | str) -> bytes:
    """What the device receives for one raw sample: int16 LE PCM, or UTF-8 text."""
    if isinstance(frontend, LogMelConfig):
        return np.asarray(sample, np.int16).astype("<i2").tobytes()
    data = str(sample).encode("utf-8")
    if len(data) > _MAX_TEXT:
        raise UserError(f"a text sample has {len(data)} bytes; the device takes {_MAX_TEXT}")
    return data


def host_input(frontend: Frontend, raw: bytes, scale: float, zero_point: int) -> np.ndarray:
    """The int8 model input the device's front end makes from raw (bit-exact with the C)."""
    if isinstance(frontend, LogMelConfig):
        return logmel_fixed(np.frombuffer(raw, "<i2").astype(np.int16), frontend, scale, zero_point)
    return embed_int8(raw, frontend, scale, zero_point)


def add_to_model_code(frontend_json: Path, model: Model, code_dir: Path) -> None:
    """For `edgetx build --frontend`: the front end's C, quantizing to the model's input, next
    to the model's generated code (the agent then answers RUN_RAW)."""
    frontend = load_frontend(frontend_json)
    check_input_shape(frontend, model.input.shape[1:])
    write_c(frontend, float(model.input.scale[0]), int(model.input.zero_point[0]), code_dir)


def load_raw_dataset(
    path: Path, frontend: Frontend, limit: int | None = None
) -> tuple[list[bytes], np.ndarray]:
    """The raw samples of an .npz (int16 `audio` [N, samples] or string `text` [N]) as the
    bytes the device receives, and the integer labels `y` [N]."""
    key = "audio" if isinstance(frontend, LogMelConfig) else "text"
    want = "int16 audio [N, samples]" if key == "audio" else "strings text [N]"
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in (key, "y") if k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise UserError(f"{path} is not an .npz archive ({e}); save it with numpy.savez") from None
    if len(arrays) != 2:
        raise UserError(f"{path} needs `{key}` ({want}) and labels `y` for --raw")
    raw, y = arrays[key][:limit], arrays["y"][:limit]
    ok = raw.dtype == np.int16 and raw.ndim == 2 if key == "audio" else raw.dtype.kind == "U"
    if not ok or raw.ndim < 1 or len(raw) == 0:
        raise UserError(f"`{key}` in {path} is {raw.dtype} {list(raw.shape)}; expected {want}")
    if y.dtype.kind not in "iu" or y.shape != (len(raw),):
        raise UserError(f"`y` in {path} must be integer labels, one per `{key}` sample")
    return [raw_bytes(frontend, sample) for sample in raw], y.astype(np.int64)


def hil_raw_inputs(
    fwdir: Path, model: Model, dataset: Path, limit: int | None = None
) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """For `edgetx hil --raw`: the dataset's raw samples as the device receives them, their
    labels, and the int8 model inputs [N, input_bytes] the host's twin of the firmware's front
    end makes from them (for the TFLite Micro reference)."""
    if limit is not None and limit <= 0:
        raise UserError("--limit must be a positive number of samples")
    path = Path(fwdir) / FRONTEND_FILE
    if not path.is_file():
        raise UserError(
            f"{fwdir} was built without a front end, so it cannot take raw input; rebuild it"
            " with 'edgetx build MODEL_DIR --board BOARD --frontend FRONTEND_JSON'"
        )
    frontend = load_frontend(path)
    check_input_shape(frontend, model.input.shape[1:])
    raw, labels = load_raw_dataset(Path(dataset), frontend, limit)
    scale, zero_point = float(model.input.scale[0]), int(model.input.zero_point[0])
    xq = np.stack([host_input(frontend, r, scale, zero_point).ravel() for r in raw])
    return raw, labels, xq
