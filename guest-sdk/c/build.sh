#!/usr/bin/env bash
# Builds a C executor project into a WebAssembly component.
#
#   bash guest-sdk/c/build.sh <project-dir> <out.wasm>
#
# Compiles every *.c file directly in <project-dir> together with the SDK (flowhost.c), the
# committed wit-bindgen bindings and the vendored cJSON, for wasm32-wasi as a reactor at -O2,
# with zig's clang and wasi-libc; then turns the core module into a component with
# `wasm-tools component new` and the WASI preview1 reactor adapter.
#
# Environment:
#   FLOWHOST_HOME        the flowhost repository (default: two levels above this script)
#   FLOWHOST_TOOLCHAINS  where the tools are (default: $FLOWHOST_HOME/.toolchains); zig comes
#                        from the venv's `python -m ziglang`, wasm-tools from the venv's bin/
#   CFLAGS               extra compiler flags (e.g. -DNDEBUG, -I...)
#   LDFLAGS              extra linker flags (e.g. -lm is already there)
# Quiet on success; compiler and tool output only on failure.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: bash guest-sdk/c/build.sh <project-dir> <out.wasm>" >&2
    exit 2
fi
project="$1"
out="$2"

sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${FLOWHOST_HOME:-$(cd "$sdk/../.." && pwd)}"
toolchains="${FLOWHOST_TOOLCHAINS:-$home/.toolchains}"
python="$toolchains/venv/bin/python"
wasm_tools="$toolchains/venv/bin/wasm-tools"
adapter="$home/guest-sdk/adapter/wasi_snapshot_preview1.reactor.wasm"

if [ ! -x "$python" ] || ! "$python" -c 'import ziglang' 2>/dev/null; then
    echo "build.sh: zig (PyPI's ziglang) is missing from $toolchains/venv;" \
        "run: bash scripts/install-toolchains.sh c" >&2
    exit 1
fi
if [ ! -x "$wasm_tools" ]; then
    echo "build.sh: wasm-tools is missing from $toolchains/venv;" \
        "run: bash scripts/install-toolchains.sh c" >&2
    exit 1
fi
if [ ! -f "$adapter" ]; then
    echo "build.sh: the WASI adapter $adapter is missing" >&2
    exit 1
fi
if [ ! -d "$project" ]; then
    echo "build.sh: $project is not a directory" >&2
    exit 1
fi

shopt -s nullglob
sources=("$project"/*.c)
shopt -u nullglob
if [ ${#sources[@]} -eq 0 ]; then
    echo "build.sh: no .c files in $project" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# shellcheck disable=SC2086 # CFLAGS/LDFLAGS are word lists
if ! "$python" -m ziglang cc --target=wasm32-wasi -mexec-model=reactor -O2 -g0 -Wl,--strip-debug -Wl,-z,stack-size=1048576 -std=c11 \
    -D_DEFAULT_SOURCE -Wall -Wno-unused-function \
    -I "$project" -I "$sdk" -I "$sdk/bindings" -I "$sdk/vendor/cjson" ${CFLAGS:-} \
    "${sources[@]}" "$sdk/flowhost.c" "$sdk/bindings/executor_world.c" \
    "$sdk/vendor/cjson/cJSON.c" "$sdk/bindings/executor_world_component_type.o" \
    -lm ${LDFLAGS:-} -o "$tmp/core.wasm" >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2
    if grep -q "undefined symbol: fh_executor_definition" "$tmp/log"; then
        echo "build.sh: no executor defined: add FH_EXECUTOR(methods, init) to one .c file" >&2
    fi
    echo "build.sh: compiling $project failed" >&2
    exit 1
fi

mkdir -p "$(dirname "$out")"
if ! "$wasm_tools" component new "$tmp/core.wasm" --adapt "$adapter" -o "$tmp/component.wasm" \
    >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2
    echo "build.sh: wasm-tools component new failed" >&2
    exit 1
fi
mv "$tmp/component.wasm" "$out"
