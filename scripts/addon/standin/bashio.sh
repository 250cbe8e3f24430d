# shellcheck shell=bash
# A minimal bashio: the functions addons/voxhub/run.sh calls, with bashio's semantics, for the
# stand-in base image the add-on test builds (the real base ships the real bashio). Options come
# from /data/options.json; services and discovery go to the Supervisor's HTTP API with the
# add-on's $SUPERVISOR_TOKEN, and every call is bounded so that nothing here waits forever.

__BASHIO_ADDON_CONFIG="${__BASHIO_ADDON_CONFIG:-/data/options.json}"
__BASHIO_SUPERVISOR_API="${SUPERVISOR_API:-http://supervisor}"

bashio::log() { echo "[$(date +%T)] $1: ${*:2}" >&2; }
bashio::log.debug() { :; }
bashio::log.info() { bashio::log INFO "$@"; }
bashio::log.warning() { bashio::log WARNING "$@"; }
bashio::log.error() { bashio::log ERROR "$@"; }

bashio::var.true() { [[ "${1:-}" == "true" ]]; }

# key value ... → a JSON object; a value starting with ^ is raw JSON.
bashio::var.json() {
    local args=() key value
    while (( $# )); do
        key=$1; value=$2; shift 2
        if [[ "$value" == ^* ]]; then args+=(--argjson "$key" "${value:1}");
        else args+=(--arg "$key" "$value"); fi
    done
    jq -cn "${args[@]}" '$ARGS.named'
}

# An option's value, "null" when unset (bashio prints null, and the default when one is given).
bashio::config() {
    local value
    value=$(jq -r --arg k "$1" 'if .[$k] == null then "null" else .[$k] end' \
        "$__BASHIO_ADDON_CONFIG")
    if [[ "$value" == "null" && -n "${2:-}" ]]; then value="$2"; fi
    echo "$value"
}
bashio::config.has_value() {
    local value; value=$(bashio::config "$1")
    [[ "$value" != "null" && -n "$value" ]]
}

# METHOD PATH [JSON BODY]: the answer's .data, non-zero unless the Supervisor answered ok.
bashio::api.supervisor() {
    local method=$1 path=$2 body=${3:-} answer
    local curl=(curl -sS --max-time 20 -X "$method" -H "Authorization: Bearer ${SUPERVISOR_TOKEN:-}")
    [[ -n "$body" ]] && curl+=(-H "Content-Type: application/json" --data "$body")
    answer=$("${curl[@]}" "${__BASHIO_SUPERVISOR_API}${path}") || return 1
    jq -e '.result == "ok"' <<<"$answer" >/dev/null || return 1
    jq -c '.data' <<<"$answer"
}

bashio::services.available() { bashio::api.supervisor GET "/services/$1" >/dev/null 2>&1; }
bashio::services() {
    bashio::api.supervisor GET "/services/$1" | jq -r --arg k "$2" '.[$k] | tostring'
}
bashio::discovery() {
    bashio::api.supervisor POST /discovery \
        "$(jq -cn --arg s "$1" --argjson c "$2" '{service: $s, config: $c}')" | jq -r '.uuid'
}
