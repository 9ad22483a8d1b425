"""The whole path on an emulated Cortex-M4: convert -> build -> QEMU HIL over pyserial."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.qemu


def edgetx(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "edgetx", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def firmware(converted: Path) -> Path:
    fw = converted / "fw"
    r = edgetx("build", str(converted / "model"), "--board", "qemu-mps2-an386", "--out", str(fw))
    assert r.returncode == 0, r.stderr
    return fw


def test_build_writes_firmware_and_build_info(firmware: Path) -> None:
    info = json.loads((firmware / "build.json").read_text())
    assert (firmware / "firmware.elf").is_file()
    assert info["board"] == "qemu-mps2-an386" and info["runtime"] == "aot"
    assert 0 < info["flash_bytes"] < 64 * 1024
    assert info["arena_bytes"] <= info["ram_bytes"]


def test_hil_on_qemu_agrees_with_tflm(converted: Path, firmware: Path, tmp_path: Path) -> None:
    report_dir = tmp_path / "hil"
    r = edgetx(
        "hil", str(firmware), "--board", "qemu-mps2-an386",
        "--dataset", str(converted / "eval.npz"), "--limit", "32", "--report", str(report_dir),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    report = json.loads((report_dir / "report.json").read_text())
    assert report["samples"] == 32
    assert report["agreement_with_host"] == 1.0
    assert report["mismatches"] == []
    assert report["latency"]["unit"] == "instructions"
    # -icount makes instruction counts identical run to run, and the model's work is
    # data-independent apart from softmax/mean details, so the spread is tiny.
    assert 0 < report["latency"]["p50"] <= report["latency"]["max"]
    assert report["latency"]["max"] < 1.01 * report["latency"]["p50"]
    assert (report_dir / "report.md").read_text().startswith("# HIL report")
    assert "agreement with host" in r.stdout


def test_flash_serves_a_console_that_hil_reaches_by_port(
    converted: Path, firmware: Path, tmp_path: Path
) -> None:
    cmd = [sys.executable, "-m", "edgetx", "flash", str(firmware), "--board", "qemu-mps2-an386"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as running:
        try:
            assert running.stdout is not None
            url = running.stdout.readline().split("console at ")[1].split()[0]
            assert url.startswith("socket://127.0.0.1:")
            r = edgetx(
                "hil", str(firmware), "--board", "qemu-mps2-an386", "--port", url,
                "--dataset", str(converted / "eval.npz"), "--limit", "8",
                "--report", str(tmp_path / "hil"),
            )  # fmt: skip
            assert r.returncode == 0, r.stderr
            report = json.loads((tmp_path / "hil" / "report.json").read_text())
            assert report["agreement_with_host"] == 1.0
            assert report["latency"]["unit"] == "cycles"  # a --port board is timed in cycles
        finally:
            running.terminate()
    assert running.returncode is not None
