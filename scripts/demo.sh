#!/usr/bin/env bash
# The README's demo: builds flowhost and the example executors, then runs the
# diamond flow's executors on one request (the gateway will serve it over
# HTTP once it lands).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
bash scripts/build-guests.sh >/dev/null
cargo build --release -p flowhost
./target/release/flowhost executor call \
    --uses target/wasm32-wasip2/release/foo_executor.wasm \
    --endpoint /index --text "hello world"
