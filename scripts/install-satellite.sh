#!/usr/bin/env bash
# ==================================================================================================
# Install a voxhub satellite on a Raspberry Pi (Raspberry Pi OS Bookworm 64-bit; Pi Zero 2 W, 3, 4,
# 5) or any 64-bit Debian-like machine with a microphone and a speaker.
#
#   sudo scripts/install-satellite.sh                       # asks for what it needs
#   sudo scripts/install-satellite.sh --yes --area kitchen --hub tcp://homeassistant.local:10200
#
# What it does, each step idempotent (running it again updates the install):
#   1. apt: python3-venv and alsa-utils
#   2. a virtual environment in PREFIX with `voxhub[satellite]` (no torch, no onnxruntime)
#   3. helps pick the ALSA capture and playback devices (arecord -L / aplay -L) and records a few
#      seconds from the microphone to check it delivers sound
#   4. writes CONFIG_DIR/satellite.yaml (an earlier one is kept as satellite.yaml.bak)
#   5. writes voxhub-satellite.service from config/voxhub-satellite.service, enables and starts it
#
# Every path and command can be redirected (for tests, or packaging):
#   --prefix DIR / $PREFIX            the virtual environment      (/opt/voxhub-satellite)
#   --config-dir DIR / $CONFIG_DIR    satellite.yaml               (/etc/voxhub)
#   --state-dir DIR / $STATE_DIR      the MQTT outbox              (/var/lib/voxhub-satellite)
#   --systemd-dir DIR / $SYSTEMD_DIR  the unit file                (/etc/systemd/system)
#   $SYSTEMCTL, $PYTHON, $ARECORD, $APLAY                          (systemctl, python3, …)
# ==================================================================================================
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATE="${TEMPLATE:-${SCRIPT_DIR}/../config/voxhub-satellite.service}"
PREFIX="${PREFIX:-/opt/voxhub-satellite}"
CONFIG_DIR="${CONFIG_DIR:-/etc/voxhub}"
STATE_DIR="${STATE_DIR:-/var/lib/voxhub-satellite}"
SYSTEMD_DIR="${SYSTEMD_DIR:-/etc/systemd/system}"
SYSTEMCTL="${SYSTEMCTL:-systemctl}"
PYTHON="${PYTHON:-python3}"
ARECORD="${ARECORD:-arecord}"
APLAY="${APLAY:-aplay}"
PACKAGE="voxhub[satellite]"
SERVICE="voxhub-satellite.service"

NAME="$(hostname)"
AREA=""
HUB=""
MIC=""
SPEAKER=""
WAKE_WORD="okay_nabu"
MQTT=""
SERVICE_USER="${SUDO_USER:-$(id -un)}"
ASSUME_YES=0
APT=1
MIC_TEST=1
START=1
DRY_RUN=0
PIP_ARGS=()

usage() {
    cat <<'EOF'
Usage: install-satellite.sh [options]

  --name NAME          satellite name, shown in Home Assistant and MQTT topics (default: host name)
  --area AREA          room the satellite is in: the default area of its commands ("kitchen")
  --hub URI            hub endpoint, tcp://HOST:10200 (default: find the hub by zeroconf; give
                       tcp://homeassistant.local:10200 when the hub is the Home Assistant add-on)
  --mic DEVICE         ALSA capture device, e.g. plughw:CARD=seeed2micvoicec,DEV=0
  --speaker DEVICE     ALSA playback device, e.g. plughw:CARD=seeed2micvoicec,DEV=0
  --wake-word WORD     okay_nabu (default), hey_jarvis, hey_mycroft or alexa
  --mqtt URL           MQTT broker, mqtt://user:password@host:1883 (default: none)
  --user USER          user the service runs as (default: the user who ran sudo)
  --package SPEC       what pip installs (default: voxhub[satellite]; a checkout: /path/to/voxhub)
  --pip-arg ARG        extra argument for pip install (repeatable)
  --prefix DIR         virtual environment (default /opt/voxhub-satellite)
  --config-dir DIR     where satellite.yaml goes (default /etc/voxhub)
  --state-dir DIR      where the MQTT outbox is kept (default /var/lib/voxhub-satellite)
  --systemd-dir DIR    where the unit goes (default /etc/systemd/system)
  --yes                do not ask; take the options given and sensible defaults
  --no-apt             do not install Debian packages
  --skip-mic-test      do not record from the microphone
  --no-start           install and enable, but do not start the service now
  --dry-run            print the steps without changing anything
  -h, --help           this text
EOF
}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }
run() {
    if (( DRY_RUN )); then printf '    would run: %s\n' "$*" >&2; else "$@"; fi
}

