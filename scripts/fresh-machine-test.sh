#!/usr/bin/env bash
# Runs the README's test command as a new user would on a fresh machine: a fresh clone of HEAD, in
# a throwaway Debian container that has only Python 3 and the Docker client (the engine is this
# machine's, through its socket; Rust is this machine's toolchain, mounted read-only), with a
# target directory of its own, so the build is cold. Not part of scripts/test.sh: it takes as long
# as a first build (25 min measured on 2 cores, 2026-11-30).
#   scripts/fresh-machine-test.sh          (as root; KEEP=1 keeps the clone and its target dir)
set -euo pipefail
cd "$(dirname "$0")/.."
base=debian:bookworm-slim
image=kecs-fresh:trial
scripts/debian-base.sh
docker build -q -t "$image" - >/dev/null <<EOF
FROM $base
RUN apt-get update && apt-get install -y --no-install-recommends python3 docker.io ca-certificates \
    && rm -rf /var/lib/apt/lists/*
EOF
# Under /tmp, mounted at the same path: the host engine sees the test's bind mounts where the
# container made them.
work=$(mktemp -d /tmp/kecs-fresh.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
git clone -q . "$work/src"
certs=/etc/ssl/certs/ca-certificates.crt
docker run --rm --network host \
    -v /var/run/docker.sock:/var/run/docker.sock \
    -v "$HOME/.rustup:/root/.rustup:ro" -v "$HOME/.cargo:/root/.cargo" \
    -v /tmp:/tmp -w "$work/src" \
    -v "$certs:$certs:ro" -e PIP_CERT="$certs" -e SSL_CERT_FILE="$certs" -e REQUESTS_CA_BUNDLE="$certs" \
    -e PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    -e RUSTUP_HOME=/root/.rustup -e CARGO_HOME=/root/.cargo -e CARGO_TARGET_DIR="$work/target" \
    "$image" scripts/test.sh
