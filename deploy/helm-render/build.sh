#!/usr/bin/env bash
# Build helm-render (main.go) with Debian's Go packages, offline:
#
#   apt-get install golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev \
#     golang-github-xeipuuv-gojsonschema-dev
#   deploy/helm-render/build.sh OUTPUT
#
# Debian installs Go sources under /usr/share/gocode/src for GOPATH mode; sprig and semver
# are modules at major version 3, imported as .../v3, which GOPATH mode finds only in a
# directory of that name: a scratch GOPATH holds those two links in front of Debian's.
set -euo pipefail

output="$(realpath -m "${1:?usage: build.sh OUTPUT}")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
debian=/usr/share/gocode
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for module in sprig semver; do
  mkdir -p "$scratch/src/github.com/Masterminds/$module"
  ln -s "$debian/src/github.com/Masterminds/$module" "$scratch/src/github.com/Masterminds/$module/v3"
done
cd "$here"
GO111MODULE=off GOPATH="$scratch:$debian" GOFLAGS="" go build -o "$output" .
