#!/usr/bin/env bash
# Runs every test: Rust unit, store and end-to-end tests (aws-sdk-ecs), the embedding example,
# the boto3 and AWS CLI suites against the real binary, then checks every response they saw
# against the botocore model, then the container image under docker-compose.
#
# It first checks and sets up what it needs (scripts/setup.sh: cargo, python3, Docker, free
# disk; Debian packages when root; the pinned Python packages in $KECS_VENV, default
# ~/.cache/kecs-venv), and stops there, listing what is missing, before any build starts.
#   scripts/test.sh --setup-only    (or KECS_SETUP_ONLY=1) runs only that part
# Each stage prints `== [mm:ss] NAME`, the time elapsed. What takes long: the first build
# compiles DuckDB's bundled C++, about 17 minutes on 2 idle cores (up to an hour on a busy machine);
# the Python suites take about 3 minutes. The target dir then holds about 16 GB.
set -euo pipefail
cd "$(dirname "$0")/.."
setup_only=${KECS_SETUP_ONLY:-0}
case "${1:-}" in
    --setup-only) setup_only=1 ;;
    "") ;;
    *) echo "usage: scripts/test.sh [--setup-only]" >&2; exit 2 ;;
esac
# shellcheck source=SCRIPTDIR/setup.sh
source scripts/setup.sh
if [ "$setup_only" = 1 ]; then
    stage "setup done (--setup-only)"
    exit 0
fi

conformance_dir=$(mktemp -d)
trap 'rm -rf "$conformance_dir"' EXIT
export KECS_CONFORMANCE_DIR="$conformance_dir"
export KECS_BIN="$CARGO_TARGET_DIR/debug/kecs"
# Screenshots of the browser tests and other artifacts.
export KECS_ARTIFACTS="${KECS_ARTIFACTS:-$CARGO_TARGET_DIR/kecs-artifacts}"

stage "test image (kecs-test/busybox)"
scripts/test-image.sh
stage "build"
kecs_build_notice
cargo build --workspace --all-targets
stage "cargo tests"
cargo test --workspace
stage "embedding example"
# The embedding example asserts what it shows (a service steady in-process).
cargo run -q -p kecs-domain --example embedded
stage "Python suites (boto3, AWS CLI, web UI, events)"
# -rs names every skipped test and why. Exit 5 means pytest collected no test at all.
pytest_rc=0
python3 -m pytest -q -rs tests/conformance tests/py || pytest_rc=$?
if [ "$pytest_rc" = 5 ]; then
    echo "pytest ran no test (exit 5): tests/conformance and tests/py collected nothing" >&2
    exit 1
elif [ "$pytest_rc" != 0 ]; then
    exit "$pytest_rc"
fi
echo "browser screenshots: $KECS_ARTIFACTS/ui"

stage "conformance"
# Every operation KECS implements must have been answered (200) and every answer must conform.
# The operations KECS implements: codegen/operations.txt, the table the EcsApi implementation and
# the README's list are generated from.
# The same for the CloudWatch Logs operations of codegen/logs-operations.txt.
implemented=$(python3 codegen/gen.py --implemented)
implemented_logs=$(python3 codegen/gen.py --implemented-logs)
python3 tests/conformance/check.py --require-ops "$implemented" --require-logs-ops "$implemented_logs" \
    "$conformance_dir"/*.jsonl

stage "compose (the image under docker-compose)"
# The image and docker-compose, as users run them.
scripts/compose-test.sh
stage "done: every test passed"
