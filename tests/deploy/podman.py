"""podman as the image tests run it, and the image they build from deploy/Containerfile.

This machine has no Docker engine and no registry. podman runs containers here with
``--runtime runc --cgroup-manager cgroupfs``, a ``containers.conf`` (``CONTAINERS_CONF``)
with ``default_ulimits = []`` and ``--network host``; the base images the Containerfile
names are made by ``deploy/local-base-images.sh`` (mmdebstrap) when they are missing, so
the Containerfile stays the one users build elsewhere.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CONTAINERFILE = DEPLOY / "Containerfile"
NEEDED_COMMANDS = ("podman", "runc", "mmdebstrap")
DEBIAN_PACKAGES = "podman runc mmdebstrap"
IMAGE_REPOSITORY = "localhost/eventsapi-test"
BUILD_FILES = ("bytecode.py", "bytecode-modules.txt")
"""What deploy/Containerfile copies from deploy/ besides the wheels."""
RUNTIME_IMAGE = "gcr.io/distroless/python3-debian12:nonroot"
"""The Containerfile's default runtime base."""
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]
OTHER_ARCH = "arm64" if HOST_ARCH == "amd64" else "amd64"


def missing_commands() -> list[str]:
    return [name for name in NEEDED_COMMANDS if shutil.which(name) is None]


