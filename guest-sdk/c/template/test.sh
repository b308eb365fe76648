#!/usr/bin/env bash
# Builds {{name}} and checks that it answers: `bash test.sh`.
# Uses `flowhost` from PATH, or the binary named by $FLOWHOST.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
flowhost="${FLOWHOST:-flowhost}"

"$flowhost" build .
out="$("$flowhost" executor call --uses build/{{name}}.wasm --text hi)"
if grep -q "hello from {{name}}" <<<"$out"; then
    echo "test.sh: ok: {{name}} answered"
else
    echo "test.sh: FAILED: {{name}} did not answer 'hello from {{name}}':" >&2
    echo "$out" >&2
    exit 1
fi
