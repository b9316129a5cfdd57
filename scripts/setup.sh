#!/usr/bin/env bash
# Checks and sets up what scripts/test.sh needs before any build starts, so that whatever is
# missing is reported in the first seconds instead of half an hour later. Sourced by
# scripts/test.sh and by .ci/run, the one place that installs anything for them;
# `scripts/test.sh --setup-only` (or running this file) does only this part.
#
#  1. Prerequisites it does not install: cargo (Rust), python3 >= 3.10 able to create a virtual
#     environment, a reachable Docker engine, free disk where CARGO_TARGET_DIR lives
#     (KECS_MIN_FREE_GB: 20 GB before the first build, 5 after).
#  2. Debian packages: chromium and chromium-driver (the web UI's browser tests), docker-compose
#     (scripts/compose-test.sh), docker-registry and apache2-utils (a registry with htpasswd for
#     the image pull tests), debootstrap (scripts/docker-image.sh, while the engine lacks
#     debian:bookworm-slim), and build-essential, curl, python3-venv when what they provide is
#     missing. Installed with apt-get when running as root; otherwise listed with the command
#     that installs them.
#  3. The Python packages pinned in tests/requirements.txt, in a virtual environment outside the
#     checkout ($KECS_VENV, default ~/.cache/kecs-venv), created once and again only when
#     tests/requirements.txt changes. Its bin/ goes first on PATH: python3, pytest, aws.
# Anything missing is one line each; then it stops, having built nothing.
#
# Also defines `stage NAME` (prints `== [mm:ss] NAME`, the time since the first stage) and
# `kecs_build_notice` (says what the first build costs, before the command that does it).

kecs_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kecs-target}"
export KECS_VENV="${KECS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/kecs-venv}"
export KECS_T0="${KECS_T0:-$(date +%s)}"

stage() {
    local s=$(($(date +%s) - KECS_T0))
    printf '== [%02d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*"
}

# True until DuckDB's C++ has been compiled into CARGO_TARGET_DIR once.
kecs_first_build() {
    ! compgen -G "$CARGO_TARGET_DIR/debug/build/libduckdb-sys-*/out/libduckdb.a" >/dev/null
}

kecs_build_notice() {
    if kecs_first_build; then
        echo "   first build: compiles DuckDB's bundled C++, about 17 minutes on 2 idle cores (up to an" \
            "hour on a busy machine), once; later runs reuse it from $CARGO_TARGET_DIR"
    fi
}

# The nearest directory of $1 (or above it) that exists.
kecs_existing_dir() {
    local d=$1
    while [ ! -d "$d" ]; do d=$(dirname "$d"); done
    echo "$d"
}

# Adds Debian package $1 to the missing ones (once).
kecs_want_pkg() {
    case " ${kecs_pkgs[*]} " in *" $1 "*) ;; *) kecs_pkgs+=("$1") ;; esac
}

kecs_venv_current() {
    [ -x "$KECS_VENV/bin/python3" ] && [ -x "$KECS_VENV/bin/aws" ] \
        && [ "$(cat "$KECS_VENV/.kecs-requirements.sha256" 2>/dev/null)" = "$kecs_req_hash" ] \
        && "$KECS_VENV/bin/python3" -c '' 2>/dev/null
}

