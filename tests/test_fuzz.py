"""A short libFuzzer run of the device frame parser under ASan+UBSan (the 1M-run benchmark is
bench/fuzz_protocol.py), and proof that the harness catches a planted out-of-bounds read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "firmware_templates" / "cortex-m" / "src"

pytestmark = pytest.mark.skipif(
    shutil.which("clang-14") is None, reason="needs clang-14 and libclang-rt-14-dev"
)


def test_short_fuzz_run_finds_nothing(tmp_path: Path) -> None:
    out = tmp_path / "fuzz.json"
    cmd = [sys.executable, str(ROOT / "bench" / "fuzz_protocol.py"), "--runs", "100000"]
    r = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["executions"] >= 100_000
    assert result["crashes"] == 0
    assert result["edges_covered"] > 50  # the seeds carry it past COBS and CRC into frames


def test_harness_catches_a_receiver_that_trusts_a_short_frame(tmp_path: Path) -> None:
    # Without the length check, a frame shorter than its CRC makes the receiver read the CRC
    # from before its buffer: AddressSanitizer must report it within a short run.
    source = (SRC / "protocol.c").read_text()
    planted = source.replace("code == 0 && len < ETX_OVERHEAD", "code == 0 && len < 1")
    assert planted != source
    (tmp_path / "protocol.c").write_text(planted)
    shutil.copy(SRC / "protocol.h", tmp_path)
    fuzzer = tmp_path / "fuzz"
    subprocess.run(
        ["clang-14", "-g", "-O1", "-fsanitize=fuzzer,address,undefined", f"-I{tmp_path}",
         str(ROOT / "fuzz" / "protocol_fuzz.c"), str(tmp_path / "protocol.c"), "-o", str(fuzzer)],
        check=True,
    )  # fmt: skip
    r = subprocess.run(
        [str(fuzzer), "-runs=2000000", "-seed=1", f"-artifact_prefix={tmp_path}/"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode != 0
    assert "heap-buffer-overflow" in r.stderr
