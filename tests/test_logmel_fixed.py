"""The fixed-point log-mel: C (host-compiled) == numpy model bit for bit, and close to librosa."""

import io
import shutil
import subprocess
import wave
from pathlib import Path

import librosa
import numpy as np
import pytest

from edgetx.frontends import logmel_fixed as lf
from edgetx.frontends.logmel import LogMelConfig, logmel
from edgetx.quant import quantize
from tests.frontend_stream import build_stream, run_stream

FRONTENDS_C = Path(lf.__file__).parents[1] / "codegen" / "frontends"
CFG = LogMelConfig()
SCALE, ZERO_POINT = 0.4058, 80  # min/max calibration of the audio_kws features gives these

HOST_MAIN = r"""
#include <stdio.h>
#include "edgetx_logmel.h"

/* stdin: int16 clips of CLIP_SAMPLES; stdout per clip: int32 log2 [N_FRAMES][N_MELS] from
 * edgetx_logmel_frame_log2, then int8 [N_FRAMES][N_MELS] from edgetx_logmel_clip. */
int main(void) {
    static int16_t pcm[EDGETX_LOGMEL_CLIP_SAMPLES];
    static int8_t q[EDGETX_LOGMEL_N_FRAMES * EDGETX_LOGMEL_N_MELS];
    int16_t frame[EDGETX_LOGMEL_N_FFT];
    int32_t l2[EDGETX_LOGMEL_N_MELS];
    while (fread(pcm, sizeof pcm, 1, stdin) == 1) {
        for (int f = 0; f < EDGETX_LOGMEL_N_FRAMES; f++) {
            for (int i = 0; i < EDGETX_LOGMEL_N_FFT; i++) {
                int at = f * EDGETX_LOGMEL_HOP + i;
                frame[i] = at < EDGETX_LOGMEL_CLIP_SAMPLES ? pcm[at] : 0;
            }
            edgetx_logmel_frame_log2(frame, l2);
            fwrite(l2, sizeof l2, 1, stdout);
        }
        edgetx_logmel_clip(pcm, EDGETX_LOGMEL_CLIP_SAMPLES, q);
        fwrite(q, sizeof q, 1, stdout);
    }
    return 0;
}
"""