while (( $# )); do
    case "$1" in
        --name) NAME="$2"; shift ;;
        --area) AREA="$2"; shift ;;
        --hub) HUB="$2"; shift ;;
        --mic) MIC="$2"; shift ;;
        --speaker) SPEAKER="$2"; shift ;;
        --wake-word) WAKE_WORD="$2"; shift ;;
        --mqtt) MQTT="$2"; shift ;;
        --user) SERVICE_USER="$2"; shift ;;
        --package) PACKAGE="$2"; shift ;;
        --pip-arg) PIP_ARGS+=("$2"); shift ;;
        --prefix) PREFIX="$2"; shift ;;
        --config-dir) CONFIG_DIR="$2"; shift ;;
        --state-dir) STATE_DIR="$2"; shift ;;
        --systemd-dir) SYSTEMD_DIR="$2"; shift ;;
        --yes|-y) ASSUME_YES=1 ;;
        --no-apt) APT=0 ;;
        --skip-mic-test) MIC_TEST=0 ;;
        --no-start) START=0 ;;
        --dry-run) DRY_RUN=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
done

[[ -f "$TEMPLATE" ]] || die "service template not found at $TEMPLATE (run this script from a voxhub checkout)"

validate() {
    case "$WAKE_WORD" in
        okay_nabu|hey_jarvis|hey_mycroft|alexa) ;;
        *) die "--wake-word: '$WAKE_WORD' is not a built-in wake word; allowed: okay_nabu, hey_jarvis, hey_mycroft, alexa" ;;
    esac
    if [[ -n "$HUB" && ! "$HUB" =~ ^tcp://[^:/]+:[0-9]+$ ]]; then
        die "--hub: '$HUB' is not tcp://HOST:PORT (e.g. tcp://homeassistant.local:10200)"
    fi
    if [[ -n "$MQTT" && ! "$MQTT" =~ ^mqtts?:// ]]; then
        die "--mqtt: '$MQTT' is not an mqtt:// or mqtts:// URL"
    fi
}

interactive() { (( ! ASSUME_YES )) && [[ -t 0 ]]; }

ask() {  # ask PROMPT DEFAULT -> answer on stdout
    local answer
    if interactive; then
        read -r -p "$1 [${2}]: " answer
        echo "${answer:-$2}"
    else
        echo "$2"
    fi
}

# --- 0. the machine ----------------------------------------------------------------------------
check_platform() {
    local arch; arch="$(uname -m)"
    if [[ "$arch" != "aarch64" && "$arch" != "x86_64" ]]; then
        die "this is a $arch system; voxhub satellites need a 64-bit OS (Raspberry Pi OS 64-bit): the wake word engine has no 32-bit build"
    fi
    if [[ -r /etc/os-release ]] && ! grep -qE '^VERSION_CODENAME=(bookworm|trixie)' /etc/os-release; then
        warn "tested on Raspberry Pi OS / Debian Bookworm; this system is $(. /etc/os-release; echo "${PRETTY_NAME:-unknown}")"
    fi
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$PYTHON is older than Python 3.11 (Bookworm ships 3.11)"
}

# --- 1. Debian packages ------------------------------------------------------------------------
install_packages() {
    (( APT )) || return 0
    command -v apt-get >/dev/null || { warn "no apt-get: install python3-venv and alsa-utils yourself"; return 0; }
    log "Installing python3-venv and alsa-utils"
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv alsa-utils
}

# --- 2. the virtual environment ----------------------------------------------------------------
install_venv() {
    if [[ -d "$PACKAGE" ]]; then  # a checkout: install it with the satellite's extra
        PACKAGE="$(cd "$PACKAGE" && pwd)[satellite]"
    fi
    log "Installing ${PACKAGE} into ${PREFIX}"
    if [[ ! -x "${PREFIX}/bin/python" ]]; then
        run "$PYTHON" -m venv "$PREFIX"
    fi
    run "${PREFIX}/bin/python" -m pip install --disable-pip-version-check -q --upgrade \
        ${PIP_ARGS[@]+"${PIP_ARGS[@]}"} "$PACKAGE"
}

# --- 3. audio devices --------------------------------------------------------------------------
# `arecord -L` lists one device name per unindented line; the plughw: entries convert rate and
# channels for us (a 2-mic HAT records stereo, the satellite wants 16 kHz mono).
list_devices() {  # list_devices arecord|aplay
    "$1" -L 2>/dev/null | grep -E '^[^[:space:]]' | grep -vE '^(null|pulse|pipewire|jack|oss|lavrate|samplerate|speex|upmix|vdownmix|usbstream:.*)$' || true
}

preferred_device() {  # the first plughw: device, a HAT or USB device before the Pi's own audio
    local devices=("$@") dev
    for dev in "${devices[@]}"; do
        [[ "$dev" == plughw:* && "$dev" != *CARD=vc4hdmi* && "$dev" != *CARD=Headphones* ]] && { echo "$dev"; return; }
    done
    for dev in "${devices[@]}"; do
        [[ "$dev" == plughw:* ]] && { echo "$dev"; return; }
    done
    for dev in "${devices[@]}"; do
        [[ "$dev" == default* ]] && { echo "$dev"; return; }
    done
    echo "default"
}

pick_device() {  # pick_device KIND TOOL CURRENT -> device on stdout
    local kind=$1 tool=$2 current=$3 devices=() choice i
    [[ -n "$current" ]] && { echo "$current"; return; }
    mapfile -t devices < <(list_devices "$tool")
    local fallback; fallback="$(preferred_device ${devices[@]+"${devices[@]}"})"
    if interactive && (( ${#devices[@]} )); then
        echo "$kind devices ($tool -L):" >&2
        for i in "${!devices[@]}"; do printf '  %2d) %s\n' "$((i + 1))" "${devices[$i]}" >&2; done
        choice="$(ask "Number or name of the $kind device" "$fallback")"
        if [[ "$choice" =~ ^[0-9]+$ ]] && (( choice >= 1 && choice <= ${#devices[@]} )); then
            choice="${devices[$((choice - 1))]}"
        fi
        echo "$choice"
    else
        echo "$fallback"
    fi
}

# Record a few seconds and report the peak level: a HAT without its driver, a muted capture
# control or the wrong card all show up here as silence, long before a wake word fails to fire.
test_mic() {
    (( MIC_TEST )) || return 0
    local wav seconds=3
    wav="$(mktemp --suffix=.wav)"
    if interactive; then
        echo "Say something for ${seconds} seconds after pressing Enter…" >&2
        read -r _
    fi
    log "Recording ${seconds} s from ${MIC}"
    if ! "$ARECORD" -q -D "$MIC" -r 16000 -c 1 -f S16_LE -d "$seconds" "$wav"; then
        rm -f "$wav"
        die "could not record from '${MIC}'; pick another device with --mic (see: $ARECORD -L)"
    fi
    local peak
    peak="$("$PYTHON" - "$wav" <<'PY'
import array, math, sys, wave
with wave.open(sys.argv[1]) as w:
    samples = array.array("h", w.readframes(w.getnframes()))
peak = max((abs(s) for s in samples), default=0)
print(f"{20 * math.log10(peak / 32768):.1f}" if peak else "silence")
PY
)"
    if [[ "$peak" == "silence" ]]; then
        warn "the microphone '${MIC}' delivered only silence: check the HAT's driver, the capture volume (alsamixer -c CARD) or pick another --mic"
    else
        log "Microphone works: peak level ${peak} dBFS"
        if (( $(printf '%.0f' "${peak}") < -40 )); then
            warn "that is quiet: raise the capture volume with alsamixer if the wake word is missed"
        elif (( $(printf '%.0f' "${peak}") > -1 )); then
            warn "the recording clips: lower the capture volume with alsamixer (clipped speech is recognized worse)"
        fi
        if interactive && [[ "$(ask "Play the recording back on ${SPEAKER}? (y/n)" "y")" == y* ]]; then
            "$APLAY" -q -D "$SPEAKER" "$wav" || warn "could not play on '${SPEAKER}'"
        fi
    fi
    rm -f "$wav"
}

# --- 4. the satellite's settings ---------------------------------------------------------------
yaml_string() {  # a double-quoted YAML scalar
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

write_config() {
    local config="${CONFIG_DIR}/satellite.yaml"
    log "Writing ${config}"
    if (( DRY_RUN )); then return 0; fi
    mkdir -p "$CONFIG_DIR" "$STATE_DIR"
    [[ -f "$config" ]] && cp -p "$config" "${config}.bak"
    {
        echo "# voxhub satellite settings, written by install-satellite.sh on $(date -I)."
        echo "# Every option: voxhub config-doc. Apply changes: sudo systemctl restart ${SERVICE}"
        echo "name: $(yaml_string "$NAME")"
        [[ -n "$AREA" ]] && echo "area: $(yaml_string "$AREA")"
        echo "state_dir: $(yaml_string "$STATE_DIR")"
        echo "hub:"
        if [[ -n "$HUB" ]]; then
            echo "  uri: $(yaml_string "$HUB")"
        else
            echo "  uri: null  # found by zeroconf (_wyoming._tcp.local.)"
        fi
        echo "mic:"
        echo "  command: $(yaml_string "${ARECORD} -q -D ${MIC} -r 16000 -c 1 -f S16_LE -t raw")"
        echo "snd:"
        echo "  command: $(yaml_string "${APLAY} -q -D ${SPEAKER} -r {rate} -c 1 -f S16_LE -t raw")"
        echo "wake:"
        echo "  words:"
        echo "    - model: ${WAKE_WORD}"
        if [[ -n "$MQTT" ]]; then
            echo "mqtt:"
            echo "  url: $(yaml_string "$MQTT")"
        fi
    } > "${config}.new"
    # The MQTT password may be in there: readable by root and the service user only.
    chmod 640 "${config}.new"
    mv "${config}.new" "$config"
    if [[ "$(id -u)" == 0 ]] && id "$SERVICE_USER" >/dev/null 2>&1; then
        chown "root:$(id -gn "$SERVICE_USER")" "$config"
        chown -R "$SERVICE_USER" "$STATE_DIR"
    fi
    # Validate with the satellite's own loader: a mistake fails here, not at boot.
    "${PREFIX}/bin/voxhub" satellite --config "$config" --print-config >/dev/null \
        || die "the satellite refused ${config}; fix it and run: sudo systemctl restart ${SERVICE}"
}

# --- 5. the service ----------------------------------------------------------------------------
install_service() {
    local unit="${SYSTEMD_DIR}/${SERVICE}"
    log "Installing ${unit}"
    if (( ! DRY_RUN )); then
        mkdir -p "$SYSTEMD_DIR"
        sed -e "s|@PREFIX@|${PREFIX}|g" -e "s|@CONFIG@|${CONFIG_DIR}/satellite.yaml|g" \
            -e "s|@USER@|${SERVICE_USER}|g" -e "s|@STATE_DIR@|${STATE_DIR}|g" \
            "$TEMPLATE" > "$unit"
        ! grep -q '@[A-Z_]*@' "$unit" || die "unfilled field left in ${unit}"
    fi
    run "$SYSTEMCTL" daemon-reload
    if (( START )); then
        run "$SYSTEMCTL" enable --now "$SERVICE"
        run "$SYSTEMCTL" restart "$SERVICE"  # pick up a new version or config on a re-install
    else
        run "$SYSTEMCTL" enable "$SERVICE"
    fi
}

main() {
    validate
    check_platform
    install_packages
    install_venv
    NAME="$(ask "Satellite name" "$NAME")"
    AREA="$(ask "Area (room) of this satellite, empty for none" "$AREA")"
    HUB="$(ask "Hub URI (empty: find it by zeroconf)" "$HUB")"
    validate
    MIC="$(pick_device capture "$ARECORD" "$MIC")"
    SPEAKER="$(pick_device playback "$APLAY" "$SPEAKER")"
    log "Microphone: ${MIC}   speaker: ${SPEAKER}"
    test_mic
    write_config
    install_service
    log "Done. Logs: journalctl -u ${SERVICE} -f    Settings: ${CONFIG_DIR}/satellite.yaml"
}

main
