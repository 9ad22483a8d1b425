import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from edgetx.frontends.logmel import LogMelConfig, logmel

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "audio_kws"
SPLITS = ("train", "val", "test")


def load_example(name: str) -> ModuleType:
    """Import examples/audio_kws/<name>.py by path, as `edgetx convert` does."""
    spec = importlib.util.spec_from_file_location(f"audio_kws_{name}", EXAMPLE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def make_data(out: Path, *extra: str) -> Path:
    cmd = [sys.executable, str(EXAMPLE / "make_data.py"), "--out", str(out)]
    subprocess.run([*cmd, "--per-class", "3", "--eval-per-class", "2", *extra], check=True)
    return out


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_data(tmp_path_factory.mktemp("kws") / "data")


@pytest.fixture(scope="module")
def model_module() -> ModuleType:
    return load_example("model")


def test_dataset_arrays(tiny_data: Path) -> None:
    classes = json.loads((tiny_data / "classes.json").read_text())
    assert len(classes) >= 8
    assert classes[-2:] == ["unknown", "silence"]
    frontend = LogMelConfig.from_dict(json.loads((tiny_data / "frontend.json").read_text()))
    for split, per_class in zip(SPLITS, (3, 2, 2), strict=True):
        with np.load(tiny_data / f"{split}.npz") as npz:
            n = per_class * len(classes)
            assert npz["x"].shape == (n, frontend.n_frames, frontend.n_mels)
            assert npz["x"].dtype == np.float32
            assert npz["y"].dtype == np.int64
            assert np.bincount(npz["y"]).tolist() == [per_class] * len(classes)
            assert npz["audio"].shape == (n, frontend.clip_samples)
            assert npz["audio"].dtype == np.int16
            assert npz["voice"].shape == (n,)
            np.testing.assert_allclose(npz["x"][0], logmel(npz["audio"][0], frontend), atol=1e-4)


def test_splits_use_disjoint_voices(tiny_data: Path) -> None:
    voices = {}
    for split in SPLITS:
        with np.load(tiny_data / f"{split}.npz") as npz:
            voices[split] = set(npz["voice"].tolist())
    assert not voices["train"] & voices["val"]
    assert not voices["train"] & voices["test"]
    assert not voices["val"] & voices["test"]
    make_data_module = load_example("make_data")
    variants = [set(make_data_module.VARIANTS_BY_SPLIT[split]) for split in SPLITS]
    assert sum(map(len, variants)) == len(set.union(*variants))


def test_same_seed_same_data(tiny_data: Path, tmp_path: Path) -> None:
    again = make_data(tmp_path / "again", "--workers", "1")
    for split in SPLITS:
        with (
            np.load(tiny_data / f"{split}.npz") as first,
            np.load(again / f"{split}.npz") as second,
        ):
            for key in ("x", "y", "audio", "voice"):
                np.testing.assert_array_equal(first[key], second[key])


def test_model_size_and_shapes(model_module: ModuleType) -> None:
    model = model_module.untrained()
    n_params = sum(p.numel() for p in model.parameters())
    assert 5500 <= n_params <= 7000
    logits = model(torch.zeros(3, 32, 40) - 60.0)
    assert logits.shape == (3, model_module.N_CLASSES)


def test_model_has_no_gelu(model_module: ModuleType) -> None:
    kinds = {type(m).__name__ for m in model_module.untrained().modules()}
    assert "GELU" not in kinds
    assert "MultiheadAttention" not in kinds


def test_trained_without_weights_says_how_to_make_them(
    model_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGETX_KWS_WEIGHTS", str(tmp_path / "missing.pt"))
    with pytest.raises(FileNotFoundError, match=r"train\.py"):
        model_module.trained()


def test_fold_normalization_keeps_outputs(
    model_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE))  # train.py imports its sibling model.py
    train = load_example("train")
    sys.modules.pop("model")  # a generic name; do not leave it for other tests
    model = model_module.untrained()
    rng = np.random.default_rng(0)
    mean = rng.uniform(-70, -20, 40).astype(np.float32)
    std = rng.uniform(5, 20, 40).astype(np.float32)
    raw_db = torch.from_numpy(rng.uniform(-100, 20, (4, 32, 40)).astype(np.float32))
    with torch.no_grad():
        expected = model((raw_db - torch.from_numpy(mean)) / torch.from_numpy(std))
        train.fold_normalization(model, mean, std)
        torch.testing.assert_close(model(raw_db), expected, atol=1e-4, rtol=1e-4)


def test_one_epoch_training_feeds_the_factory(
    tiny_data: Path, model_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, str(EXAMPLE / "train.py"), "--data", str(tiny_data), "--out", str(out)]
    subprocess.run([*cmd, "--epochs", "1"], check=True)

    report = json.loads((out / "train_report.json").read_text())
    assert 5500 <= report["parameters"] <= 7000
    classes = json.loads((out / "classes.json").read_text())
    calib = np.load(out / "calib.npy")
    assert calib.dtype == np.float32
    assert calib.shape[1:] == (32, 40)
    with np.load(out / "eval.npz") as eval_npz, np.load(tiny_data / "test.npz") as test_npz:
        np.testing.assert_array_equal(eval_npz["x"], test_npz["x"])
        np.testing.assert_array_equal(eval_npz["y"], test_npz["y"])

    monkeypatch.setenv("EDGETX_KWS_WEIGHTS", str(out / "weights.pt"))
    model = model_module.trained()
    assert not model.training
    with np.load(tiny_data / "test.npz") as npz, torch.no_grad():
        predicted = model(torch.from_numpy(npz["x"])).argmax(dim=1).numpy()
        accuracy = float((predicted == npz["y"]).mean())
    assert predicted.max() < len(classes)
    assert accuracy == pytest.approx(report["float_test_accuracy"])
