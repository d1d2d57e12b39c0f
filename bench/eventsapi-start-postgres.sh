#!/usr/bin/env bash
# Start eventsapi for bench.py on PostgreSQL, in a fresh schema of the local server.
# BENCH_POSTGRES_URL is the server (default: the local test server, trust auth);
# BENCH_EVENTSAPI_BIN overrides the command (default: eventsapi on PATH, else ../.venv).
set -euo pipefail
port="$1"
here="$(cd "$(dirname "$0")" && pwd)"
bin="${BENCH_EVENTSAPI_BIN:-}"
if [ -z "$bin" ]; then
  if [ -x "$here/../.venv/bin/eventsapi" ]; then bin="$here/../.venv/bin/eventsapi"; else bin="eventsapi"; fi
fi
server="${BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
schema="bench_eventsapi_$port"
psql "$server" -q -v ON_ERROR_STOP=1 \
  -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" >/dev/null
exec "$bin" serve --port "$port" --log-level warning \
  --database "$server?options=-csearch_path%3D$schema"
