#!/usr/bin/env bash
# Regenerates the Go bindings committed under internal/wit/ from wit/executor.wit.
# Users never run this: the generated files are committed. Run it after changing the WIT.
#
#   bash guest-sdk/go/regen.sh
#
# Uses wit-bindgen 0.63.0 from $FLOWHOST_TOOLCHAINS/wit-bindgen (installed there with cargo if
# missing) and gofmt from the Go toolchain in $FLOWHOST_TOOLCHAINS/venv (if present).
#
# wit-bindgen's Go output imports go.bytecodealliance.org/pkg/wit/{types,runtime} (go-pkg v0.4.0).
# No Go module proxy is needed: those two small packages are vendored as internal/wit/types and
# internal/wit/runtime (copied from the wit-bindgen-go crate, which bundles go-pkg, when its source
# is in the cargo registry) and the generated imports are rewritten to point at them.
set -euo pipefail

sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${FLOWHOST_HOME:-$(cd "$sdk/../.." && pwd)}"
toolchains="${FLOWHOST_TOOLCHAINS:-$home/.toolchains}"
wit_bindgen="$toolchains/wit-bindgen/bin/wit-bindgen"
module="example.invalid/flowhost/guest-sdk/go"
out="$sdk/internal/wit"

if [ ! -x "$wit_bindgen" ]; then
    echo "regen: installing wit-bindgen 0.63.0 into $toolchains/wit-bindgen"
    cargo install wit-bindgen-cli --version 0.63.0 --locked --no-default-features --features c,go \
        --root "$toolchains/wit-bindgen"
fi

# wit-bindgen formats its output with gofmt when it finds one on PATH.
if [ -x "$toolchains/venv/bin/go" ]; then
    PATH="$("$toolchains/venv/bin/go" env GOROOT)/bin:$PATH"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$wit_bindgen" go "$home/wit" --world executor-world --pkg-name "$module/internal/wit" \
    --out-dir "$tmp/gen" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }

# Replace the generated files; keep the hand-written export glue and the vendored go-pkg.
rm -rf "$out/imports" "$out/exports/wit_exports"
mkdir -p "$out/exports"
cp -r "$tmp/gen/imports" "$out/imports"
cp -r "$tmp/gen/exports/wit_exports" "$out/exports/wit_exports"

# Refresh the vendored go-pkg packages from the crate source, if cargo has it.
pkg_src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/wit-bindgen-go-0.63.0/src/pkg 2>/dev/null | head -n1 || true)"
if [ -n "$pkg_src" ] && [ -d "$pkg_src/wit/types" ]; then
    # Only what a world without async, futures or streams uses (future.go and stream.go
    # would pull in go-pkg's async package); add them here if the WIT ever needs them.
    rm -rf "$out/types" "$out/runtime"
    mkdir -p "$out/types" "$out/runtime"
    cp "$pkg_src"/wit/types/{option,result,tuple,unit}.go "$out/types/"
    cp "$pkg_src"/wit/runtime/{runtime.go,empty.s} "$out/runtime/"
    cp "$pkg_src/LICENSE" "$out/LICENSE.go-pkg"
fi
find "$out" -name '*.go' -print0 |
    xargs -0 sed -i "s#\"go.bytecodealliance.org/pkg/wit/#\"$module/internal/wit/#"
if command -v gofmt >/dev/null; then
    gofmt -w "$out"
fi
echo "regen: bindings written to $out"
