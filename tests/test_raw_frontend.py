"""Front ends in firmware: config loading, raw datasets, and the audio firmware from raw PCM."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgetx.errors import UserError
from edgetx.frontends import device
from edgetx.frontends.hash_embedding import HashEmbeddingConfig
from edgetx.frontends.logmel import LogMelConfig

AUDIO_FLASH, AUDIO_RAM = 128 * 1024, 32 * 1024


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_frontend_kind_comes_from_the_config(tmp_path: Path) -> None:
    audio = write_json(tmp_path / "a.json", LogMelConfig().to_dict())
    text = write_json(tmp_path / "t.json", HashEmbeddingConfig().to_dict())
    assert device.load_frontend(audio) == LogMelConfig()
    assert device.load_frontend(text) == HashEmbeddingConfig()
    with pytest.raises(UserError, match="neither"):
        device.load_frontend(write_json(tmp_path / "x.json", {"n_fft": 512}))
    with pytest.raises(UserError, match="cannot read"):
        device.load_frontend(tmp_path / "missing.json")


def test_input_shape_must_be_what_the_front_end_makes() -> None:
    device.check_input_shape(LogMelConfig(), (32, 40))
    with pytest.raises(UserError, match=r"\[16, 48\] but the model takes \[32, 40\]"):
        device.check_input_shape(HashEmbeddingConfig(), (32, 40))


def test_raw_dataset_is_checked(tmp_path: Path) -> None:
    text_cfg = HashEmbeddingConfig()
    path = tmp_path / "t.npz"
    np.savez(path, text=np.array(["Turn on the lights", "ÄÖÜ"]), y=np.array([1, 2]))
    raw, y = device.load_raw_dataset(path, text_cfg)
    assert raw == [b"Turn on the lights", "ÄÖÜ".encode()]
    assert y.tolist() == [1, 2]
    with pytest.raises(UserError, match="audio"):
        device.load_raw_dataset(path, LogMelConfig())
    np.savez(path, audio=np.zeros((2, 100), np.float32), y=np.array([1, 2]))
    with pytest.raises(UserError, match="int16"):
        device.load_raw_dataset(path, LogMelConfig())
    np.savez(path, audio=np.zeros((2, 100), np.int16), y=np.array([1]))
    with pytest.raises(UserError, match="one per"):
        device.load_raw_dataset(path, LogMelConfig())
    raw, _ = device.load_raw_dataset(path.with_name("t.npz"), LogMelConfig(), limit=1)
    assert raw == [b"\0" * 200]


def edgetx(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "edgetx", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def pcm_clips(n: int) -> np.ndarray:
    """Tones in noise at levels from near-silence to full scale, one of them short."""
    rng = np.random.default_rng(3)
    t = np.arange(16000) / 16000
    clips = [
        10 ** rng.uniform(-4, -0.1) * 32767 * np.sin(2 * np.pi * rng.uniform(80, 7000) * t)
        + rng.standard_normal(t.size) * 10 ** rng.uniform(0, 3)
        for _ in range(n)
    ]
    clips = np.clip(np.round(clips), -32768, 32767).astype(np.int16)
    clips[1, 9000:] = 0  # as the device sees a short clip
    return clips


@pytest.fixture(scope="module")
def audio_firmware(converted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("raw-audio")
    frontend = write_json(work / "frontend.json", LogMelConfig().to_dict())
    fw = work / "fw"
    r = edgetx(
        "build", str(converted / "model"), "--board", "qemu-mps2-an386", "--out", str(fw),
        "--frontend", str(frontend),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return fw


@pytest.mark.qemu
def test_audio_firmware_fits_and_agrees_from_raw_pcm(audio_firmware: Path, tmp_path: Path) -> None:
    info = json.loads((audio_firmware / "build.json").read_text())
    assert info["flash_bytes"] <= AUDIO_FLASH
    assert info["ram_bytes"] <= AUDIO_RAM
    dataset = tmp_path / "raw.npz"
    np.savez(dataset, audio=pcm_clips(6), y=np.arange(6) % 3)
    r = edgetx(
        "hil", str(audio_firmware), "--board", "qemu-mps2-an386", "--dataset", str(dataset),
        "--raw", "--report", str(tmp_path / "hil"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "hil" / "report.json").read_text())
    assert report["completed"] == 6
    assert report["agreement_with_host"] == 1.0


@pytest.mark.qemu
def test_device_rejects_bad_raw_input(audio_firmware: Path, converted: Path) -> None:
    from edgetx.boards import load_board
    from edgetx.flash import QemuRunner
    from edgetx.link import DeviceReportedError, Link

    with (
        QemuRunner.from_board(load_board("qemu-mps2-an386")) as runner,
        Link.open(runner.start(audio_firmware / "firmware.elf")) as link,
    ):
        link.sync()
        with pytest.raises(DeviceReportedError, match=r"raw \(error code 6\)"):
            link.run_raw(b"\x01\x02\x03")  # an odd number of PCM bytes
        clip = device.raw_bytes(LogMelConfig(), pcm_clips(2)[0])
        first = link.run_raw(clip)
        assert link.run_raw(clip).output == first.output  # the device starts afresh each time
        assert first.frontend_ticks > 0


@pytest.mark.qemu
def test_hil_raw_needs_a_firmware_with_a_front_end(converted: Path, tmp_path: Path) -> None:
    fw = tmp_path / "fw"
    r = edgetx("build", str(converted / "model"), "--board", "qemu-mps2-an386", "--out", str(fw))
    assert r.returncode == 0, r.stderr
    np.savez(tmp_path / "raw.npz", audio=pcm_clips(2)[:1], y=np.zeros(1, np.int64))
    r = edgetx(
        "hil", str(fw), "--board", "qemu-mps2-an386", "--dataset", str(tmp_path / "raw.npz"),
        "--raw", "--report", str(tmp_path / "hil"),
    )  # fmt: skip
    assert r.returncode == 2
    assert "--frontend" in r.stderr
