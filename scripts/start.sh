#!/usr/bin/env bash
# Install jupyter-duel into ./.venv and start JupyterLab with the duel panel and the embedded central service.
# Usage: bash scripts/start.sh [extra jupyter lab arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_venv
log "installing jupyter-duel (builds the JupyterLab extension once)"
"$VENV/bin/python" -m pip install --quiet .
labextensions="$("$VENV/bin/jupyter" labextension list 2>&1)"
serverextensions="$("$VENV/bin/jupyter" server extension list 2>&1)"
grep -q "jupyter-duel.*enabled" <<<"$labextensions" || die "the jupyter-duel labextension is not enabled"
grep -q "jupyter_duel.*enabled" <<<"$serverextensions" || die "the jupyter_duel server extension is not enabled"

args=(--ip="${JUPYTER_DUEL_IP:-127.0.0.1}" --port="${JUPYTER_DUEL_PORT:-8888}")
[ "$(id -u)" = 0 ] && args+=(--allow-root)
log "starting JupyterLab: open the Duel panel in the left sidebar"
exec "$VENV/bin/jupyter" lab "${args[@]}" "$@"
