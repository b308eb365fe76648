#!/usr/bin/env bash
# The reliability suite at full length (RELIABILITY.md says what each part shows):
#   - the soak: `flowhost run` under a steady mixed gRPC/HTTP/WebSocket load for
#     SOAK_SECONDS (default 600), every reply matched to its request, RSS and fds flat;
#   - the attacks of tests/all/hardening.rs (hostile guest output, length-prefix floods,
#     compression bombs, the memory budget, slow/oversized/idle clients, connection floods,
#     a silent remote executor, shutdown with streams open);
#   - the misbehaving guests of tests/all/containment.rs;
#   - remote executors that fail, die and come back (tests/all/external.rs, reliability.rs).
# The default test run (scripts/test.sh) runs the same tests with a 15 s soak.
#
# Usage: bash scripts/reliability.sh [SOAK_SECONDS]
# Writes the log to bench-out/reliability.log.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-guests.sh >/dev/null
mkdir -p bench-out
export FLOWHOST_SOAK_SECS="${1:-600}"
echo "== reliability suite, soak of ${FLOWHOST_SOAK_SECS} s"
cargo test -p flowhost-tests --test all -- --nocapture --test-threads 1 \
    hardening:: reliability:: containment:: external:: 2>&1 | tee bench-out/reliability.log
