#!/usr/bin/env bash
# Start eventsapi for bench.py on a fresh database in $BENCH_WORK_DIR.
# BENCH_EVENTSAPI_BIN overrides the command (default: eventsapi on PATH, else ../.venv).
set -euo pipefail
port="$1"
here="$(cd "$(dirname "$0")" && pwd)"
bin="${BENCH_EVENTSAPI_BIN:-}"
if [ -z "$bin" ]; then
  if [ -x "$here/../.venv/bin/eventsapi" ]; then bin="$here/../.venv/bin/eventsapi"; else bin="eventsapi"; fi
fi
work="${BENCH_WORK_DIR:-/tmp/bench-work}/eventsapi-$port"
rm -rf "$work" && mkdir -p "$work"
# The harness's 32 wrk connections all come from 127.0.0.1, and max_listings_per_client (2 by
# default) refused most list_page requests with 429: the benchmark allows more listings per
# address than it has connections, so that list_page measures listings. For this run only.
export EVENTSAPI_MAX_LISTINGS_PER_CLIENT=64
exec "$bin" serve --port "$port" --database "$work/events.db" --log-level warning
