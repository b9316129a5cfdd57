#!/usr/bin/env bash
# Runs every test: Rust unit, store and end-to-end tests (aws-sdk-ecs), the boto3 and AWS CLI
# suites against the real binary, then checks every response they saw against the botocore model.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kecs-target}"
conformance_dir=$(mktemp -d)
trap 'rm -rf "$conformance_dir"' EXIT
export KECS_CONFORMANCE_DIR="$conformance_dir"
export KECS_BIN="$CARGO_TARGET_DIR/debug/kecs"

cargo build --workspace --all-targets
cargo test --workspace
python3 -m pytest -q tests/conformance tests/py
python3 tests/conformance/check.py "$conformance_dir"/*.jsonl
