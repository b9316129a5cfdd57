#!/usr/bin/env bash
# Makes the image debian:bookworm-slim from Debian's packages with debootstrap (--variant=minbase),
# without any registry, when the engine does not have it. Used by scripts/docker-image.sh (the
# Dockerfile's base) and scripts/fresh-machine-test.sh.
set -euo pipefail
base=debian:bookworm-slim
docker image inspect "$base" >/dev/null 2>&1 && exit 0
command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
echo "creating $base with debootstrap (minbase)"
debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$base" >/dev/null
