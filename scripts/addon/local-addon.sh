#!/usr/bin/env bash
# A local add-on folder of this checkout, to copy into a Home Assistant host's /addons share:
# `make addon-folder` (docs/release.md, "Building without the prebuilt image").
#
# The store's add-on names a prebuilt image (`image:` in config.yaml), which exists only for
# released versions. A local add-on without that line is built by the Supervisor itself, and
# the Dockerfile then installs the wheel it finds in local/wheels (this checkout, pure Python,
# so one wheel serves amd64 and aarch64) with its dependencies and the voices downloaded on
# the Home Assistant host. Prints the folder on stdout.
#
# Usage: scripts/addon/local-addon.sh [DEST]   (default build/addon/local-addon/voxhub)
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${1:-$root/build/addon/local-addon/voxhub}"
py="$root/.venv/bin/python"
[[ -x "$py" ]] || py=python3

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -a "$root/addons/voxhub" "$dest"
rm -rf "$dest/local"
mkdir -p "$dest/local/wheels"
cp "$root/addons/voxhub/local/README.md" "$dest/local/"
# Without `image:` the Supervisor builds the Dockerfile instead of pulling.
sed -i '/^image:/d' "$dest/config.yaml"
epoch="$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 315532800)"
SOURCE_DATE_EPOCH="$epoch" "$py" -m pip wheel -q --no-deps --no-build-isolation \
    -w "$dest/local/wheels" "$root" >&2
echo "$dest"
