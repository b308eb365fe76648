#!/usr/bin/env bash
# Checks the C SDK at the canonical-ABI level, without the host: builds the conformance
# executor (tests/conformance/c), transpiles it to JavaScript with jco and drives its WIT
# exports from node with hand-made batches (every dtype, 0-d and zero-size shapes, every field,
# deep trees, malformed batches), checking replies, errors, logging and that memory does not
# grow over 600 calls of ~1 MB. Needs the js toolchain (bash scripts/install-toolchains.sh js)
# besides the c one.
#
#   bash guest-sdk/c/tests/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${FLOWHOST_HOME:-$(cd "$here/../../.." && pwd)}"
toolchains="${FLOWHOST_TOOLCHAINS:-$home/.toolchains}"
jco="$toolchains/js/node_modules/.bin/jco"
[ -x "$jco" ] || { echo "run.sh: jco is missing; run: bash scripts/install-toolchains.sh js" >&2; exit 1; }
shim="$(dirname "$(find "$toolchains/js/node_modules" -type d -name preview2-shim -path '*@bytecodealliance*' | head -n1)")"
[ -d "$shim" ] || { echo "run.sh: @bytecodealliance/preview2-shim not found under $toolchains/js" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bash "$here/../build.sh" "$home/tests/conformance/c" "$tmp/conformance.wasm"
"$jco" transpile "$tmp/conformance.wasm" -o "$tmp/gen" --name conformance \
    --map 'flowhost:executor/logging=../logging.js' >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
# Lets the check read the guest's memory size.
sed -i 's/memory0 = \(exports[0-9]*\)\.memory;/&globalThis.__mem = memory0;/' "$tmp/gen/conformance.js"
cp "$here/abi_check.mjs" "$here/logging.js" "$tmp/"
echo '{"type": "module"}' >"$tmp/package.json"
mkdir -p "$tmp/node_modules"
ln -s "$shim" "$tmp/node_modules/@bytecodealliance"
(cd "$tmp" && node abi_check.mjs)
