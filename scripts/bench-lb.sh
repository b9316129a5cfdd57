#!/usr/bin/env bash
# Requests per second and latency through KECS's local load balancer, next to the same requests
# sent straight to a task's container, in one run (issue 23). Two containers of the test image
# serve HTTP with busybox httpd on published ports (as a bridge task's are); the load balancer
# (kecs-proxy, release build) forwards to both in turn; wrk drives each for the same time.
#   scripts/bench-lb.sh [seconds]      (needs Docker, wrk, and scripts/test-image.sh's image)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/kecs-target}
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
scripts/test-image.sh >/dev/null
cargo build -q --release -p kecs-proxy --example lb_bench
ids=()
cleanup() { [ ${#ids[@]} -gt 0 ] && docker rm -f "${ids[@]}" >/dev/null; [ -n "${lb:-}" ] && kill "$lb" 2>/dev/null; true; }
trap cleanup EXIT
targets=()
for _ in 1 2; do
    id=$(docker run -d -p 127.0.0.1::8080 kecs-test/busybox:latest \
        sh -c 'mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www')
    ids+=("$id")
    targets+=("$(docker port "$id" 8080/tcp | head -1)")
done
sleep 1
out=$(mktemp)
"$CARGO_TARGET_DIR/release/examples/lb_bench" "${targets[@]}" > "$out" &
lb=$!
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
listener=$(head -1 "$out")
run() { # name url
    local r
    r=$(wrk -t2 -c16 -d"${seconds}s" --latency "$2")
    printf '| %s | %s | %s | %s |\n' "$1" \
        "$(awk '/Requests\/sec/ {print $2}' <<<"$r")" \
        "$(awk '$1=="50%" {print $2}' <<<"$r")" \
        "$(awk '$1=="99%" {print $2}' <<<"$r")"
}
echo "$(date -u +%F), $(nproc) cores, wrk -t2 -c16 -d${seconds}s, busybox httpd in two containers"
echo "| path | requests/s | p50 | p99 |"
echo "|---|---|---|---|"
run "straight to one task (${targets[0]})" "http://${targets[0]}/"
run "through the load balancer ($listener, 2 targets)" "http://$listener/"
