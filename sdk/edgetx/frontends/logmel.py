"""Log-mel spectrogram front end: one config drives training features and the device port.

librosa is imported inside `logmel` so that importing this module (e.g. to read a
`frontend.json`) does not pull in librosa and its numba start-up cost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LogMelConfig:
    """Parameters of `logmel`; serialized to JSON as the single source of truth.

    Frames are taken with center=False (no edge padding, simplest to port to C):
    n_frames = 1 + (clip_samples - n_fft) // hop_length. With a 512-point FFT (power of two
    for the fixed-point FFT) and a 496-sample hop (31 ms), a 1 s clip at 16 kHz gives
    exactly 32 frames; the last 112 samples (7 ms) are not covered by any frame.
    """

    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 512
    hop_length: int = 496
    window: str = "hann"
    n_mels: int = 40
    fmin: float = 20.0
    fmax: float = 8000.0
    amin: float = 1e-10
    clip_samples: int = 16000

    @property
    def n_frames(self) -> int:
        return 1 + (self.clip_samples - self.n_fft) // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogMelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown LogMelConfig fields: {sorted(unknown)}")
        return cls(**data)


def logmel(audio: np.ndarray, cfg: LogMelConfig) -> np.ndarray:
    """Log-mel features `[n_frames, n_mels]` float32 (dB re 1.0) of one clip.

    `audio` is mono float in [-1, 1] or int16 PCM (scaled by 1/32768); it is zero-padded
    or trimmed at the end to `cfg.clip_samples`.
    """
    import librosa

    if audio.ndim != 1:
        raise ValueError(f"expected mono audio of shape [samples], got {audio.shape}")
    if audio.dtype == np.int16:
        samples = audio.astype(np.float32) / 32768.0
    else:
        samples = audio.astype(np.float32)
    samples = samples[: cfg.clip_samples]
    samples = np.pad(samples, (0, cfg.clip_samples - samples.size))
    mel_power = librosa.feature.melspectrogram(
        y=samples,
        sr=cfg.sample_rate,
        n_fft=cfg.n_fft,
        win_length=cfg.win_length,
        hop_length=cfg.hop_length,
        window=cfg.window,
        center=False,
        power=2.0,
        n_mels=cfg.n_mels,
        fmin=cfg.fmin,
        fmax=cfg.fmax,
    )
    mel_db = librosa.power_to_db(mel_power, ref=1.0, amin=cfg.amin, top_db=None)
    return np.ascontiguousarray(mel_db.T, dtype=np.float32)
