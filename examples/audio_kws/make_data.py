"""Synthesize an offline keyword-spotting dataset with espeak-ng.

Every clip is 1 s at 16 kHz: one word spoken by an espeak-ng voice (accent + voice variant,
random pitch, speed and intonation) at a random offset, coloured by a random tilt and
sometimes a synthetic room, mixed with seeded noise at 5-30 dB SNR. "silence" clips are
noise only. The splits use disjoint voice variants (see VARIANTS_BY_SPLIT), so validation
and test speakers are never heard in training. Each clip has its own seed drawn from
--seed, so the output does not depend on --workers.

    python examples/audio_kws/make_data.py --out build/audio_kws/data
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetx.frontends.logmel import LogMelConfig, logmel

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "stop", "go")
# Other words, as in Speech Commands. No near-homophones of the keywords: espeak-ng says
# "know"/"no" and "write"/"right" identically, which would make the labels contradictory.
UNKNOWN_WORDS = (
    "bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine",
    "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "backward",
    "forward", "follow", "learn", "visual", "on", "off", "wait", "light", "cancel",
)  # fmt: skip
CLASSES = (*KEYWORDS, "unknown", "silence")

# espeak-ng English accents; every split uses all of them.
ACCENTS = (
    "en-us", "en-us-nyc", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
    "en-gb-x-gbcwmd", "en-029",
)  # fmt: skip
# Voice variants (timbre, breathiness, formants) from `espeak-ng --voices=variant`, split
# disjointly; a voice identity is accent+variant. Families of near-identical variants
# (klatt* and caleb, robosoft*, iven*, steph*, ...) stay within one split.
VARIANTS_BY_SPLIT = {
    "val": (
        "f4", "m5", "Alicia", "Denis", "Jacky", "max", "Michael", "quincy", "shelby", "zac",
        "Gene", "Gene2", "grandma",
    ),
    "test": (
        "f2", "m3", "m6", "Andy", "Annie", "belinda", "Diogo", "john", "Lee", "pablo", "travis",
        "norbert", "whisperf", "steph", "steph2", "steph3",
    ),
    "train": (
        "f1", "f3", "f5", "m1", "m2", "m4", "m7", "m8", "adam", "Alex", "Andrea", "anika",
        "anikaRobot", "AnxiousAndy", "antonio", "aunty", "benjamin", "boris", "caleb", "croak",
        "david", "Demonic", "ed", "edward", "edward2", "fast", "gustave", "grandpa", "Henrique",
        "Hugo", "iven", "iven2", "iven3", "iven4", "kaukovalta", "klatt", "klatt2", "klatt3",
        "klatt4", "klatt5", "klatt6", "linda", "marcelo", "Marco", "Mario", "michel", "miguel",
        "Mike", "Nguyen", "paul", "pedro", "RicishayMax", "RicishayMax2", "RicishayMax3", "rob",
        "robert", "robosoft", "robosoft2", "robosoft3", "robosoft4", "robosoft5", "robosoft6",
        "robosoft7", "robosoft8", "sandro", "Storm", "Tweaky", "UniRobot", "victor", "whisper",
        "announcer",
    ),
}  # fmt: skip
SPLITS = ("train", "val", "test")

FRONTEND = LogMelConfig()
SR = FRONTEND.sample_rate
CLIP = FRONTEND.clip_samples


@dataclass(frozen=True)
class ClipSpec:
    label: int
    word: str  # empty for silence
    voice: str  # accent+variant; for silence, the split voice the clip is filed under
    seed: int


def voices(split: str) -> list[str]:
    return [f"{accent}+{variant}" for variant in VARIANTS_BY_SPLIT[split] for accent in ACCENTS]


def plan_split(split: str, per_class: int, rng: np.random.Generator) -> list[ClipSpec]:
    split_voices = voices(split)
    specs = []
    for label, name in enumerate(CLASSES):
        # Cycle through a shuffled voice list so every voice is used about equally.
        order = rng.permutation(len(split_voices))
        for i in range(per_class):
            if name == "unknown":
                word = str(rng.choice(UNKNOWN_WORDS))
            elif name == "silence":
                word = ""
            else:
                word = name
            voice = split_voices[order[i % len(order)]]
            specs.append(ClipSpec(label, word, voice, int(rng.integers(2**63))))
    return specs


def speak(word: str, voice: str, rng: np.random.Generator) -> np.ndarray:
    """The word as float32 audio at SR, leading and trailing silence trimmed."""
    import librosa

    text = word + str(rng.choice(["", ".", "!", "?"]))  # varies the intonation contour
    pitch, speed = rng.integers(15, 86), rng.integers(120, 231)  # espeak: 0-99, words/min
    cmd = ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text]
    wav_bytes = subprocess.run(cmd, check=True, capture_output=True).stdout
    # espeak streams a WAV whose header sizes are placeholders; wave reads what is there.
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    audio = librosa.resample(pcm.astype(np.float32) / 32768.0, orig_sr=rate, target_sr=SR)
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    return audio[loud[0] : loud[-1] + 1]


def colour(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random spectral tilt (microphone/channel) and, for some clips, a synthetic room."""
    tilt = rng.uniform(-0.8, 0.8)
    audio = audio - tilt * np.concatenate([[0.0], audio[:-1]])
    if rng.random() < 0.3:
        rt60 = rng.uniform(0.1, 0.6)
        t = np.arange(int(0.4 * SR)) / SR
        rir = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60)
        rir[0] = 1.0 / rng.uniform(0.1, 0.5)  # direct path, louder than the tail
        size = audio.size + rir.size - 1
        wet = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(rir, size), size)
        audio = wet[: audio.size + SR // 10]  # keep the word's placement freedom in 1 s
    return audio


def noise(rng: np.random.Generator) -> np.ndarray:
    """One clip of unit-RMS noise: white, pink, brown or mains hum (with some hiss)."""
    kind = rng.choice(["white", "pink", "brown", "hum"])
    white = rng.standard_normal(CLIP)
    if kind == "white":
        sound = white
    elif kind in ("pink", "brown"):
        spectrum = np.fft.rfft(white)
        freqs = np.maximum(np.fft.rfftfreq(CLIP, 1 / SR), 20.0)
        spectrum /= freqs ** (0.5 if kind == "pink" else 1.0)
        sound = np.fft.irfft(spectrum, CLIP)
    else:
        t = np.arange(CLIP) / SR
        mains = rng.choice([50.0, 60.0])
        sound = sum(
            rng.uniform(0.1, 1.0) * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 2 * np.pi))
            for k in range(1, 6)
        )
        sound = sound / np.sqrt(np.mean(sound**2)) + 0.1 * white
    return sound / np.sqrt(np.mean(sound**2))


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def render(spec: ClipSpec) -> tuple[np.ndarray, np.ndarray]:
    """(int16 PCM [CLIP], log-mel features [n_frames, n_mels]) of one clip."""
    rng = np.random.default_rng(spec.seed)
    clip = np.zeros(CLIP)
    if spec.word:
        speech = colour(speak(spec.word, spec.voice, rng), rng)[:CLIP]
        speech_rms_db = rng.uniform(-35.0, -12.0)
        speech *= db_to_gain(speech_rms_db) / np.sqrt(np.mean(speech**2))
        start = rng.integers(0, CLIP - speech.size + 1)
        clip[start : start + speech.size] = speech
        noise_db = speech_rms_db - rng.uniform(5.0, 30.0)
    else:
        noise_db = rng.uniform(-70.0, -25.0)
    clip += db_to_gain(noise_db) * noise(rng)
    pcm = np.round(np.clip(clip, -1.0, 32767 / 32768) * 32768).astype(np.int16)
    return pcm, logmel(pcm, FRONTEND)


