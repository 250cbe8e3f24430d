# The README's two commands: `make demo` (the main job) and `make test` (the suite).
# Both create .venv when missing, install what they need and prepare the model data, idempotently:
# stamps under .stamps/ make a second run quick.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMPS := .stamps
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages: espeak-ng (test voices), mosquitto (real broker in tests), alsa-utils (arecord/aplay),
# sox (audio checks), ffmpeg (Home Assistant's TTS format conversion in the tests).
DEB_PACKAGES := espeak-ng mosquitto alsa-utils sox ffmpeg

.PHONY: demo test bench lint prepare clean install system ha-core

demo: install prepare
	$(VENV)/bin/voxhub demo

test: install system prepare ha-core
	$(VENV)/bin/ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider --durations=15
	$(MAKE) --no-print-directory test-addon ADDON_OPTIONAL=1

bench: install system prepare
	$(PY) benchmarks/tts.py
	$(PY) benchmarks/understanding.py
	$(PY) benchmarks/e2e.py
	$(PY) benchmarks/satellite.py
	$(PY) benchmarks/answers.py

# Faults and time: satellites, a TTS client and an abusive client against a real hub and
# Mosquitto for SOAK_S seconds (default 600), with kill -9 of broker, satellite and hub; prints JSON.
SOAK_S ?= 600
.PHONY: soak
soak: install system prepare
	SOAK_S=$(SOAK_S) $(PY) benchmarks/soak.py

# ruff, and mypy on hub/, satellite/ and voxhub/ (pyproject.toml's [tool.mypy]).
lint: install
	$(VENV)/bin/ruff check .
	$(PY) -m mypy

install: $(STAMPS)/install

# The CPU hub, the satellite and the test tools. The gpu extra's code paths are tested on CPU with
# tiny models: torch is pinned to the CPU build that ships on these machines (docs/pins.md), and
# hexgrad's kokoro is installed without its deps, which would pull misaki[en]'s transformer models.
$(STAMPS)/install: pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[hub,satellite,dev]'
	$(PIP) install 'torch==2.13.0' 'transformers>=5.2,<6' 'mistral-common[audio]>=1.13,<2' loguru
	$(PIP) install --no-deps 'kokoro==0.9.4' 'kokoro-onnx==0.6.1'
	@mkdir -p $(STAMPS) && touch $@

system: $(STAMPS)/system

$(STAMPS)/system:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@mkdir -p $(STAMPS) && touch $@

prepare: install
	$(VENV)/bin/voxhub prepare

# The Home Assistant add-on image built from this checkout with no network (a wheelhouse and the
# prepared model data copied in, on a debootstrap stand-in for Home Assistant's base), and its
# test: the image started as the Supervisor starts an add-on (tests/addon/check_image.py). Both
# start Docker when it is installed but not running (as root), and install docker.io when it is
# missing. ADDON_OPTIONAL=1: where Docker cannot be had, say so and succeed. docs/release.md.
.PHONY: addon-image test-addon addon-folder
addon-image: install prepare
	scripts/addon/build-image.sh

# A local add-on of this checkout for a Home Assistant host (no prebuilt image needed): copy the
# folder it prints into the host's /addons share (addons/voxhub/DOCS.md, "As a local add-on").
addon-folder: install
	scripts/addon/local-addon.sh

test-addon: install prepare
	@if [ -n "$(ADDON_OPTIONAL)" ] && ! scripts/addon/docker-up.sh; then \
	  echo "test-addon: NOT RUN: no Docker on this machine, the add-on image was not tested"; \
	else \
	  scripts/addon/build-image.sh && \
	  $(PY) -m pytest -q -p no:cacheprovider tests/addon/check_image.py && \
	  cat build/addon/measurements.json; \
	fi

# Real Home Assistant Core for the end-to-end tests, in a venv of its own (docs/pins.md).
ha-core: $(STAMPS)/ha-core

$(STAMPS)/ha-core: scripts/install-home-assistant.sh
	scripts/install-home-assistant.sh .ha-venv
	@mkdir -p $(STAMPS) && touch $@

clean:
	rm -rf $(STAMPS) $(VENV)
