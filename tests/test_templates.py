"""Firmware templates: STM32 register data in the rendered bare-metal project, the ESP-IDF
project's structure (built only when idf.py is on PATH), and the tflm runtime's generated app."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgetx.boards import load_board
from edgetx.codegen import render_project
from edgetx.codegen.aot import generate_aot
from edgetx.codegen.tflm import ARENA_MARGIN_MIN_BYTES, RESOLVER_METHODS, generate_tflm
from edgetx.tflite_model import load_model

ECHO_MODEL = Path(__file__).parent / "fixtures" / "echo_model"
TFLM_SET = bool(os.environ.get("TFLM_LIB") and os.environ.get("TFLM_INCLUDE"))


def defines(header: Path) -> dict[str, str]:
    return dict(re.findall(r"^#define EDGETX_(\w+) (.+)$", header.read_text(), re.M))


@pytest.mark.parametrize(
    ("board_id", "layout", "rcc", "clocks", "tx"),
    [
        ("nucleo-f446re", "1u", "0x40023800u", "clocks_stm32f4.c", ("0u", "2u")),
        ("nucleo-f746zg", "2u", "0x40023800u", "clocks_stm32f4.c", ("3u", "8u")),
        ("nucleo-h743zi2", "2u", "0x58024400u", "clocks_stm32h7.c", ("3u", "8u")),
        ("b-l475e-iot01a", "2u", "0x40021000u", "clocks_stm32l4.c", ("1u", "6u")),
        ("qemu-netduinoplus2", "1u", "0x40023800u", None, ("0u", "9u")),
    ],
)
def test_stm32_project_carries_the_family_registers(
    tmp_path: Path, board_id: str, layout: str, rcc: str, clocks: str | None, tx: tuple
) -> None:
    fw = render_project(load_board(board_id), ECHO_MODEL, tmp_path / "fw")
    d = defines(fw / "board_config.h")
    assert (d["USART_LAYOUT"], d["RCC_BASE"]) == (layout, rcc)
    assert (d["CONSOLE_TX_PORT"], d["CONSOLE_TX_PIN"]) == tx and d["CONSOLE_PIN_AF"] == "7u"
    config = (fw / "config.mk").read_text()
    assert "CONSOLE_DRIVER := stm32_usart" in config
    assert f"CLOCK_SRCS := {'src/' + clocks if clocks else ''}\n" in config
    assert d["HAS_CLOCKS"] == ("1u" if clocks else "0u")


def test_h743_clock_values(tmp_path: Path) -> None:
    d = defines(
        render_project(load_board("nucleo-h743zi2"), ECHO_MODEL, tmp_path / "f") / "board_config.h"
    )
    assert (d["PLL_M"], d["PLL_N"], d["PLL_SYSCLK_DIV"], d["CPU_HZ"]) == (
        "4u",
        "50u",
        "2u",
        "400000000u",
    )
    assert (d["HPRE"], d["PPRE1"], d["FLASH_WAIT_STATES"]) == ("8u", "4u", "2u")  # /2, /2


@pytest.fixture(scope="module")
def aot_code(converted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("aot")
    generate_aot(load_model(converted / "model" / "model.tflite"), out)
    return out


@pytest.fixture(scope="module")
def tflm_code(converted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tflm")
    model_dir = converted / "model"
    generate_tflm(load_model(model_dir / "model.tflite"), model_dir, out)
    return out


@pytest.mark.parametrize(
    ("board_id", "target", "flash_size"),
    [("esp32-devkitc", "esp32", "4MB"), ("esp32-s3-devkitc-1", "esp32s3", "8MB")],
)
@pytest.mark.parametrize("runtime", ["aot", "tflm"])
def test_esp_idf_project_structure(
    request: pytest.FixtureRequest, tmp_path: Path, board_id: str, target: str, flash_size: str,
    runtime: str,
) -> None:  # fmt: skip
    code = request.getfixturevalue(f"{runtime}_code")
    fw = render_project(load_board(board_id), code, tmp_path / "fw", runtime)
    top = (fw / "CMakeLists.txt").read_text()
    assert "include($ENV{IDF_PATH}/tools/cmake/project.cmake)" in top
    assert "project(edgetx_app)" in top
    main = fw / "main"
    register = (main / "CMakeLists.txt").read_text()
    assert (
        "idf_component_register(" in register
        and 'file(GLOB model_srcs "model/*.c" "model/*.cc")' in register
    )
    for name in re.search(r"SRCS (.*?) \$\{model_srcs\}", register).group(1).split():
        assert (main / name).is_file(), name
    for name in ("agent.c", "protocol.c", "protocol.h", "console.h", "ticks.h", "board_config.h"):
        assert (main / name).is_file(), name
    assert (main / "model" / "edgetx_model.h").is_file()
    component = (main / "idf_component.yml").read_text()
    assert ("espressif/esp-tflite-micro:" in component) == (runtime == "tflm")
    assert 'idf: ">=5.1"' in component
    sdkconfig = (fw / "sdkconfig.defaults").read_text()
    assert f'CONFIG_IDF_TARGET="{target}"' in sdkconfig
    assert f"CONFIG_ESPTOOLPY_FLASHSIZE_{flash_size}=y" in sdkconfig
    assert "CONFIG_ESP_CONSOLE_NONE=y" in sdkconfig  # UART0 carries the protocol
    d = defines(main / "board_config.h")
    assert d["BOARD_ID"] == f'"{board_id}"' and d["TICK_HZ"] == "240000000u"
    if shutil.which("idf.py"):
        from edgetx.codegen import build_firmware

        assert build_firmware(fw).is_file()


def test_tflm_app_has_the_models_operators_and_a_sized_arena(
    converted: Path, tflm_code: Path
) -> None:
    model = load_model(converted / "model" / "model.tflite")
    ops = sorted(model.op_counts())
    app = (tflm_code / "edgetx_model_tflm.cc").read_text()
    assert f"tflite::MicroMutableOpResolver<{len(ops)}> resolver;" in app
    assert re.findall(r"resolver\.(Add\w+)\(\);", app) == [RESOLVER_METHODS[op] for op in ops]
    assert "resolver.AddBatchMatMul();" in app  # BATCH_MATMUL, not a camel-cased guess
    measured = json.loads((converted / "model" / "report.json").read_text())["tflm_arena_bytes"]
    d = defines(tflm_code / "edgetx_model.h")
    arena = int(d["MODEL_ARENA_BYTES"])
    assert arena % 16 == 0 and arena >= measured + ARENA_MARGIN_MIN_BYTES
    assert d["MODEL_RUNTIME"] == '"tflm"'
    assert int(d["MODEL_INPUT_BYTES"]) == model.input.nbytes
    assert (tflm_code / "model_data.c").is_file() and (tflm_code / "model_data.h").is_file()


def edgetx(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "edgetx", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)


def test_tflm_without_a_library_says_what_to_set(converted: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TFLM_LIB", "TFLM_INCLUDE")}
    out = tmp_path / "fw"
    r = edgetx("build", str(converted / "model"), "--board", "nucleo-f446re", "--runtime", "tflm",
               "--out", str(out), env=env)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "TFLM_LIB and TFLM_INCLUDE not set" in r.stderr
    assert "libstdc++-arm-none-eabi-newlib" in r.stderr
    env |= {"TFLM_LIB": str(tmp_path / "missing.a"), "TFLM_INCLUDE": str(tmp_path)}
    r = edgetx("build", str(converted / "model"), "--board", "nucleo-f446re", "--runtime", "tflm",
               "--out", str(out), env=env)  # fmt: skip
    assert r.returncode == 2 and "missing.a is not a file" in r.stderr
    assert not out.exists()


def has_arm_libstdcxx() -> bool:
    if shutil.which("arm-none-eabi-g++") is None:
        return False
    cmd = ["arm-none-eabi-g++", "-print-file-name=libstdc++_nano.a"]
    return Path(subprocess.run(cmd, capture_output=True, text=True).stdout.strip()).is_absolute()


@pytest.mark.skipif(has_arm_libstdcxx(), reason="checks the diagnosis when libstdc++ is absent")
def test_tflm_without_libstdcxx_names_the_package(converted: Path, tmp_path: Path) -> None:
    headers = tmp_path / "tflm" / "tensorflow" / "lite" / "micro"
    headers.mkdir(parents=True)
    (headers / "micro_interpreter.h").write_text("")
    (tmp_path / "libtensorflow-microlite.a").write_bytes(b"!<arch>\n")
    env = os.environ | {
        "TFLM_LIB": str(tmp_path / "libtensorflow-microlite.a"),
        "TFLM_INCLUDE": str(tmp_path / "tflm"),
    }
    out = tmp_path / "fw"
    r = edgetx("build", str(converted / "model"), "--board", "nucleo-f446re", "--runtime", "tflm",
               "--out", str(out), env=env)  # fmt: skip
    assert r.returncode == 2 and "arm-none-eabi-g++ has no libstdc++" in r.stderr
    assert "apt-get install libstdc++-arm-none-eabi-newlib" in r.stderr and not out.exists()


@pytest.mark.skipif(shutil.which("idf.py") is not None, reason="checks the message when absent")
def test_esp32_build_without_esp_idf_names_it(converted: Path, tmp_path: Path) -> None:
    r = edgetx(
        "build", str(converted / "model"), "--board", "esp32-devkitc", "--out", str(tmp_path / "fw")
    )
    assert r.returncode == 2 and "'idf.py' not found; install ESP-IDF" in r.stderr
    assert not (tmp_path / "fw").exists()


@pytest.mark.qemu
@pytest.mark.skipif(not TFLM_SET, reason="needs a user-supplied TFLM_LIB and TFLM_INCLUDE")
@pytest.mark.parametrize("board_id", ["qemu-mps2-an386", "nucleo-f446re", "nucleo-h743zi2"])
def test_tflm_firmware_builds_with_the_users_library(
    converted: Path, tmp_path: Path, board_id: str
) -> None:
    r = edgetx("build", str(converted / "model"), "--board", board_id, "--runtime", "tflm",
               "--out", str(tmp_path / "fw"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "fw" / "firmware.elf").is_file()
