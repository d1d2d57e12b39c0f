#!/usr/bin/env bash
# Measure the stack's floor on this machine: GET /events/1 at 32 connections,
# server on CPU 0, wrk on CPU 1, one worker each. Usage: bench/stack/run.sh [seconds]
# Needs wrk and the project's venv (.venv) with granian, uvicorn and uvloop.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${VENV:-$here/../../.venv}"
secs="${1:-10}"
port=8099
run() {
  local name="$1"; shift
  (cd "$here" && exec taskset -c 0 "$@") >/dev/null 2>&1 &
  local pid=$!
  sleep 2
  taskset -c 1 wrk -t1 -c32 -d2s "http://127.0.0.1:$port/events/1" >/dev/null
  local rps
  rps=$(taskset -c 1 wrk -t1 -c32 -d"${secs}s" "http://127.0.0.1:$port/events/1" | awk '/Requests\/sec/ {print $2}')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf '%-40s %10s req/s\n' "$name" "$rps"
}
run "bare ASGI on granian" "$venv/bin/granian" --interface asgi --loop uvloop --no-ws --log-level warning --port $port asgi_bare:app
run "Starlette + msgspec on granian" "$venv/bin/granian" --interface asgi --loop uvloop --no-ws --log-level warning --port $port starlette_min:app
if [ -x "$venv/bin/uvicorn" ]; then
  run "Starlette + msgspec on uvicorn+uvloop" "$venv/bin/uvicorn" --loop uvloop --http httptools --no-access-log --log-level warning --port $port starlette_min:app
fi
