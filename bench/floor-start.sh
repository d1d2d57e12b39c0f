#!/usr/bin/env bash
# Start the stack's floor for bench.py: bench/stack/floor.py on granian, one worker, as
# eventsapi serves (uvloop, no websockets). Usage: floor-start.sh PORT asgi|rsgi
# BENCH_REPO is this repository (bench/run.sh sets it); its .venv has granian.
set -euo pipefail
port="$1"
interface="$2"
repo="${BENCH_REPO:-$(cd "$(dirname "$0")/.." && pwd)}"
target="floor:app"
if [ "$interface" = "rsgi" ]; then target="floor:rsgi"; fi
exec "$repo/.venv/bin/granian" --interface "$interface" --loop uvloop --no-ws \
  --log-level warning --port "$port" --working-dir "$repo/bench/stack" "$target"