kecs_check() {
    kecs_problems=()
    kecs_pkgs=()
    local has_apt=0 docker_ok=0 d avail_kb need_gb err
    command -v apt-get >/dev/null 2>&1 && has_apt=1

    command -v cargo >/dev/null 2>&1 \
        || kecs_problems+=("cargo: not found; install Rust with rustup (https://rustup.rs) and open a new shell")
    if [ "${KECS_SETUP_LINT:-0}" = 1 ]; then
        rustfmt --version >/dev/null 2>&1 || kecs_problems+=("rustfmt: not installed; rustup component add rustfmt")
        cargo-clippy --version >/dev/null 2>&1 || kecs_problems+=("clippy: not installed; rustup component add clippy")
    fi
    for d in cc c++ strip; do command -v "$d" >/dev/null 2>&1 || kecs_want_pkg build-essential; done
    command -v curl >/dev/null 2>&1 || kecs_want_pkg curl

    if ! command -v python3 >/dev/null 2>&1; then
        kecs_want_pkg python3
        kecs_want_pkg python3-venv
    elif ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        kecs_problems+=("python3: $(python3 --version 2>&1) at $(command -v python3); the test packages need Python 3.10 or newer")
    elif ! kecs_venv_current; then
        if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
            if [ "$(command -v python3)" = /usr/bin/python3 ] && [ "$has_apt" = 1 ]; then
                kecs_want_pkg python3-venv
            else
                kecs_problems+=("python3 ($(command -v python3)) cannot create virtual environments (no venv/ensurepip module); install its venv module")
            fi
        fi
        d=$(kecs_existing_dir "$KECS_VENV")
        if [ -e "$KECS_VENV" ] && [ ! -f "$KECS_VENV/pyvenv.cfg" ] && [ -n "$(ls -A "$KECS_VENV" 2>/dev/null)" ]; then
            kecs_problems+=("KECS_VENV=$KECS_VENV is not empty and not a virtual environment; set KECS_VENV to another directory")
        elif [ ! -w "$d" ]; then
            kecs_problems+=("KECS_VENV=$KECS_VENV: $d is not writable; set KECS_VENV to a writable directory")
        fi
    fi

    if ! command -v docker >/dev/null 2>&1; then
        kecs_problems+=("docker: not found; install Docker Engine (https://docs.docker.com/engine/install/)")
    elif ! err=$(timeout 30 docker info 2>&1 >/dev/null); then
        err=$(printf '%s\n' "$err" | grep -v '^[[:space:]]*$' | tail -n 1 | sed 's/: Get "[^"]*"//' | cut -c1-200)
        kecs_problems+=("Docker engine not reachable (docker info: ${err:-no answer}); start it, or add $(id -un) to the docker group")
    else
        docker_ok=1
    fi

    # scripts/test-image.sh builds the test image from Debian's busybox-static when it is absent.
    if [ "$docker_ok" = 1 ] && ! docker image inspect kecs-test/busybox:latest >/dev/null 2>&1; then
        if [ "$has_apt" = 0 ]; then
            kecs_problems+=("apt-get: not found; scripts/test-image.sh builds the test image from Debian's busybox-static")
        elif [ "$(id -u)" != 0 ] && ! apt-cache show busybox-static >/dev/null 2>&1; then
            kecs_problems+=("apt's package lists are empty (scripts/test-image.sh downloads busybox-static); run: sudo apt-get update")
        fi
    fi

    command -v chromium >/dev/null 2>&1 || kecs_want_pkg chromium
    command -v chromedriver >/dev/null 2>&1 || kecs_want_pkg chromium-driver
    command -v docker-compose >/dev/null 2>&1 || kecs_want_pkg docker-compose
    # tests/py/test_image_pulls.py runs a registry (distribution 2.8) on loopback, with htpasswd.
    command -v docker-registry >/dev/null 2>&1 || kecs_want_pkg docker-registry
    command -v htpasswd >/dev/null 2>&1 || kecs_want_pkg apache2-utils
    # scripts/docker-image.sh creates the base image with debootstrap only when it is absent.
    if ! command -v debootstrap >/dev/null 2>&1 \
        && ! { [ "$docker_ok" = 1 ] && docker image inspect debian:bookworm-slim >/dev/null 2>&1; }; then
        kecs_want_pkg debootstrap
    fi

    d=$(kecs_existing_dir "$CARGO_TARGET_DIR")
    if [ ! -w "$d" ]; then
        kecs_problems+=("CARGO_TARGET_DIR=$CARGO_TARGET_DIR: $d is not writable; set CARGO_TARGET_DIR to a writable directory")
    else
        if kecs_first_build; then need_gb=${KECS_MIN_FREE_GB:-20}; else need_gb=${KECS_MIN_FREE_GB:-5}; fi
        avail_kb=$(df -Pk "$d" | awk 'NR == 2 { print $4 }')
        if [ "$((avail_kb / 1024 / 1024))" -lt "$need_gb" ]; then
            kecs_problems+=("disk: $((avail_kb / 1024 / 1024)) GB free at $d (CARGO_TARGET_DIR=$CARGO_TARGET_DIR), $need_gb GB needed; free space or point CARGO_TARGET_DIR elsewhere")
        fi
    fi
}

