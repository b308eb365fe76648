#!/usr/bin/env bash
# Builds {{name}} and checks that it greets: uses `flowhost` from PATH, or $FLOWHOST.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
flowhost="${FLOWHOST:-flowhost}"

"$flowhost" build .
out="$("$flowhost" executor call --uses build/{{name}}.wasm --text hi)"
if [[ "$out" != *"hello from {{name}}"* ]]; then
    echo "test failed: expected \"hello from {{name}}\" in:" >&2
    echo "$out" >&2
    exit 1
fi
echo "ok: {{name}} says hello"
