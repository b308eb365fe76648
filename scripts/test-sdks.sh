#!/usr/bin/env bash
# Each guest SDK's own tests, run natively in its language (the Rust SDK's run with
# `cargo test`): the parts that need no host (batch <-> tree, tensors, decorators and
# dispatch), and the C SDK's canonical-ABI checks through jco. The host-side conformance
# suite (tests/all/conformance.rs) then runs every language's component.
# Needs the toolchains: bash scripts/install-toolchains.sh all
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
toolchains="${FLOWHOST_TOOLCHAINS:-$root/.toolchains}"
export FLOWHOST_HOME="$root" FLOWHOST_TOOLCHAINS="$toolchains"

echo "-- python SDK"
"$toolchains/venv/bin/python" -m unittest discover -s guest-sdk/python/tests
echo "-- js SDK"
node --test guest-sdk/js/test/
echo "-- go SDK"
(
    cd guest-sdk/go
    export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOWORK=off
    export GOCACHE="$toolchains/go/cache" GOPATH="$toolchains/go/path" GOMODCACHE="$toolchains/go/mod"
    "$toolchains/venv/bin/go" test ./...
)
echo "-- c SDK"
bash guest-sdk/c/tests/run.sh
