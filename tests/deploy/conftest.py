"""Fixtures of the deployment tests.

- ``podman``: podman configured for this machine (see ``tests/deploy/podman.py``); fails,
  naming the Debian packages to install, where podman, runc or mmdebstrap is missing.
- ``images``: two tags of the image built from deploy/Containerfile (``old`` and ``new``,
  differing by their version label), built once per session.
- ``helm``: the chart's renderer (``tests/deploy/manifests.py``), built once per session.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.manifests import Helm, build_helm_render
from tests.deploy.podman import (
    DEBIAN_PACKAGES,
    Podman,
    build_base_images,
    build_image,
    missing_commands,
)


@dataclass(frozen=True)
class Images:
    old: str
    new: str


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    missing = missing_commands()
    if missing:
        pytest.fail(
            f"the image tests need {', '.join(missing)}: "
            f"apt-get install --no-install-recommends {DEBIAN_PACKAGES}"
        )
    return Podman.configured(tmp_path_factory.mktemp("podman"))


@pytest.fixture(scope="session")
def images(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> Images:
    build_base_images(podman)
    context: Path = tmp_path_factory.mktemp("context")
    return Images(
        old=build_image(podman, context, "old", "0.1.0"),
        new=build_image(podman, context, "new", "0.1.1"),
    )


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    scratch = tmp_path_factory.mktemp("helm")
    return Helm(build_helm_render(scratch / "helm-render"), scratch)
