import json
import subprocess
import sys

import librosa
import numpy as np
import pytest

from edgetx.frontends.logmel import LogMelConfig, logmel


@pytest.fixture
def tone_in_noise() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def test_default_config_gives_32_by_40() -> None:
    cfg = LogMelConfig()
    assert (cfg.n_frames, cfg.n_mels) == (32, 40)


def test_matches_librosa(tone_in_noise: np.ndarray) -> None:
    cfg = LogMelConfig()
    mel = librosa.feature.melspectrogram(
        y=tone_in_noise,
        sr=16000,
        n_fft=cfg.n_fft,
        win_length=cfg.win_length,
        hop_length=cfg.hop_length,
        window="hann",
        center=False,
        n_mels=40,
        fmin=cfg.fmin,
        fmax=cfg.fmax,
    )
    expected = librosa.power_to_db(mel, ref=1.0, amin=cfg.amin, top_db=None).T

    features = logmel(tone_in_noise, cfg)

    assert features.shape == (32, 40)
    assert features.dtype == np.float32
    np.testing.assert_allclose(features, expected, atol=1e-4)


def test_int16_equals_scaled_float(tone_in_noise: np.ndarray) -> None:
    pcm = np.round(tone_in_noise * 32767).astype(np.int16)
    cfg = LogMelConfig()
    np.testing.assert_allclose(
        logmel(pcm, cfg), logmel(pcm.astype(np.float32) / 32768, cfg), atol=1e-5
    )


def test_pads_and_trims_to_clip_length(tone_in_noise: np.ndarray) -> None:
    cfg = LogMelConfig()
    padded = np.concatenate([tone_in_noise[:8000], np.zeros(8000, np.float32)])
    np.testing.assert_array_equal(logmel(tone_in_noise[:8000], cfg), logmel(padded, cfg))
    longer = np.concatenate([tone_in_noise, np.ones(500, np.float32)])
    np.testing.assert_array_equal(logmel(longer, cfg), logmel(tone_in_noise, cfg))


def test_silence_sits_at_the_floor() -> None:
    cfg = LogMelConfig()
    floor_db = 10 * np.log10(cfg.amin)
    np.testing.assert_allclose(logmel(np.zeros(16000, np.float32), cfg), floor_db)


def test_config_round_trips_through_json() -> None:
    cfg = LogMelConfig(n_mels=32, fmax=7600.0)
    assert LogMelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="center"):
        LogMelConfig.from_dict({**LogMelConfig().to_dict(), "center": True})


def test_import_does_not_load_librosa() -> None:
    code = "import sys, edgetx.frontends.logmel; assert 'librosa' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
