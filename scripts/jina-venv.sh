#!/usr/bin/env bash
# Creates .venv-jina: the stock Jina client (jina 3.34.0, docarray 0.21.1, pinned in
# tests/python/requirements.txt, a copy of the reference harness's list) plus
# openapi-spec-validator, for the end-to-end tests that talk to flowhost as Jina's users do.
# Idempotent: does nothing when the venv already has every package.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-jina
python=${PYTHON:-python3}
stamp="$venv/.requirements.sha256"
want=$(cat tests/python/requirements.txt tests/python/requirements-extra.txt | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "jina-venv: $venv is up to date"
    exit 0
fi
# Jina 3.34 and numpy 1.26 have no wheels past Python 3.12.
if ! "$python" -c 'import sys; sys.exit(not ((3, 8) <= sys.version_info[:2] <= (3, 12)))'; then
    for candidate in python3.12 python3.11 python3.10; do
        if command -v "$candidate" >/dev/null 2>&1; then python=$candidate; break; fi
    done
fi
echo "jina-venv: creating $venv with $("$python" --version 2>&1)"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    -r tests/python/requirements.txt -r tests/python/requirements-extra.txt
echo "$want" > "$stamp"
echo "jina-venv: done"
