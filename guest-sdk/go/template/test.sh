#!/usr/bin/env bash
# Builds {{name}} and checks that it answers. Uses `flowhost` from PATH, or $FLOWHOST.
set -euo pipefail
cd "$(dirname "$0")"
flowhost="${FLOWHOST:-flowhost}"

"$flowhost" build .
out="$("$flowhost" executor call --uses build/{{name}}.wasm --text hi)"
if ! grep -q "hello from {{name}}" <<<"$out"; then
    echo "test.sh: expected \"hello from {{name}}\" in:" >&2
    echo "$out" >&2
    exit 1
fi
echo "test.sh: ok"
