#!/usr/bin/env bash
# Builds every guest component (example executors and the misbehaving test
# guests) for wasm32-wasip2 in release mode. A wasm32-wasip2 cdylib comes out
# as a component: $CARGO_TARGET_DIR/wasm32-wasip2/release/<crate_name>.wasm.
#
# Usage: bash scripts/build-guests.sh [extra cargo args...]
# Honours CARGO_TARGET_DIR (default: <repo>/target).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

GUESTS=(
    foo-executor
    bar-executor
    baz-executor
    param-printer
    request-router
    tagger
    indexer
    noop-executor
    trap-guest
    loop-guest
    memory-bomb
    escape-guest
    hostile-output
    slow-guest
    conformance-rust
)

# Idempotent; fails only if rustup itself is missing, which the build would too.
rustup target add wasm32-wasip2 >/dev/null

packages=()
for guest in "${GUESTS[@]}"; do
    packages+=(-p "$guest")
done
# Guests ship without debug info: a third of the size, so less to compile and pull.
CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo \
    cargo build --release --target wasm32-wasip2 "${packages[@]}" "$@"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
    /*) ;;
    *) target_dir="$root/$target_dir" ;;
esac
out="$target_dir/wasm32-wasip2/release"
echo "guest components in $out:"
for guest in "${GUESTS[@]}"; do
    wasm="$out/${guest//-/_}.wasm"
    if [[ ! -f "$wasm" ]]; then
        echo "missing: $wasm" >&2
        exit 1
    fi
    echo "  $wasm"
done
