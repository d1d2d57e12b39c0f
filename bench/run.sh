#!/usr/bin/env bash
# Benchmark eventsapi beside the reference peers, in one run of the shared harness.
#
#   bench/run.sh [bench.py compare options...]     e.g. bench/run.sh --rounds 3
#   bench/run.sh --before OLD/bin/eventsapi [...]  also an older build, in the same run
#
# --before adds two entries right after eventsapi and eventsapi-postgres: the same start
# scripts with another eventsapi command (an older build in a venv of its own), named
# eventsapi-before and eventsapi-postgres-before, so that a change is measured against
# what it replaces in one run, rounds interleaved with every peer.
#
# BENCH_DIR is the harness's folder (default: ../shared/bench beside this repository).
# The config (bench/peers.json) lists eventsapi first, then the harness's own four peers;
# it is run from a scratch folder that links the harness's peers/ next to it, because
# bench.py starts each peer from its config's folder. eventsapi runs from ./.venv
# (install it first: see the README), pinned to CPU 0 like every peer.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_dir="$(cd "${BENCH_DIR:-$repo/../shared/bench}" && pwd)"
run_dir="$(mktemp -d)"
trap 'rm -rf "$run_dir"' EXIT
before=""
if [ "${1:-}" = "--before" ]; then
  before="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
  shift 2
fi
cp "$repo/bench/peers.json" "$repo/bench/eventsapi-start.sh" "$repo/bench/eventsapi-start-postgres.sh" \
  "$repo/bench/floor-start.sh" "$run_dir/"
ln -s "$bench_dir/peers" "$run_dir/peers"
if [ -n "$before" ]; then
  python3 - "$run_dir/peers.json" "$before" <<'PY'
import json, shlex, sys
path, before = sys.argv[1], sys.argv[2]
config = json.load(open(path))
peers = []
for peer in config["peers"]:
    peers.append(peer)
    if peer["name"].startswith("eventsapi"):
        old = dict(peer, name=peer["name"] + "-before", port=peer["port"] + 10)
        old["start"] = f"BENCH_EVENTSAPI_BIN={shlex.quote(before)} {peer['start']}"
        old["note"] = "the same, an older build (--before)"
        peers.append(old)
config["peers"] = peers
json.dump(config, open(path, "w"), indent=2)
PY
fi
export BENCH_EVENTSAPI_BIN="$repo/.venv/bin/eventsapi"
export BENCH_REPO="$repo"  # floor-start.sh serves bench/stack/floor.py with its .venv
cd "$bench_dir"
./bench.py compare --config "$run_dir/peers.json" "$@"
