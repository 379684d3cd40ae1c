#!/usr/bin/env bash
# Starts corral in the foreground on 127.0.0.1:PORT, on a fresh empty SQLite
# database, configured for an upstream conformance profile; stops on SIGTERM.
# Usage: serve.sh PORT [PROFILE]
set -euo pipefail
PORT="${1:?usage: serve.sh PORT [PROFILE]}"
PROFILE="${2:-${CONFORMANCE_PROFILE:-default}}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/corral-conformance.XXXXXX")"
cleanup() { rm -rf "$DIR"; }
trap cleanup EXIT
"$ROOT/.venv/bin/corral" --database "sqlite:///$DIR/corral.db" \
    serve --host 127.0.0.1 --port "$PORT" --conformance-profile "$PROFILE" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; cleanup; exit 0' TERM INT
wait $child
