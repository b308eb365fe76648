#!/usr/bin/env bash
# Installs what building and testing flowhost needs on a fresh machine.
# Idempotent: each step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$component"; then
        rustup component add "$component"
    fi
done
# The stock Jina client for the gateway's end-to-end tests (skipped by the demo).
if [ "${FLOWHOST_SKIP_JINA_VENV:-0}" != 1 ]; then
    bash scripts/jina-venv.sh
fi
if [ -f scripts/install-test-deps.sh ]; then
    bash scripts/install-test-deps.sh
fi