kecs_apt_install() {
    local log
    log=$(mktemp)
    echo "   installing Debian packages (once, a few minutes): $*"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$log" 2>&1; then
        # Empty or stale package lists: update them once and try again.
        if ! { apt-get update -qq >"$log" 2>&1 \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$log" 2>&1; }; then
            tail -n 20 "$log" >&2
            rm -f "$log"
            echo "setup: apt-get could not install: $*" >&2
            exit 1
        fi
    fi
    rm -f "$log"
}

kecs_report() {
    local p
    {
        echo "setup: stopped before any build; missing:"
        for p in "${kecs_problems[@]}"; do echo "  - $p"; done
    } >&2
    exit 1
}

kecs_venv_setup() {
    local req=$kecs_root/tests/requirements.txt log
    if kecs_venv_current; then
        echo "   Python packages: $KECS_VENV, up to date with tests/requirements.txt"
    else
        echo "   Python packages: installing tests/requirements.txt into $KECS_VENV (once, about a minute)"
        log=$(mktemp)
        if ! { python3 -m venv --clear "$KECS_VENV" >"$log" 2>&1 \
            && "$KECS_VENV/bin/python3" -m pip install -q --disable-pip-version-check -r "$req" >"$log" 2>&1 \
            && "$KECS_VENV/bin/python3" -c 'import boto3, botocore, pytest, selenium, websocket, yaml' >"$log" 2>&1; }; then
            tail -n 20 "$log" >&2
            rm -f "$log"
            echo "setup: could not install tests/requirements.txt into $KECS_VENV (is PyPI reachable? pip's own settings apply)" >&2
            exit 1
        fi
        rm -f "$log"
        echo "$kecs_req_hash" >"$KECS_VENV/.kecs-requirements.sha256"
    fi
    case ":$PATH:" in *":$KECS_VENV/bin:"*) ;; *) export PATH="$KECS_VENV/bin:$PATH" ;; esac
    export VIRTUAL_ENV="$KECS_VENV"
}

kecs_setup() {
    local root=0 apt=0
    stage "setup: prerequisites, Debian packages, Python packages"
    [ "$(id -u)" = 0 ] && root=1
    command -v apt-get >/dev/null 2>&1 && apt=1
    kecs_req_hash=$(sha256sum "$kecs_root/tests/requirements.txt" | cut -d' ' -f1)
    kecs_check
    if [ "${#kecs_pkgs[@]}" -gt 0 ]; then
        if [ "$root$apt" = 11 ] && [ "${#kecs_problems[@]}" = 0 ]; then
            kecs_apt_install "${kecs_pkgs[@]}"
            kecs_check
            if [ "${#kecs_pkgs[@]}" -gt 0 ]; then
                kecs_problems+=("still missing after apt-get install: ${kecs_pkgs[*]}")
            fi
        elif [ "$root$apt" = 11 ]; then
            kecs_problems+=("Debian packages: ${kecs_pkgs[*]}; installed by the next run (as root) once the rest is there")
        elif [ "$apt" = 1 ]; then
            kecs_problems+=("Debian packages: ${kecs_pkgs[*]}; install them with: sudo apt-get update && sudo apt-get install -y ${kecs_pkgs[*]} (or run scripts/test.sh --setup-only once as root)")
        else
            kecs_problems+=("packages (Debian's names): ${kecs_pkgs[*]}; install their equivalents with your package manager")
        fi
    fi
    if [ "${#kecs_problems[@]}" -gt 0 ]; then
        kecs_report
    fi
    kecs_venv_setup
    echo "   $(cargo --version), $(python3 --version) in $KECS_VENV, $(aws --version 2>&1 | cut -d' ' -f1)," \
        "Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    kecs_setup
    stage "setup done"
else
    kecs_setup
fi
