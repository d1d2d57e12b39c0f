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
exec "$bin" serve --port "$port" --database "$work/events.db" --log-level warning
