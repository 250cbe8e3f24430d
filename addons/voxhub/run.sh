#!/usr/bin/with-contenv bashio
# shellcheck shell=bash
# ==================================================================================================
# Starts `voxhub hub` with the add-on's options, then announces the endpoint to Home Assistant.
#
# Every option of config.yaml maps to one flag here (DOCS.md explains them). The home model comes
# from Home Assistant through the Supervisor's websocket proxy; the hub reads the Supervisor's
# token from $SUPERVISOR_TOKEN itself. Mosquitto's credentials come from the Supervisor's mqtt
# service when the broker add-on is installed. No secret appears on the command line, where
# every process of the container reads it: the broker URL and the recognizer's API key go into
# a configuration file only this user can read (the hub refuses them as flags).
# ==================================================================================================
set -e

# The port inside the container; config.yaml maps it to the host. VOXHUB_PORT exists for tests.
PORT="${VOXHUB_PORT:-10200}"
# The hub's secrets, as a --config file (JSON is YAML), rewritten at every start.
SECRETS="${VOXHUB_SECRETS:-/run/voxhub/secrets.json}"
secrets='{}'

# The model data baked into the image is the same on every machine and read-only; the hub's data
# directory is the add-on's own folder in /data, which survives restarts and updates. It reads
# the baked data through links, and writes there what belongs to this machine: Kokoro rewritten
# for this CPU (at the first start, and again after a move to a CPU that needs another rewrite:
# the file's name records the rewrite) and the intent index cache.
SHIPPED="${VOXHUB_SHIPPED_DATA:-/usr/share/voxhub}"
DATA_DIR="${VOXHUB_ADDON_DATA:-/data/voxhub}"
mkdir -p "${DATA_DIR}/kokoro"
for item in "${SHIPPED}"/kokoro/*; do
    [[ -e "${item}" ]] || continue
    ln -sfn "${item}" "${DATA_DIR}/kokoro/${item##*/}"
done
if [[ -d "${SHIPPED}/whisper" ]]; then
    ln -sfn "${SHIPPED}/whisper" "${DATA_DIR}/whisper"
fi

args=(
    hub
    --uri "tcp://0.0.0.0:${PORT}"
    --data-dir "${DATA_DIR}"
    --speed "$(bashio::config 'speed')"
    --language "$(bashio::config 'language')"
    --asr-backend "$(bashio::config 'asr_backend')"
    --silence-s "$(bashio::config 'silence_s')"
    --set "pipeline.min_speech_s=$(bashio::config 'min_speech_s')"
    --set "pipeline.max_speech_s=$(bashio::config 'max_speech_s')"
    --threads "$(bashio::config 'threads')"
    --log-level "$(bashio::config 'log_level')"
    --home-assistant-url "http://supervisor/core/websocket"
)

# The voice and the recognizer model follow `language` (its Kokoro voice; Whisper tiny.en for
# English, base for the others) unless the options name them.
if bashio::config.has_value 'voice'; then
    args+=(--voice "$(bashio::config 'voice')")
fi
if bashio::config.has_value 'asr_model'; then
    args+=(--asr-model "$(bashio::config 'asr_model')")
fi

# A recognizer on another machine (vLLM serving Voxtral on a GPU box): the OpenAI-style backend.
for key in url model; do
    if bashio::config.has_value "openai_${key}"; then
        args+=(--set "asr.openai.${key}=$(bashio::config "openai_${key}")")
    fi
done
if bashio::config.has_value 'openai_api_key'; then
    secrets=$(jq -c --arg v "$(bashio::config 'openai_api_key')" '.asr.openai.api_key = $v' \
        <<<"${secrets}")
fi

# MQTT: an explicit URL wins; otherwise the Mosquitto add-on's credentials from the Supervisor.
if bashio::config.has_value 'mqtt_url'; then
    secrets=$(jq -c --arg v "$(bashio::config 'mqtt_url')" '.mqtt.url = $v' <<<"${secrets}")
    bashio::log.info "Publishing intents to the MQTT broker of the mqtt_url option"
elif bashio::services.available 'mqtt'; then
    scheme="mqtt"
    if bashio::var.true "$(bashio::services 'mqtt' 'ssl')"; then
        scheme="mqtts"
    fi
    # User names and passwords may hold characters that are special in a URL.
    user="$(jq -rn --arg v "$(bashio::services 'mqtt' 'username')" '$v|@uri')"
    password="$(jq -rn --arg v "$(bashio::services 'mqtt' 'password')" '$v|@uri')"
    host="$(bashio::services 'mqtt' 'host')"
    port="$(bashio::services 'mqtt' 'port')"
    secrets=$(jq -c --arg v "${scheme}://${user}:${password}@${host}:${port}" '.mqtt.url = $v' \
        <<<"${secrets}")
    bashio::log.info "Publishing intents to the MQTT broker at ${host}:${port}"
else
    # The hub's embedded broker would be unreachable from outside the add-on: leave it off.
    args+=(--set "mqtt.embedded=false")
    bashio::log.warning "No MQTT broker: install the Mosquitto broker add-on (or set mqtt_url)" \
        "to receive intents on MQTT."
fi

(
    umask 077
    mkdir -p "$(dirname "${SECRETS}")"
    printf '%s\n' "${secrets}" >"${SECRETS}"
)
args+=(--config "${SECRETS}")

# Announce the endpoint as `wyoming` discovery once it answers `describe` (models loaded), in the
# background: the hub itself replaces this shell below.
(
    if voxhub-wait-ready "tcp://127.0.0.1:${PORT}" 900 >/dev/null; then
        config=$(bashio::var.json uri "tcp://$(hostname):${PORT}")
        if bashio::discovery "wyoming" "${config}" >/dev/null; then
            bashio::log.info "Sent discovery information to Home Assistant."
        else
            bashio::log.error "Discovery message to Home Assistant failed!"
        fi
    else
        bashio::log.error "The hub did not answer describe; Home Assistant was not told about it."
    fi
) &

bashio::log.info "Starting voxhub $(printf '%q ' "${args[@]}")"
exec voxhub "${args[@]}"
