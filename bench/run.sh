#!/usr/bin/env bash
# Benchmark eventsapi beside the reference peers, in one run of the shared harness.
#
#   bench/run.sh [bench.py compare options...]     e.g. bench/run.sh --rounds 3
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
cp "$repo/bench/peers.json" "$repo/bench/eventsapi-start.sh" "$repo/bench/eventsapi-start-postgres.sh" "$run_dir/"
ln -s "$bench_dir/peers" "$run_dir/peers"
export BENCH_EVENTSAPI_BIN="$repo/.venv/bin/eventsapi"
cd "$bench_dir"
./bench.py compare --config "$run_dir/peers.json" "$@"
