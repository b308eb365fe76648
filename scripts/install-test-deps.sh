#!/usr/bin/env bash
# Install what the registry tests need: Debian's distribution registry (`docker-registry`,
# the reference OCI registry) and skopeo. Idempotent: installs only what is missing.
set -euo pipefail

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
