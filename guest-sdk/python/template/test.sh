#!/usr/bin/env bash
# Builds {{name}} and checks that it answers: bash test.sh
# Uses `flowhost` from PATH, or $FLOWHOST if set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
flowhost="${FLOWHOST:-flowhost}"

"$flowhost" build .
out="$("$flowhost" executor call --uses build/{{name}}.wasm --text hi)"
if grep -q "hello from {{name}}" <<< "$out"; then
    echo "ok: {{name}} answered"
else
    echo "FAIL: expected a document saying \"hello from {{name}}\", got:" >&2
    echo "$out" >&2
    exit 1
fi
