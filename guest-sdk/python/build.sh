#!/usr/bin/env bash
# Builds a Python executor project (Jina hub layout: executor.py, config.yml) into a
# flowhost component:
#
#   bash guest-sdk/python/build.sh <project-dir> <out.wasm>
#
# Env: FLOWHOST_HOME (the flowhost repo; default two levels above this script) and
# FLOWHOST_TOOLCHAINS (default $FLOWHOST_HOME/.toolchains, where
# `bash scripts/install-toolchains.sh python` puts componentize-py).
# Prints nothing on success except the tools' own errors.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: build.sh <project-dir> <out.wasm>" >&2
    exit 2
fi
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${FLOWHOST_HOME:-$(cd "$sdk/../.." && pwd)}"
toolchains="${FLOWHOST_TOOLCHAINS:-$home/.toolchains}"
componentize="$toolchains/venv/bin/componentize-py"
if [ ! -x "$componentize" ]; then
    echo "flowhost: the python toolchain is missing: run bash scripts/install-toolchains.sh python" >&2
    exit 1
fi
python="$toolchains/venv/bin/python3"
[ -x "$python" ] || python=python3
wit="$home/wit"
if [ ! -f "$wit/executor.wit" ]; then
    echo "flowhost: no WIT at $wit/executor.wit (set FLOWHOST_HOME to the flowhost repo)" >&2
    exit 1
fi

project="$1"
if [ ! -d "$project" ]; then
    echo "flowhost: $project is not a directory" >&2
    exit 1
fi
out_dir="$(dirname "$2")"
mkdir -p "$out_dir"
out="$(cd "$out_dir" && pwd)/$(basename "$2")"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/flowhost-py-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Stage the project and the SDK, and generate the app module that exports the executor.
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$sdk" "$python" -m flowhost._project "$project" "$tmp"

# componentize-py imports the app (and so the executor module) at build time and snapshots
# the initialised interpreter, so instances start with everything imported. Its bindings
# for the world are generated on the fly; nothing generated is kept.
# VIRTUAL_ENV would add that venv's site-packages to the component: keep it out.
(
    cd "$tmp"
    unset VIRTUAL_ENV PYTHONPATH
    export RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0
    "$componentize" -q -d "$wit" -w executor-world componentize \
        -p "$tmp/app" -p "$tmp/project" -p "$tmp/sdk" \
        flowhost_app -o "$tmp/out.wasm"
)
mv -f "$tmp/out.wasm" "$out"
