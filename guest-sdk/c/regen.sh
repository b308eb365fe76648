#!/usr/bin/env bash
# Regenerates the C bindings committed under bindings/ from wit/executor.wit.
# Users never run this: the generated files are committed. Run it after changing the WIT.
#
#   bash guest-sdk/c/regen.sh
#
# Uses wit-bindgen 0.63.0 from $FLOWHOST_TOOLCHAINS/wit-bindgen (installed there with cargo if
# missing). Writes bindings/executor_world.{h,c} and bindings/executor_world_component_type.o
# (the component-type custom section that `wasm-tools component new` reads).
set -euo pipefail

sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${FLOWHOST_HOME:-$(cd "$sdk/../.." && pwd)}"
toolchains="${FLOWHOST_TOOLCHAINS:-$home/.toolchains}"
wit_bindgen="$toolchains/wit-bindgen/bin/wit-bindgen"
out="$sdk/bindings"

if [ ! -x "$wit_bindgen" ]; then
    echo "regen: installing wit-bindgen 0.63.0 into $toolchains/wit-bindgen"
    cargo install wit-bindgen-cli --version 0.63.0 --locked --no-default-features --features c,go \
        --root "$toolchains/wit-bindgen"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$wit_bindgen" c "$home/wit" --world executor-world --out-dir "$tmp/gen" >"$tmp/log" 2>&1 ||
    { cat "$tmp/log" >&2; exit 1; }

mkdir -p "$out"
rm -f "$out"/executor_world*
cp "$tmp/gen"/executor_world.h "$tmp/gen"/executor_world.c \
    "$tmp/gen"/executor_world_component_type.o "$out/"
echo "regen: bindings written to $out"
