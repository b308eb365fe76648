#!/usr/bin/env bash
# Builds the example and conformance executors written in every language but Rust
# (scripts/build-guests.sh builds the Rust ones) into target/polyglot/<lang>/<name>.wasm,
# with each language's own recipe, guest-sdk/<lang>/build.sh. A component newer than
# everything it is built from (its project, its SDK, the WIT) is kept.
#
# Usage: bash scripts/build-polyglot.sh [python|js|go|c|floors ...]   (default: the four languages)
# `floors` builds the benchmark's toolchain floors (tests/floors: no SDK) into
# target/polyglot/<lang>-floor/floor.wasm.
# Needs the toolchains: bash scripts/install-toolchains.sh all
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
    /*) ;;
    *) target_dir="$root/$target_dir" ;;
esac
export FLOWHOST_HOME="$root"

languages=("$@")
[ ${#languages[@]} -gt 0 ] || languages=(python js go c)

# Whether $1 is older than any file under the folders that follow.
stale() {
    local out=$1
    shift
    [ ! -f "$out" ] || [ -n "$(find "$@" -type f -newer "$out" -not -path '*/build/*' -not -path '*/node_modules/*' -print -quit)" ]
}

# build LANGUAGE PROJECT OUT: one component, unless it is newer than its sources.
build() {
    local language=$1 project=$2 out=$3 sdk="guest-sdk/$1"
    if stale "$out" "$project" "$sdk" wit; then
        mkdir -p "$(dirname "$out")"
        local started elapsed_ms
        started=$(date +%s%N)
        bash "$sdk/build.sh" "$project" "$out"
        elapsed_ms=$((($(date +%s%N) - started) / 1000000))
        echo "build-polyglot: $out ($(du -h "$out" | cut -f1)) in ${elapsed_ms} ms"
    else
        echo "build-polyglot: $out is up to date"
    fi
}

# The floors: the Python one goes straight to componentize-py, the JS one through the
# SDK's build without the SDK (FLOWHOST_JS_NO_SDK).
build_floors() {
    local python_out="$target_dir/polyglot/python-floor/floor.wasm"
    if stale "$python_out" tests/floors/python wit; then
        mkdir -p "$(dirname "$python_out")"
        local toolchains="${FLOWHOST_TOOLCHAINS:-$root/.toolchains}"
        (
            cd tests/floors/python
            unset VIRTUAL_ENV PYTHONPATH
            export PYTHONDONTWRITEBYTECODE=1
            "$toolchains/venv/bin/componentize-py" -q -d "$root/wit" -w executor-world \
                componentize -p . app -o "$python_out"
        )
        echo "build-polyglot: $python_out"
    fi
    local js_out="$target_dir/polyglot/js-floor/floor.wasm"
    if stale "$js_out" tests/floors/js guest-sdk/js/tools wit; then
        FLOWHOST_JS_NO_SDK=1 bash guest-sdk/js/build.sh tests/floors/js "$js_out"
        echo "build-polyglot: $js_out"
    fi
}

for language in "${languages[@]}"; do
    if [ "$language" = floors ]; then
        build_floors
        continue
    fi
    [ -f "guest-sdk/$language/build.sh" ] || { echo "build-polyglot: no guest-sdk/$language/build.sh" >&2; exit 1; }
    out_dir="$target_dir/polyglot/$language"
    for project in examples/"$language"/*/; do
        project=${project%/}
        build "$language" "$project" "$out_dir/$(basename "$project").wasm"
    done
    build "$language" "tests/conformance/$language" "$out_dir/conformance.wasm"
    if [ "$language" = js ]; then
        # The QuickJS build (`FLOWHOST_JS_ENGINE=quickjs`): small and fast to start, and
        # held to the same conformance suite.
        FLOWHOST_JS_ENGINE=quickjs build js examples/js/foo "$target_dir/polyglot/js-quickjs/foo.wasm"
        FLOWHOST_JS_ENGINE=quickjs build js tests/conformance/js "$target_dir/polyglot/js-quickjs/conformance.wasm"
    fi
done
