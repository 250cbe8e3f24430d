#!/usr/bin/env bash
# Builds (once) the stand-in for Home Assistant's Debian base image, which cannot be pulled here.
#
# ghcr.io/home-assistant/<arch>-base-debian:bookworm is Debian bookworm with bash, curl, jq,
# bashio and s6-overlay. The stand-in is debootstrap's bookworm with the same tools, a minimal
# bashio (standin/) and a pass-through with-contenv; s6-overlay itself is only on GitHub, so the
# test runs the container with `docker run --init` in its place. python3 and python3-venv, which
# the add-on's Dockerfile installs with apt when they are missing, are included here because a
# container has no network on the test machines.
#
# The image is tagged with a hash of its inputs: a second run finds it and returns at once.
# Usage: standin-base.sh [TAG_PREFIX]   (prints the image tag on stdout)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
packages=bash,curl,jq,ca-certificates,tzdata,python3,python3-venv
prefix="${1:-voxhub-standin-base}"
inputs="$(cat "$0" "$here"/standin/* | sha256sum | cut -c1-12)"
tag="${prefix}:${suite}-${inputs}"

if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag"
    exit 0
fi

if ! command -v debootstrap >/dev/null; then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
        echo "standin-base: debootstrap is missing (apt-get install debootstrap)" >&2
        exit 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
fi
work="$(mktemp -d /var/tmp/voxhub-standin.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "standin-base: debootstrap $suite (minbase + $packages) from $mirror" >&2
timeout 1800 debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" \
    "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 1
}
rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin \
    "$work"/rootfs/var/cache/apt/archives/*.deb
tar -C "$work/rootfs" -c . | docker import - "${prefix}-rootfs:${suite}-${inputs}" >/dev/null

mkdir -p "$work/context"
cp "$here"/standin/* "$work/context/"
cat >"$work/context/Dockerfile" <<DOCKERFILE
FROM ${prefix}-rootfs:${suite}-${inputs}
ENV LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
COPY bashio.sh /usr/lib/bashio/bashio.sh
COPY bashio with-contenv /usr/bin/
LABEL io.voxhub.standin="Home Assistant base-debian:${suite} stand-in (debootstrap)"
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /
DOCKERFILE
docker build -q -t "$tag" "$work/context" >/dev/null
docker rmi "${prefix}-rootfs:${suite}-${inputs}" >/dev/null 2>&1 || true
echo "$tag"
