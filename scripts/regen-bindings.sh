#!/usr/bin/env bash
# Regenerates what is committed so that users never generate it, after wit/executor.wit
# changes: the C and Go bindings (each SDK's regen.sh, with wit-bindgen 0.63.0, installed
# into .toolchains/wit-bindgen on first use: about 4 minutes of cargo) and the WASI
# preview1 reactor adapter (from the wasi-preview1-component-adapter-provider crate that
# matches the host's Wasmtime). Python and JavaScript bindings are generated at build time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FLOWHOST_HOME="$root"
export FLOWHOST_TOOLCHAINS="${FLOWHOST_TOOLCHAINS:-$root/.toolchains}"

for regen in "$root"/guest-sdk/*/regen.sh; do
    echo "regen-bindings: $regen"
    bash "$regen"
done

# The adapter: fetched by cargo from crates.io, copied out of the registry's sources.
adapter_version=48.0.1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/src"
: > "$scratch/src/lib.rs"
cat > "$scratch/Cargo.toml" <<TOML
[package]
name = "adapter-fetch"
version = "0.0.0"
edition = "2021"
[dependencies]
wasi-preview1-component-adapter-provider = "=$adapter_version"
TOML
cargo fetch --quiet --manifest-path "$scratch/Cargo.toml"
source=$(cargo metadata --quiet --format-version 1 --manifest-path "$scratch/Cargo.toml" |
    python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"]=="wasi-preview1-component-adapter-provider"))')
cp "$(dirname "$source")/artefacts/wasi_snapshot_preview1.reactor.wasm" "$root/guest-sdk/adapter/"
echo "regen-bindings: adapter $adapter_version copied to guest-sdk/adapter/"
