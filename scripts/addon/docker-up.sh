#!/usr/bin/env bash
# Makes sure a Docker daemon answers, for `make addon-image` and `make test-addon`.
#
# CI machines (and these development machines) boot without a running daemon: as root, this
# installs Debian's docker.io when dockerd is missing and starts dockerd in the background, its
# log in /var/log/voxhub-dockerd.log. Exit 0 once `docker info` answers; exit 3 with the reason
# on stderr when Docker cannot be had here (not root, no apt, the daemon does not come up).
set -euo pipefail

docker_answers() { timeout 20 docker info >/dev/null 2>&1; }

if docker_answers; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    echo "docker-up: Docker does not answer and starting it needs root" \
        "(sudo systemctl start docker, or run as root)" >&2
    exit 3
fi
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    if ! command -v apt-get >/dev/null; then
        echo "docker-up: no dockerd and no apt-get to install Debian's docker.io" >&2
        exit 3
    fi
    echo "docker-up: installing Debian's docker.io" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi
log=/var/log/voxhub-dockerd.log
echo "docker-up: starting dockerd (log: $log)" >&2
setsid dockerd >"$log" 2>&1 < /dev/null &
for _ in $(seq 60); do
    if docker_answers; then
        exit 0
    fi
    sleep 1
done
echo "docker-up: dockerd did not answer within 60 s; the end of $log:" >&2
tail -5 "$log" >&2
exit 3
