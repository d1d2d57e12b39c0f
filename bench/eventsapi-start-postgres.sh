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
# The harness's 32 wrk connections all come from 127.0.0.1, and max_listings_per_client (2 by
# default) refused most list_page requests with 429: the benchmark allows more listings per
# address than it has connections, so that list_page measures listings. For this run only.
export EVENTSAPI_MAX_LISTINGS_PER_CLIENT=64
exec "$bin" serve --port "$port" --log-level warning \
  --database "$server?options=-csearch_path%3D$schema"
