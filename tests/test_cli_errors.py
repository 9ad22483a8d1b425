"""Bad input gets one line naming the problem and the fix, exit code 2, and no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FIXTURES, TINY_MODEL


def edgetx(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "edgetx", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)


def assert_user_error(r: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("edgetx ")]
    assert len(lines) == 1, r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def calib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("calib") / "calib.npy"
    np.save(path, np.zeros((4, 32, 40), np.float32))
    return path


def test_missing_model_file(tmp_path: Path, calib: Path) -> None:
    r = edgetx("convert", "nowhere/model.py:build", "--calib", str(calib), "--out", str(tmp_path))
    assert_user_error(r, "nowhere/model.py")


def test_factory_that_returns_no_module(tmp_path: Path, calib: Path) -> None:
    model = tmp_path / "factory.py"
    model.write_text("def build():\n    return 42\n")
    out = tmp_path / "out"
    r = edgetx("convert", f"{model}:build", "--calib", str(calib), "--out", str(out))
    assert_user_error(r, "build", "nn.Module")
    assert not out.exists()


def test_calibration_data_of_the_wrong_shape(tmp_path: Path) -> None:
    bad = tmp_path / "calib.npy"
    np.save(bad, np.zeros((4, 7, 3), np.float32))
    out = tmp_path / "out"
    r = edgetx("convert", TINY_MODEL, "--calib", str(bad), "--out", str(out))
    assert_user_error(r, "shape")
    assert not out.exists()


def test_unknown_board(tmp_path: Path) -> None:
    r = edgetx("build", str(tmp_path), "--board", "esp99-nonexistent")
    assert_user_error(r, "unknown board 'esp99-nonexistent'", "edgetx boards")


def test_missing_toolchain(converted: Path, tmp_path: Path) -> None:
    # A PATH with make but without arm-none-eabi-gcc.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "make").symlink_to(shutil.which("make"))
    env = {**os.environ, "PATH": str(bin_dir)}
    out = tmp_path / "fw"
    r = edgetx(
        "build", str(converted / "model"), "--board", "qemu-mps2-an386", "--out", str(out), env=env
    )
    assert_user_error(r, "arm-none-eabi-gcc", "apt-get install")
    assert not out.exists()


def test_missing_converted_model(tmp_path: Path) -> None:
    r = edgetx("build", str(tmp_path), "--board", "qemu-mps2-an386")
    assert_user_error(r, "model.tflite", "edgetx convert")


def test_fixtures_exist() -> None:
    assert (FIXTURES / "models" / "tiny_audio.py").is_file()
