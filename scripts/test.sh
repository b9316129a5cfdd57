#!/usr/bin/env bash
# Runs every test: Rust unit, store and end-to-end tests (aws-sdk-ecs), the embedding example,
# the boto3 and AWS CLI suites against the real binary, then checks every response they saw
# against the botocore model, then the container image under docker-compose.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kecs-target}"
conformance_dir=$(mktemp -d)
trap 'rm -rf "$conformance_dir"' EXIT
export KECS_CONFORMANCE_DIR="$conformance_dir"
export KECS_BIN="$CARGO_TARGET_DIR/debug/kecs"
# Screenshots of the browser tests and other artifacts.
export KECS_ARTIFACTS="${KECS_ARTIFACTS:-$CARGO_TARGET_DIR/kecs-artifacts}"

scripts/test-image.sh
cargo build --workspace --all-targets
cargo test --workspace
# The embedding example asserts what it shows (a service steady in-process).
cargo run -q -p kecs-domain --example embedded
python3 -m pytest -q tests/conformance tests/py
echo "browser screenshots: $KECS_ARTIFACTS/ui"
# Every operation KECS implements must have been answered (200) and every answer must conform.
implemented=CreateCluster,DescribeClusters,ListClusters,UpdateCluster,UpdateClusterSettings,\
PutClusterCapacityProviders,DeleteCluster,RegisterTaskDefinition,DescribeTaskDefinition,\
ListTaskDefinitions,ListTaskDefinitionFamilies,DeregisterTaskDefinition,DeleteTaskDefinitions,\
TagResource,UntagResource,ListTagsForResource,PutAccountSetting,PutAccountSettingDefault,\
DeleteAccountSetting,ListAccountSettings,PutAttributes,DeleteAttributes,ListAttributes,\
CreateCapacityProvider,DescribeCapacityProviders,UpdateCapacityProvider,DeleteCapacityProvider,\
RunTask,StartTask,StopTask,DescribeTasks,ListTasks,CreateService,UpdateService,DeleteService,\
DescribeServices,ListServices,ListServicesByNamespace,ListServiceDeployments,\
DescribeServiceDeployments,DescribeServiceRevisions,StopServiceDeployment,CreateTaskSet,\
UpdateTaskSet,DeleteTaskSet,DescribeTaskSets,UpdateServicePrimaryTaskSet
python3 tests/conformance/check.py --require-ops "$implemented" "$conformance_dir"/*.jsonl
# The image and docker-compose, as users run them.
scripts/compose-test.sh
