#!/usr/bin/env bash
# Put eventsapi and every package it needs, as wheels for one CPU architecture, into the
# image's build context. The Containerfile installs from these only (pip --no-index), so
# the build needs no network and installs exactly what was collected here.
#
#   deploy/build-wheels.sh [amd64|arm64] [DIR]     (default: this machine's, deploy/wheels/ARCH)
#
# Runs on any machine with Python 3 and pip: the wheels for the other architecture are
# downloaded, not built (every dependency publishes manylinux wheels for both).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
case "$(uname -m)" in
  aarch64 | arm64) host_arch=arm64 ;;
  *) host_arch=amd64 ;;
esac
arch="${1:-$host_arch}"
case "$arch" in
  amd64) machine=x86_64 ;;
  arm64) machine=aarch64 ;;
  *) echo "build-wheels: unknown architecture $arch (amd64 or arm64)" >&2; exit 2 ;;
esac
out="${2:-$repo/deploy/wheels/$arch}"

rm -rf "$out"
mkdir -p "$out"
# eventsapi itself: pure Python, the same wheel for every architecture.
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$out" "$repo"
# Its dependencies for the image's Python (Debian 12's CPython 3.11, glibc 2.36), with both
# extras: the image runs on PostgreSQL and shares limits through Redis when told to.
# pip evaluates the dependencies' markers with this interpreter, not the target's: redis
# needs async-timeout on Python < 3.11.3, and the runtime image's (Debian 12) is 3.11.2,
# so it is named here whatever Python runs this script.
"$python" -m pip download --quiet --only-binary=:all: \
  --implementation cp --python-version 3.11 --abi cp311 \
  --platform "manylinux_2_28_$machine" --platform "manylinux2014_$machine" \
  --dest "$out" "$(echo "$out"/eventsapi-*.whl)[postgres,redis]" 'async-timeout>=4.0.3'
echo "build-wheels: $(find "$out" -name '*.whl' | wc -l) wheels for $arch in $out"
# Debug information in compiled extensions (uvloop ships 11 MB of it): removed with a strip
# that reads the target's architecture. llvm-strip reads every one (Debian's llvm package);
# GNU strip only the machine's own. STRIP names another.
strip="${STRIP:-}"
if [ -z "$strip" ]; then
  if command -v llvm-strip >/dev/null; then
    strip=llvm-strip
  elif [ "$arch" = "$host_arch" ] && command -v strip >/dev/null; then
    strip=strip
  fi
fi
if [ -n "$strip" ]; then
  "$python" "$repo/deploy/strip-wheels.py" "$strip" "$out"
else
  echo "build-wheels: WARNING: no strip for $arch (install llvm for llvm-strip, or set STRIP):" \
    "the extensions keep their debug information, and the image is about 16 MB larger" >&2
fi
