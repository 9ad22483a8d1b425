# Two commands do everything on a fresh Debian 12 with Python 3.11:
#   make demo   keyword spotting from speech synthesis to measured on-device accuracy
#   make test   lint and the whole test suite
# Each installs what it lacks: Debian packages, a .venv, and the pinned Python set.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EDGETX := $(VENV)/bin/edgetx
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := make gcc g++ python3-venv gcc-arm-none-eabi libnewlib-arm-none-eabi \
	qemu-system-arm espeak-ng clang-14 libclang-rt-14-dev ser2net
BOARD := qemu-mps2-an386
KWS := build/audio_kws

.PHONY: demo eelbert test lint system venv clean

system:
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
	  echo "installing Debian packages: $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
	    $(APT_PACKAGES); }

$(VENV)/.installed: requirements.txt pyproject.toml | system
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	$(VENV)/bin/pip check
	touch $@

venv: $(VENV)/.installed

$(KWS)/data/test.npz: | venv
	$(PY) examples/audio_kws/make_data.py --out $(KWS)/data

$(KWS)/weights.pt: $(KWS)/data/test.npz
	$(PY) examples/audio_kws/train.py --data $(KWS)/data --out $(KWS)

demo: $(KWS)/weights.pt
	$(EDGETX) convert examples/audio_kws/model.py:trained --calib $(KWS)/calib.npy \
	  --eval $(KWS)/eval.npz --out $(KWS)/model
	$(EDGETX) build $(KWS)/model --board $(BOARD) --out $(KWS)/fw
	$(EDGETX) hil $(KWS)/fw --board $(BOARD) --dataset $(KWS)/eval.npz --report $(KWS)/hil
	$(PY) examples/audio_kws/summary.py $(KWS)

# The EELBERT-style text example: intent classification from raw text on the emulated board.
EELBERT := build/eelbert_intent

$(EELBERT)/weights.pt: | venv
	$(PY) examples/eelbert_intent/make_data.py --out $(EELBERT)/data
	$(PY) examples/eelbert_intent/train.py --data $(EELBERT)/data --out $(EELBERT)

eelbert: $(EELBERT)/weights.pt
	$(EDGETX) convert examples/eelbert_intent/model.py:trained --calib $(EELBERT)/calib.npy \
	  --eval $(EELBERT)/eval.npz --out $(EELBERT)/model
	$(EDGETX) build $(EELBERT)/model --board $(BOARD) --out $(EELBERT)/fw \
	  --frontend $(EELBERT)/frontend.json
	$(EDGETX) hil $(EELBERT)/fw --board $(BOARD) --dataset $(EELBERT)/eval.npz --raw \
	  --report $(EELBERT)/hil

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest

clean:
	rm -rf build