@pytest.fixture(scope="module", params=["c", "c++"])
def host_logmel(request, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(f"logmel-{request.param}")
    lf.write_logmel_c(CFG, SCALE, ZERO_POINT, out)
    (out / "main.c").write_text(HOST_MAIN)
    compiler = ["g++", "-x", "c++"] if request.param == "c++" else ["gcc", "-std=c99"]
    sources = [FRONTENDS_C / "edgetx_logmel.c", out / "edgetx_logmel_tables.c", out / "main.c"]
    cmd = [*compiler, "-Wall", "-Wextra", "-Werror", "-O2", f"-I{out}", f"-I{FRONTENDS_C}"]
    subprocess.run([*cmd, *map(str, sources), "-o", str(out / "logmel")], check=True)
    return out / "logmel"


def run_c(exe: Path, clips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    stdout = subprocess.run(
        [str(exe)], input=clips.astype(np.int16).tobytes(), capture_output=True, check=True
    ).stdout
    cells = CFG.n_frames * CFG.n_mels
    record = np.frombuffer(stdout, np.uint8).reshape(len(clips), cells * 5)
    l2 = record[:, : cells * 4].copy().view(np.int32).reshape(-1, CFG.n_frames, CFG.n_mels)
    q = record[:, cells * 4 :].copy().view(np.int8).reshape(-1, CFG.n_frames, CFG.n_mels)
    return l2, q


def synthetic_clips() -> np.ndarray:
    """Edge cases for the integer ranges: silence, full-scale extremes, tones, noise, clicks."""
    rng = np.random.default_rng(1)
    n, t = CFG.clip_samples, np.arange(CFG.clip_samples) / CFG.sample_rate
    clips = [
        np.zeros(n),
        np.full(n, -32768.0),
        np.where(np.sin(2 * np.pi * 31.25 * t) >= 0, 32767.0, -32768.0),  # full-scale square
        32767 * np.sin(2 * np.pi * 62.5 * t),  # full-scale sine in the lowest mel filters
        32767 * np.sin(2 * np.pi * (100 + 3900 * t) * t),  # chirp up to 7.9 kHz
        rng.integers(-32768, 32768, n),  # full-range white noise
        np.where(np.arange(n) % 997 == 0, 30000.0, 0.0),  # clicks
        np.round(rng.standard_normal(n) * 0.7),  # a few LSB, near the floor
    ]
    for level_db in (-80, -60, -40, -20):
        clips.append(rng.standard_normal(n) * 32768 * 10 ** (level_db / 20))
    return np.clip(np.round(np.stack(clips)), -32768, 32767).astype(np.int16)


def speech_clips(count: int) -> np.ndarray:
    """espeak-ng words placed in noise at 5-30 dB SNR, as examples/audio_kws renders them."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing; install it (make system installs it)")
    rng = np.random.default_rng(2)
    words = ["yes", "no", "left", "right", "stop", "go", "house", "seven", "marvin", "zero"]
    clips = []
    for i in range(count):
        cmd = ["espeak-ng", "-v", ["en-us", "en-gb"][i % 2], "-p", str(20 + 6 * i), "--stdout"]
        wav_bytes = subprocess.run([*cmd, words[i % len(words)]], check=True, capture_output=True)
        with wave.open(io.BytesIO(wav_bytes.stdout)) as wav:
            rate = wav.getframerate()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
        speech = librosa.resample(pcm / 32768.0, orig_sr=rate, target_sr=CFG.sample_rate)
        speech = speech[: CFG.clip_samples]
        speech_db = rng.uniform(-35, -12)
        clip = np.zeros(CFG.clip_samples)
        start = rng.integers(0, CFG.clip_samples - speech.size + 1)
        clip[start : start + speech.size] = speech * 10 ** (speech_db / 20) / speech.std()
        clip += rng.standard_normal(clip.size) * 10 ** ((speech_db - rng.uniform(5, 30)) / 20)
        clips.append(np.clip(np.round(clip * 32768), -32768, 32767))
    return np.stack(clips).astype(np.int16)


def test_c_equals_numpy_bit_for_bit(host_logmel: Path) -> None:
    clips = np.concatenate([synthetic_clips(), speech_clips(4)])
    c_log2, c_int8 = run_c(host_logmel, clips)
    tables = lf.make_tables(CFG)
    py_log2 = np.stack([lf.logmel_log2(clip, CFG, tables) for clip in clips])
    np.testing.assert_array_equal(c_log2, py_log2)
    np.testing.assert_array_equal(c_int8, lf.quantize_log2(py_log2, SCALE, ZERO_POINT))
    np.testing.assert_array_equal(c_int8[5], lf.logmel_fixed(clips[5], CFG, SCALE, ZERO_POINT))


def test_close_to_librosa_in_db_and_in_int8_steps() -> None:
    clips = np.concatenate([speech_clips(12), synthetic_clips()[[0, 5, 7, 8, 9]]])
    tables = lf.make_tables(CFG)
    fixed_l2 = np.stack([lf.logmel_log2(clip, CFG, tables) for clip in clips])
    reference = np.stack([logmel(clip, CFG) for clip in clips])
    error_db = np.abs(lf.log2_to_db(fixed_l2) - reference)
    assert error_db.mean() <= 0.5, error_db.mean()
    steps = np.abs(
        lf.quantize_log2(fixed_l2, SCALE, ZERO_POINT).astype(int)
        - quantize(reference, SCALE, ZERO_POINT)
    )
    assert (steps <= 1).mean() >= 0.99, (steps <= 1).mean()


def test_silence_is_the_floor_and_full_scale_does_not_wrap() -> None:
    clips = synthetic_clips()
    silence_db = lf.log2_to_db(lf.logmel_log2(clips[0], CFG))
    np.testing.assert_allclose(silence_db, 10 * np.log10(CFG.amin), atol=0.01)
    # A wrapped uint64 accumulator would read as a tiny power; full scale must read loud.
    loud_db = lf.log2_to_db(lf.logmel_log2(clips[3], CFG))
    np.testing.assert_allclose(loud_db.max(), logmel(clips[3], CFG).max(), atol=0.1)


def test_short_and_long_clips_are_padded_and_trimmed() -> None:
    pcm = synthetic_clips()[5]
    padded = np.concatenate([pcm[:7000], np.zeros(CFG.clip_samples - 7000, np.int16)])
    np.testing.assert_array_equal(lf.logmel_log2(pcm[:7000], CFG), lf.logmel_log2(padded, CFG))
    longer = np.concatenate([pcm, pcm[:900]])
    np.testing.assert_array_equal(lf.logmel_log2(longer, CFG), lf.logmel_log2(pcm, CFG))


def test_unsupported_configs_and_scales_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="power of two"):
        lf.make_tables(LogMelConfig(n_fft=400, win_length=400))
    with pytest.raises(ValueError, match="hann"):
        lf.make_tables(LogMelConfig(window="hamming"))
    with pytest.raises(ValueError, match="scale"):
        lf.quant_multiplier(1e-6)
    with pytest.raises(ValueError, match="zero point"):
        lf.write_logmel_c(CFG, SCALE, 200, tmp_path)
    with pytest.raises(ValueError, match="int16"):
        lf.logmel_log2(np.zeros(100, np.float32), CFG)


def test_streaming_front_end_equals_the_whole_clip(tmp_path: Path) -> None:
    from edgetx.frontends import device

    device.write_c(CFG, SCALE, ZERO_POINT, tmp_path)
    input_bytes = CFG.n_frames * CFG.n_mels
    binary = build_stream(tmp_path, input_bytes)
    clips = synthetic_clips()[[4, 5, 9]]
    cases = [
        (clips[0], [992]),  # exactly two hops per chunk
        (clips[1], [2, 510, 1000, 7]),  # odd sizes in samples, cycled
        (clips[2][:9000], [4096]),  # short clip: zero-padded on the device
        (np.concatenate([clips[0], clips[1][:3000]]), [6000]),  # long clip: trimmed
    ]
    inputs = []
    for clip, sizes in cases:
        raw, at, chunks = device.raw_bytes(CFG, clip), 0, []
        while at < len(raw):
            size = 2 * sizes[len(chunks) % len(sizes)]
            chunks.append(raw[at : at + size])
            at += size
        inputs.append(chunks)
    records = run_stream(binary, [*inputs, [b"abc"]], input_bytes)  # odd byte count last
    for (clip, _), (rc, data) in zip(cases, records[:-1], strict=True):
        assert rc == 0
        got = np.frombuffer(data, np.int8).reshape(CFG.n_frames, CFG.n_mels)
        expected = device.host_input(CFG, device.raw_bytes(CFG, clip), SCALE, ZERO_POINT)
        np.testing.assert_array_equal(got, expected)
    assert records[-1][0] == -1
