#!/usr/bin/env bash
# Builds a JavaScript/TypeScript executor project into a flowhost component.
#
#   guest-sdk/js/build.sh <project-dir> <out.wasm>
#
# The entry is package.json's "main", else executor.js (or executor.ts). The SDK
# (`import ... from 'flowhost'`) and the project's own imports are bundled into
# one module and componentized.
#
# Environment:
#   FLOWHOST_HOME        the flowhost repository (default: two levels above this script)
#   FLOWHOST_TOOLCHAINS  where install-toolchains.sh put the toolchains (default: $FLOWHOST_HOME/.toolchains)
#   FLOWHOST_JS_ENGINE   starlingmonkey (componentize-js, default) or quickjs (componentize-qjs)
#   FLOWHOST_JS_HTTP=1   keep StarlingMonkey's fetch() (needs a host that links wasi:http)
#   FLOWHOST_JS_VERBOSE=1  print the steps and their times
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 <project-dir> <out.wasm>" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FLOWHOST_HOME="${FLOWHOST_HOME:-$(cd "$here/../.." && pwd)}"
FLOWHOST_TOOLCHAINS="${FLOWHOST_TOOLCHAINS:-$FLOWHOST_HOME/.toolchains}"
export FLOWHOST_HOME FLOWHOST_TOOLCHAINS

modules="$FLOWHOST_TOOLCHAINS/js/node_modules"
case "${FLOWHOST_JS_ENGINE:-starlingmonkey}" in
    quickjs | qjs | componentize-qjs) needed="componentize-qjs" ;;
    *) needed="@bytecodealliance/componentize-js" ;;
esac
if ! command -v node >/dev/null 2>&1; then
    echo "error: node (18 or newer) is needed to build JavaScript executors" >&2
    exit 1
fi
for package in "$needed" rolldown @bytecodealliance/jco; do
    if [[ ! -d "$modules/$package" ]]; then
        echo "error: the JavaScript toolchain is missing ($modules/$package); install it with: bash scripts/install-toolchains.sh js" >&2
        exit 1
    fi
done

exec node "$here/tools/build.mjs" "$1" "$2"
