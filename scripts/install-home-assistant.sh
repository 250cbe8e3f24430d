#!/usr/bin/env bash
# Installs real Home Assistant Core into .ha-venv/ for the end-to-end tests (tests/plugins/ha_core.py).
#
# Why a venv of its own: Home Assistant pins hundreds of packages (its own package_constraints.txt),
# several of them differently from the hub (wyoming, hassil, home-assistant-intents), so it can never
# share .venv. Why these versions: 2025.4.4 is the newest release whose requires-python accepts the
# machines' CPython 3.13.0 (docs/pins.md). The Wyoming/Assist integrations' requirements and the frontend
# are installed here, because Home Assistant would otherwise fetch them from PyPI at every first start.
#
# Idempotent: a stamp inside the venv, named after everything installed, makes a second run take
# seconds. Usage: scripts/install-home-assistant.sh [VENV_DIR]   (default .ha-venv)
set -euo pipefail

HA_VERSION=2025.4.4
VENV=${1:-.ha-venv}
# The integrations' requirements as Home Assistant 2025.4.4's manifests name them (wyoming, assist_pipeline,
# conversation, tts, stt, ffmpeg, http's image handling); the frontend version comes from the constraints.
INTEGRATION_REQUIREMENTS=(
  "wyoming==1.5.4" "hassil==2.2.3" "home-assistant-intents==2025.3.28" "Pillow==11.1.0"
  "pymicro-vad==1.0.1" "pyspeex-noise==1.0.2" "mutagen==1.47.0" "ha-ffmpeg==3.2.2"
)
STAMP="$VENV/.voxhub-ha-$HA_VERSION-$(printf '%s\n' "${INTEGRATION_REQUIREMENTS[@]}" | sha256sum | cut -c1-12)"

if [ -f "$STAMP" ] && [ -x "$VENV/bin/hass" ]; then
  echo "Home Assistant Core $HA_VERSION already installed in $VENV"
  exit 0
fi

# python3.13 as the machine carries it; the pyenv shim may point elsewhere, so prefer the real binary.
PYTHON=${HA_PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in /root/.pyenv/versions/3.13.*/bin/python3.13 "$(command -v python3.13 || true)"; do
    if [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
      PYTHON=$candidate
      break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "error: Home Assistant Core $HA_VERSION needs CPython 3.13 (python3.13 not found; set HA_PYTHON)" >&2
  exit 1
fi

echo "installing Home Assistant Core $HA_VERSION into $VENV with $PYTHON"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip

# The wheel carries Home Assistant's own pins; without them pip backtracks for a very long time.
WHEELS=$(mktemp -d)
trap 'rm -rf "$WHEELS"' EXIT
"${PIP[@]}" download --no-deps -d "$WHEELS" "homeassistant==$HA_VERSION"
CONSTRAINTS="$WHEELS/package_constraints.txt"
"$VENV/bin/python" - "$WHEELS"/homeassistant-"$HA_VERSION"-*.whl "$CONSTRAINTS" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    data = wheel.read("homeassistant/package_constraints.txt")
open(sys.argv[2], "wb").write(data)
EOF
FRONTEND=$(grep -E '^home-assistant-frontend==' "$CONSTRAINTS")

"${PIP[@]}" install -c "$CONSTRAINTS" "$WHEELS"/homeassistant-"$HA_VERSION"-*.whl \
  "${INTEGRATION_REQUIREMENTS[@]}" "$FRONTEND"

rm -f "$VENV"/.voxhub-ha-*
touch "$STAMP"
echo "Home Assistant Core $HA_VERSION installed in $VENV"
