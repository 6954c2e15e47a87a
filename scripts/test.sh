#!/usr/bin/env bash
# Install everything the tests need (Chromium from Debian, the project with its test extras, the JupyterHub tests'
# proxy) and run every test.
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_system_packages
ensure_venv
log "installing jupyter-duel with its test dependencies"
"$VENV/bin/python" -m pip install --quiet ".[test]"
ensure_hub_proxy

mkdir -p test-artifacts
log "running the test suite"
set +e
"$VENV/bin/pytest" -ra "$@"
status=$?
set -e
# pytest's 5 means no test ran: that is a failure here.
[ "$status" -eq 5 ] && die "no tests were collected"
exit "$status"
