#!/usr/bin/env bash
# cargo-deny over everything the workspace builds: licences (deny.toml's allow list), bans
# (wildcards; duplicate versions are reported) and sources (crates.io only).
#
# Installs the pinned cargo-deny with `cargo install --locked` when that version is missing
# (once per machine: it stays in ~/.cargo/bin). Advisories are not checked: the RustSec
# database is a git repository on GitHub, which this machine cannot reach; run
# `cargo deny check advisories` where GitHub is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.18.5
if [[ "$(cargo deny --version 2>/dev/null || true)" != "cargo-deny $CARGO_DENY_VERSION" ]]; then
    echo "== installing cargo-deny $CARGO_DENY_VERSION"
    cargo install --locked cargo-deny --version "$CARGO_DENY_VERSION"
fi
cargo deny --log-level error check licenses bans sources
