#!/usr/bin/env bash
# The README's demo: builds flowhost and the example executors, then serves
# examples/flows/demo.yml (HTTP on 12345, gRPC on 12346, WebSocket on 12347)
# until Ctrl-C. Talk to it with the curl line in the README.
set -euo pipefail
cd "$(dirname "$0")/.."

FLOWHOST_SKIP_JINA_VENV=1 bash scripts/setup.sh >/dev/null
bash scripts/build-guests.sh >/dev/null
cargo build --release -p flowhost
exec ./target/release/flowhost run examples/flows/demo.yml
