#!/usr/bin/env bash
# Builds a Go executor project (a go.mod and *.go files in package main) into a
# flowhost component:
#
#   bash guest-sdk/go/build.sh <project-dir> <out.wasm>
#
# The project imports example.invalid/flowhost/guest-sdk/go/flowhost; this script
# points that module at this SDK (a `replace` in a temporary copy of the project,
# so the project itself is not touched) and runs:
#   go build (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared)  -> core module
#   wasm-tools component embed wit/ --world executor-world   -> core module + WIT
#   wasm-tools component new --adapt <preview1 reactor>      -> component
#
# Env: FLOWHOST_HOME (the repo; default two levels above this script),
# FLOWHOST_TOOLCHAINS (default $FLOWHOST_HOME/.toolchains; go and wasm-tools are
# taken from its venv, else from PATH). Go's caches live under
# $FLOWHOST_TOOLCHAINS/go. No module proxy is used unless GOPROXY is set.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: bash guest-sdk/go/build.sh <project-dir> <out.wasm>" >&2
    exit 2
fi
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${FLOWHOST_HOME:-$(cd "$sdk/../.." && pwd)}"
toolchains="${FLOWHOST_TOOLCHAINS:-$home/.toolchains}"
module="example.invalid/flowhost/guest-sdk/go"

find_tool() { # name
    if [ -x "$toolchains/venv/bin/$1" ]; then
        echo "$toolchains/venv/bin/$1"
    elif command -v "$1" >/dev/null; then
        command -v "$1"
    fi
}
go="$(find_tool go)"
wasm_tools="$(find_tool wasm-tools)"
for pair in "go:$go" "wasm-tools:$wasm_tools"; do
    if [ -z "${pair#*:}" ]; then
        echo "build.sh: ${pair%%:*} not found; install it with: bash scripts/install-toolchains.sh go" >&2
        exit 1
    fi
done

project="$1"
out="$2"
if [ ! -f "$project/go.mod" ]; then
    echo "build.sh: $project has no go.mod (a Go executor project is a go.mod and *.go files in package main)" >&2
    exit 1
fi
adapter="$home/guest-sdk/adapter/wasi_snapshot_preview1.reactor.wasm"
wit="$home/wit"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# A copy of the project, without build outputs and VCS data, wired to this SDK.
mkdir "$tmp/src"
tar -C "$project" --exclude=./build --exclude=./.git -cf - . | tar -C "$tmp/src" -xf -

export GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0
export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod
export GOPROXY="${GOPROXY:-off}"
export GOCACHE="$toolchains/go/cache" GOPATH="$toolchains/go/path" GOMODCACHE="$toolchains/go/mod"
(
    cd "$tmp/src"
    "$go" mod edit -require="$module@v0.0.0" -replace="$module=$sdk"
    # -checklinkname=0: the vendored wit runtime links to runtime.sbrk for allocations
    # made before the Go runtime is up. -s -w: no symbol table nor DWARF.
    "$go" build -buildmode=c-shared -trimpath -ldflags='-s -w -checklinkname=0' -o "$tmp/core.wasm" .
) >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }

"$wasm_tools" component embed "$wit" --world executor-world "$tmp/core.wasm" -o "$tmp/embedded.wasm"
mkdir -p "$(dirname "$out")"
"$wasm_tools" component new "$tmp/embedded.wasm" --adapt "wasi_snapshot_preview1=$adapter" -o "$tmp/component.wasm"
mv "$tmp/component.wasm" "$out"
