#!/usr/bin/env bash
# Builds the executor, calls it once, and checks its answer.
set -euo pipefail
cd "$(dirname "$0")"
flowhost=${FLOWHOST:-flowhost}
"$flowhost" build . >/dev/null
out=$("$flowhost" executor call --uses build/{{name}}.wasm --text hi)
if ! grep -q "hello from {{name}}" <<<"$out"; then
    echo "test failed: expected 'hello from {{name}}' in:" >&2
    echo "$out" >&2
    exit 1
fi
echo "ok: {{name}} answered"