def render_split(specs: list[ClipSpec], pool: multiprocessing.pool.Pool) -> dict[str, np.ndarray]:
    rendered = pool.map(render, specs, chunksize=16)
    return {
        "x": np.stack([features for _, features in rendered]),
        "y": np.array([spec.label for spec in specs], dtype=np.int64),
        "audio": np.stack([pcm for pcm, _ in rendered]),
        "voice": np.array([spec.voice for spec in specs]),
    }


def make_dataset(out: Path, per_class: int, eval_per_class: int, seed: int, workers: int) -> None:
    rng = np.random.default_rng(seed)
    counts = {"train": per_class, "val": eval_per_class, "test": eval_per_class}
    plans = {split: plan_split(split, counts[split], rng) for split in SPLITS}
    out.mkdir(parents=True, exist_ok=True)
    with multiprocessing.Pool(workers) as pool:
        for split in SPLITS:
            np.savez(out / f"{split}.npz", **render_split(plans[split], pool))
    (out / "classes.json").write_text(json.dumps(list(CLASSES), indent=2) + "\n")
    (out / "frontend.json").write_text(json.dumps(FRONTEND.to_dict(), indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/audio_kws/data"))
    parser.add_argument("--per-class", type=int, default=1000, help="train clips per class")
    parser.add_argument("--eval-per-class", type=int, default=150, help="val/test clips per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    make_dataset(args.out, args.per_class, args.eval_per_class, args.seed, args.workers)
    print(f"wrote {args.out} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
