#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, build the
# guest components, check formatting and lints, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== guest components"
bash scripts/build-guests.sh

echo "== executors in Python, JavaScript, Go and C (toolchains, SDK tests, components)"
bash scripts/install-toolchains.sh all
bash scripts/test-sdks.sh
bash scripts/build-polyglot.sh

echo "== clippy (host crates, then guests for wasm32-wasip2)"
cargo clippy --all-targets -- -D warnings
guest_packages=()
for dir in examples/executors/*/ tests/guests/*/; do
    guest_packages+=(-p "$(basename "$dir")")
done
guest_packages+=(-p conformance-rust)
cargo clippy --release --target wasm32-wasip2 "${guest_packages[@]}" -p flowhost-guest -- -D warnings

echo "== cargo deny (licences, bans, sources)"
bash scripts/deny.sh

echo "== tests"
cargo test --no-fail-fast
