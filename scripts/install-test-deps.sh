#!/usr/bin/env bash
# Install what the tests need beyond Rust:
# - .venv-tools: schemathesis, the OpenAPI-driven fuzzer tests/all/openapi_fuzz.rs runs against
#   the HTTP gateway, and kubernetes-validate and check-jsonschema, which tests/all/export.rs
#   validates the exports with (pinned with their dependencies in
#   tests/python/requirements-tools.txt);
# - for the registry tests, Debian's distribution registry (`docker-registry`, the reference
#   OCI registry) and skopeo.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# The fuzzer's venv, made as scripts/jina-venv.sh makes .venv-jina: redone only when the
# pinned list changes.
tools_venv=.venv-tools
tools_requirements=tests/python/requirements-tools.txt
tools_stamp="$tools_venv/.requirements.sha256"
tools_want=$(sha256sum "$tools_requirements" | cut -d' ' -f1)
if [ -x "$tools_venv/bin/schemathesis" ] && [ "$(cat "$tools_stamp" 2>/dev/null)" = "$tools_want" ]; then
    echo "install-test-deps: $tools_venv is up to date"
else
    python=${PYTHON:-python3}
    # schemathesis 4 needs Python 3.11 or newer.
    if ! "$python" -c 'import sys; sys.exit(not sys.version_info[:2] >= (3, 11))' 2>/dev/null; then
        for candidate in python3.13 python3.12 python3.11; do
            if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
        done
    fi
    echo "install-test-deps: creating $tools_venv with $("$python" --version 2>&1)"
    "$python" -m venv "$tools_venv"
    "$tools_venv/bin/pip" install --quiet --disable-pip-version-check -r "$tools_requirements"
    echo "$tools_want" > "$tools_stamp"
fi

need=()
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)

if [ "${#need[@]}" -eq 0 ]; then
    echo "install-test-deps: docker-registry and skopeo already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-test-deps: need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
    SUDO="sudo"
fi

echo "install-test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"

# The Debian package may start a system registry on :5000 where an init system runs; the
# tests start their own on free loopback ports, so that one is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
    $SUDO systemctl stop docker-registry || true
fi
echo "install-test-deps: done"
