#!/usr/bin/env bash
# Build, with mmdebstrap, stand-ins for the two base images deploy/Containerfile names, and
# import them into podman under those names. For machines that cannot pull images (this
# project's CI has Debian's package mirror but no container registry); everywhere else the
# real images are pulled as usual and this script is not needed.
#
#   deploy/local-base-images.sh [--force] [--arch arm64]
#
# - gcr.io/distroless/python3-debian12:nonroot (the runtime): Debian 12's Python 3.11 and
#   the libraries it links to, extracted without running any package script, as distroless
#   builds it; no shell, no package manager; /etc/passwd with nonroot (65532). Unlike the
#   real one it has no tzdata and no CA certificates (their dependencies would bring perl):
#   eventsapi needs neither (zoneinfo falls back to the tzdata wheel).
#   With --arch, the runtime for that architecture instead, named as distroless names its
#   single-architecture tags (:nonroot-arm64); extracting runs nothing, so no emulator.
# - docker.io/library/python:3.11-slim-bookworm (the builder, this machine's architecture):
#   Debian 12 with python3 and pip.
#
# Needs root (or a user podman), mmdebstrap and podman; about 20 s with a warm apt cache.

# The hooks below are shell text that mmdebstrap runs with the root directory as $1.
# shellcheck disable=SC2016
set -euo pipefail

RUNTIME_IMAGE="${RUNTIME_IMAGE:-gcr.io/distroless/python3-debian12:nonroot}"
BUILDER_IMAGE="${BUILDER_IMAGE:-docker.io/library/python:3.11-slim-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# shellcheck disable=SC2206 # options, split on purpose
PODMAN=(podman ${PODMAN_OPTIONS:-})
host_arch="$(dpkg --print-architecture)"
force=""
arch="$host_arch"
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=yes ;;
    --arch) arch="$2"; shift ;;
    *) echo "usage: $0 [--force] [--arch amd64|arm64]" >&2; exit 2 ;;
  esac
  shift
done

exists() { [ -z "$force" ] && "${PODMAN[@]}" image exists "$1"; }

runtime_image() {
  local arch="$1" name="$2"
  if exists "$name"; then
    echo "local-base-images: $name already there"
    return
  fi
  echo "local-base-images: building $name"
  # What distroless leaves out of the extracted packages: documentation, translations,
  # dpkg's, tar's and awk's programs (pulled in by Pre-Depends) and their data;
  # /var/lib/dpkg/status is kept so that image scanners still see the packages.
  mmdebstrap --quiet --variant=extract --architectures="$arch" \
    --include=base-files,netbase,python3.11-minimal,libpython3.11-stdlib,python3-minimal \
    --extract-hook='cd "$1" && rm -rf usr/share/doc usr/share/man usr/share/info \
      usr/share/locale usr/share/lintian usr/share/debconf usr/share/perl5 usr/share/dpkg \
      usr/share/python3 var/lib/dpkg/info var/cache/* var/log/* etc/dpkg usr/lib/dpkg \
      bin/tar usr/bin/dpkg* usr/sbin/dpkg* usr/bin/debconf* usr/bin/update-alternatives \
      usr/bin/openssl usr/bin/c_rehash usr/bin/py3* usr/bin/mawk' \
    --extract-hook='printf "%s\n" "root:x:0:0:root:/root:/sbin/nologin" "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin" "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" > "$1/etc/passwd"' \
    --extract-hook='printf "%s\n" "root:x:0:" "nobody:x:65534:" "tty:x:5:" "staff:x:50:" "nonroot:x:65532:" > "$1/etc/group"' \
    --extract-hook='mkdir -p "$1/tmp" "$1/root" "$1/home/nonroot" && chmod 1777 "$1/tmp" && chown 65532:65532 "$1/home/nonroot" && chmod 700 "$1/root"' \
    bookworm - "$MIRROR" |
    "${PODMAN[@]}" import --quiet --arch "$arch" \
      --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      --change 'USER 65532' --change 'WORKDIR /home/nonroot' \
      --change 'ENTRYPOINT ["/usr/bin/python3.11"]' \
      - "$name"
}

if [ "$arch" = "$host_arch" ]; then
  runtime_image "$arch" "$RUNTIME_IMAGE"
else
  runtime_image "$arch" "$RUNTIME_IMAGE-$arch"
fi

if exists "$BUILDER_IMAGE"; then
  echo "local-base-images: $BUILDER_IMAGE already there"
else
  echo "local-base-images: building $BUILDER_IMAGE"
  mmdebstrap --quiet --variant=minbase --include=python3,python3-pip \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/usr/share/doc "$1"/usr/share/man' \
    bookworm - "$MIRROR" |
    "${PODMAN[@]}" import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
      --change 'CMD ["python3"]' \
      - "$BUILDER_IMAGE"
fi
