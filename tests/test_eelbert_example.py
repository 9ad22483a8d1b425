"""examples/eelbert_intent: the offline dataset, the model, training (with distillation), and the
converted student built for qemu-mps2-an386 within the text-firmware budget."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from edgetx.frontends.hash_embedding import HashEmbeddingConfig, embed_float

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "eelbert_intent"
SPLITS = ("train", "val", "test")
TEXT_FLASH, TEXT_RAM = 512 * 1024, 128 * 1024  # an STM32F446RE


def load_example(name: str) -> ModuleType:
    """Import examples/eelbert_intent/<name>.py by path, as `edgetx convert` does."""
    sys.path.insert(0, str(EXAMPLE))  # make_data.py and train.py import their sibling model.py
    try:
        spec = importlib.util.spec_from_file_location(f"eelbert_{name}", EXAMPLE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLE))
        sys.modules.pop("model", None)  # a generic name; do not leave it for other tests
    return module


def run(script: str, *args: str) -> None:
    subprocess.run([sys.executable, str(EXAMPLE / script), *args], check=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eelbert") / "data"
    run("make_data.py", "--out", str(out), "--per-class", "40", "--eval-per-class", "6")
    return out


@pytest.fixture(scope="module")
def model_module() -> ModuleType:
    return load_example("model")


def load(data: Path, split: str) -> dict[str, np.ndarray]:
    with np.load(data / f"{split}.npz") as npz:
        return {k: npz[k] for k in npz.files}


def test_dataset_has_intents_texts_and_features(data: Path) -> None:
    classes = json.loads((data / "classes.json").read_text())
    frontend = HashEmbeddingConfig.from_dict(json.loads((data / "frontend.json").read_text()))
    assert len(classes) >= 10
    for split, per_class in zip(SPLITS, (40, 6, 6), strict=True):
        arrays = load(data, split)
        assert np.bincount(arrays["y"]).tolist() == [per_class] * len(classes)
        assert arrays["x"].shape == (len(arrays["y"]), frontend.seq_len, frontend.width)
        assert arrays["x"].dtype == np.float32
        for k in (0, len(arrays["y"]) // 2, -1):
            np.testing.assert_array_equal(arrays["x"][k], embed_float(arrays["text"][k], frontend))


def test_test_templates_are_held_out() -> None:
    make_data = load_example("make_data")
    by_split = {s: make_data.split_templates(s) for s in SPLITS}
    for label in range(len(make_data.CLASSES)):
        train, val, test = (set(by_split[s][label]) for s in SPLITS)
        assert test and val and len(train) >= 6
        assert not train & test and not train & val and not val & test


def test_sentences_get_paraphrases_and_typos() -> None:
    make_data = load_example("make_data")
    rng = np.random.default_rng(0)
    template = "turn on the lights in the {room}"
    texts = [make_data.sentence(template, rng) for _ in range(200)]
    plain = {template.format(room=room) for room in make_data.SLOTS["room"]}
    assert sum(t in plain for t in texts) < 100  # most are paraphrased, typed wrong or cased
    assert any(t.startswith("please ") for t in texts)
    assert any(t.isupper() for t in texts)
    words = {w for t in texts for w in t.lower().replace(",", " ").split()}
    assert words - {w for p in plain for w in p.split()} - {"please", "hey", "house"}


def test_same_seed_same_data(data: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run("make_data.py", "--out", str(again), "--per-class", "40", "--eval-per-class", "6")
    for split in SPLITS:
        first, second = load(data, split), load(again, split)
        for key in ("x", "y", "text"):
            np.testing.assert_array_equal(first[key], second[key])


def test_student_is_small_and_free_of_gelu(model_module: ModuleType) -> None:
    model = model_module.untrained()
    cfg = model_module.STUDENT
    assert cfg.hidden <= 128 and 1 <= cfg.layers <= 2
    assert sum(p.numel() for p in model.parameters()) < 100_000
    kinds = {type(m).__name__ for m in model.modules()}
    assert not kinds & {"GELU", "MultiheadAttention", "Embedding"}
    frontend = model_module.FRONTEND
    logits = model(torch.zeros(3, frontend.seq_len, frontend.width))
    assert logits.shape == (3, model_module.N_CLASSES)


def test_trained_without_weights_says_how_to_make_them(
    model_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGETX_EELBERT_WEIGHTS", str(tmp_path / "missing.pt"))
    with pytest.raises(FileNotFoundError, match=r"train\.py"):
        model_module.trained()


def test_distilled_training_feeds_the_factory(
    data: Path, model_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    run("train.py", "--data", str(data), "--out", str(out), "--epochs", "1", "--distill")
    report = json.loads((out / "train_report.json").read_text())
    assert report["distilled"] is True
    assert report["teacher"]["parameters"] > 4 * report["parameters"]
    eval_npz, test = load(out, "eval"), load(data, "test")
    for key in ("x", "y", "text"):
        np.testing.assert_array_equal(eval_npz[key], test[key])
    monkeypatch.setenv("EDGETX_EELBERT_WEIGHTS", str(out / "weights.pt"))
    with torch.no_grad():
        predicted = model_module.trained()(torch.from_numpy(test["x"])).argmax(dim=1).numpy()
    assert float((predicted == test["y"]).mean()) == pytest.approx(report["float_test_accuracy"])


@pytest.mark.slow
@pytest.mark.qemu
def test_converted_student_fits_and_runs_from_raw_text(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgetx.build import build
    from edgetx_converters import convert

    out = tmp_path / "run"
    run("train.py", "--data", str(data), "--out", str(out), "--epochs", "6")
    monkeypatch.setenv("EDGETX_EELBERT_WEIGHTS", str(out / "weights.pt"))
    model = f"{EXAMPLE / 'model.py'}:trained"
    report = convert(model, out / "calib.npy", out / "model", eval_data=out / "eval.npz")
    assert abs(report["accuracy"]["int8"] - report["accuracy"]["float"]) <= 0.02
    frontend = data / "frontend.json"
    result = build(out / "model", "qemu-mps2-an386", out / "fw", frontend=frontend)
    assert result.flash_bytes <= TEXT_FLASH
    assert result.ram_bytes <= TEXT_RAM

    # From raw text on the emulated board: the C front end and the model give the host's bytes.
    cmd = [sys.executable, "-m", "edgetx", "hil", str(out / "fw"), "--board", "qemu-mps2-an386"]
    hil = out / "hil"
    args = ["--dataset", str(out / "eval.npz"), "--raw", "--report", str(hil)]
    subprocess.run([*cmd, *args], check=True)
    hil_report = json.loads((hil / "report.json").read_text())
    assert hil_report["completed"] == len(load(out, "eval")["y"])
    assert hil_report["agreement_with_host"] == 1.0
