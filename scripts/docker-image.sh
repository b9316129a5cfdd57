#!/usr/bin/env bash
# Builds the image kecs:local from this checkout without any registry:
#  1. the base image the Dockerfile names (debian:bookworm-slim) is created from Debian's
#     packages with debootstrap (--variant=minbase), only when the engine does not have it;
#  2. the kecs binary cargo built (dev profile unless KECS_PROFILE=release; built here if
#     missing) is stripped into dist/kecs, so the image build copies it instead of compiling;
#  3. docker build, with that base image as the build stage (no Rust toolchain needed).
# Where a registry is reachable, plain `docker build -t kecs:local .` compiles from source.
set -euo pipefail
cd "$(dirname "$0")/.."
base=debian:bookworm-slim
image=${KECS_IMAGE:-kecs:local}
profile=${KECS_PROFILE:-dev}
target_dir=${CARGO_TARGET_DIR:-target}

scripts/debian-base.sh

cargo build -q --profile "$profile" -p kecs-server --bin kecs
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
mkdir -p dist
strip -o dist/kecs "$target_dir/$dir/kecs"
log=$(mktemp)
# The legacy builder warns that it is deprecated on every build: shown only when the build fails.
docker build -q --build-arg "BUILDER=$base" -t "$image" . >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
rm -f "$log"
docker image prune -f --filter label=kecs.stage=build >/dev/null
echo "built $image ($(du -h dist/kecs | cut -f1) binary, profile $profile)"