@dataclass(frozen=True)
class Podman:
    """``podman`` with the options that make it work on this machine."""

    conf: Path

    @classmethod
    def configured(cls, directory: Path) -> Podman:
        conf = directory / "containers.conf"
        # podman's default ulimits (nofile, nproc) cannot be set in this sandbox.
        conf.write_text("[containers]\ndefault_ulimits = []\n")
        return cls(conf)

    @property
    def options(self) -> list[str]:
        return ["--runtime", "runc", "--cgroup-manager", "cgroupfs"]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.conf)}

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["podman", *self.options, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"podman {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
            )
        return result

    def inspect(self, kind: str, name: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = json.loads(self(kind, "inspect", name).stdout)
        return found[0]

    def exit_code(self, container: str) -> int:
        """Wait for ``container`` to stop; its exit status as ``podman wait`` gives it."""
        return int(self("wait", container).stdout.strip())

    def remove(self, container: str) -> None:
        """Remove ``container`` and its anonymous volumes, whatever its state."""
        self("rm", "--force", "--volumes", "--time", "0", container, check=False)

    def logs(self, container: str) -> str:
        result = self("logs", container, check=False)
        return result.stdout + result.stderr


def build_base_images(podman: Podman, arch: str = HOST_ARCH) -> None:
    """Make the Containerfile's base images with mmdebstrap unless podman has them.

    For another architecture than this machine's, the runtime is named as distroless names
    its single-architecture tags (``:nonroot-arm64``).
    """
    other = [] if arch == HOST_ARCH else ["--arch", arch]
    subprocess.run(
        ["bash", str(DEPLOY / "local-base-images.sh"), *other],
        env={**podman.env, "PODMAN_OPTIONS": " ".join(podman.options)},
        check=True,
        timeout=600,
    )


_forgotten: list[bool] = []


def forget_earlier_builds(podman: Podman) -> None:
    """Remove the images and cached layers of earlier test runs, once per run.

    podman 4.3 reused the cached layers of ``COPY --from=builder`` made by a build of an
    earlier Containerfile, whose builder stage wrote other files (seen: an image of
    137.5 MB with the old stage's 12 MB of standard-library bytecode, where a build from
    nothing gives 97.1 MB). So a run builds its images from nothing, then reuses its own.
    """
    if _forgotten:
        return
    listed = podman("images", "--quiet", "--filter", f"reference={IMAGE_REPOSITORY}")
    for image in sorted(set(listed.stdout.split())):
        podman("rmi", "--force", image, check=False)
    podman("image", "prune", "--force", check=False)
    _forgotten.append(True)


def build_image(
    podman: Podman, context: Path, tag: str, version: str, arch: str = HOST_ARCH
) -> str:
    """Build deploy/Containerfile for ``arch``; the image's name.

    The context holds only the wheels (deploy/build-wheels.sh) and the files the build
    reads (``BUILD_FILES``), as deploy/ does once they are built, so the repository's own
    deploy/wheels/ is left alone. For another
    architecture, podman 4.3 needs BUILDPLATFORM given (newer podman and buildx set it).
    """
    forget_earlier_builds(podman)
    wheels = context / "wheels" / arch
    if not wheels.is_dir():
        subprocess.run(
            ["bash", str(DEPLOY / "build-wheels.sh"), arch, str(wheels)],
            env={**os.environ, "PYTHON": sys.executable},
            check=True,
            timeout=300,
        )
    for needed in BUILD_FILES:
        shutil.copy2(DEPLOY / needed, context / needed)
    name = f"{IMAGE_REPOSITORY}:{tag}"
    cross = (
        []
        if arch == HOST_ARCH
        else [
            f"--build-arg=BUILDPLATFORM=linux/{HOST_ARCH}",
            f"--build-arg=RUNTIME_IMAGE={RUNTIME_IMAGE}-{arch}",
        ]
    )
    podman(
        "build",
        "--pull=never",
        "--network=host",
        "--format=docker",
        f"--platform=linux/{arch}",
        *cross,
        f"--build-arg=VERSION={version}",
        # podman 4.3's layer cache ignores a changed build argument in LABEL (and building
        # without the cache deletes the runtime base image, the stage with no instruction).
        f"--label=org.opencontainers.image.version={version}",
        "--file",
        str(CONTAINERFILE),
        "--tag",
        name,
        str(context),
        timeout=600,
    )
    return name


@dataclass
class Container:
    """One container of the image, on the host's network, with its data in ``volume``."""

    podman: Podman
    image: str
    volume: str
    port: int
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"eventsapi-test-{uuid.uuid4().hex[:10]}"

    def run(self, *extra: str, anonymous_writes: bool = True) -> float:
        """Start it read-only, as the image's user, and wait for the first 200 of ``GET /``.

        Returns the seconds from ``podman run`` to that 200: an upper bound of the
        container's own start, since it includes podman creating the container.

        ``anonymous_writes``: the image listens on 0.0.0.0, where writes need an account
        unless anonymous writes are turned on; the tests that write (the tutorial's
        walk-through, the rolling upgrade's clients) do so without accounts, from this
        machine, so they turn them on (``False``: the image's own default).
        """
        began = time.monotonic()
        writes = ["--env=EVENTSAPI_ANONYMOUS_WRITES=on"] if anonymous_writes else []
        self.podman(
            "run",
            "--detach",
            "--name",
            self.name,
            "--network=host",
            "--read-only",
            # Only /tmp is writable besides the volume, as in the Kubernetes manifests
            # (podman would add /run and /var/tmp too).
            "--read-only-tmpfs=false",
            "--tmpfs=/tmp:rw,size=64m,mode=1777",
            f"--volume={self.volume}:/data",
            f"--env=EVENTSAPI_PORT={self.port}",
            *writes,
            *extra,
            self.image,
        )
        self.wait_for_200("/", began + 30)
        return time.monotonic() - began

    def wait_for_200(self, path: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.status("GET", path) == 200:
                    return
            time.sleep(0.005)
        raise AssertionError(f"no 200 on {path} from {self.name}:\n{self.podman.logs(self.name)}")

    def status(self, method: str, path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request(method, path)
            return conn.getresponse().status
        finally:
            conn.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, seconds: int = 40) -> int:
        """``podman stop``: the image's STOPSIGNAL (SIGTERM), then its exit status."""
        self.podman("stop", "--time", str(seconds), self.name, timeout=seconds + 30)
        return self.podman.exit_code(self.name)

    def host_pids(self) -> list[int]:
        out = self.podman("top", self.name, "hpid").stdout.split()
        return [int(word) for word in out[1:]]

    def memory_mb(self) -> tuple[float, float]:
        """Summed RSS and PSS of the container's processes (as bench/startup.py sums them)."""
        rss = pss = 0
        for pid in self.host_pids():
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        return rss / 1024, pss / 1024


@contextlib.contextmanager
def volume(podman: Podman) -> Iterator[str]:
    name = f"eventsapi-test-{uuid.uuid4().hex[:10]}"
    podman("volume", "create", name)
    try:
        yield name
    finally:
        podman("volume", "rm", "--force", name, check=False)


@contextlib.contextmanager
def containers(podman: Podman) -> Iterator[list[Container]]:
    """Every container appended to the list is removed at the end, whatever happened."""
    started: list[Container] = []
    try:
        yield started
    finally:
        for container in started:
            podman.remove(container.name)


def image_size_mb(podman: Podman, image: str) -> float:
    size: int = podman.inspect("image", image)["Size"]
    return size / 1e6


def run_python(podman: Podman, container: str, code: str) -> subprocess.CompletedProcess[str]:
    """``python3 -c code`` inside a running container (the image has no shell)."""
    return podman("exec", container, "python3", "-c", code, check=False)
