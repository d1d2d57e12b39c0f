"""Rendering the Kubernetes manifests of deploy/: Kustomize overlays and the Helm chart.

Kustomize through ``kubectl kustomize``; the chart through ``helm-render``
(deploy/helm-render: Go's text/template with sprig, as Helm renders), built once per session
from Debian's Go packages. Objects are compared as parsed YAML, keyed by kind and name.
"""

from __future__ import annotations

import copy
import difflib
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.podman import DEPLOY

KUSTOMIZE = DEPLOY / "kustomize"
OVERLAYS = KUSTOMIZE / "overlays"
MONITORING = KUSTOMIZE / "components" / "monitoring"
CHART = DEPLOY / "helm" / "eventsapi"
SETUPS = ("single", "cluster", "raspberry-pi", "cluster-monitoring")
"""The setups both tools make: overlays/<setup> and the chart's ci/<setup>-values.yaml."""

GO_PACKAGES = (
    "golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev "
    "golang-github-xeipuuv-gojsonschema-dev"
)
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
"""Labels Helm charts add by convention, which a Kustomize overlay has no reason to."""
HELM_ONLY_POD_ANNOTATIONS = ("checksum/config",)
"""The chart rolls the pods when its ConfigMap changes (kustomize users restart them)."""
HELM_ONLY_ANNOTATIONS = ("helm.sh/resource-policy",)
"""The chart keeps the SQLite claim when the release goes (kubectl delete -k deletes it)."""

Key = tuple[str, str]
Objects = dict[Key, dict[str, Any]]


def parse(text: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(text) if document]


def keyed(objects: Iterable[dict[str, Any]]) -> Objects:
    found: Objects = {}
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        assert key not in found, f"{key} rendered twice"
        found[key] = obj
    return found


def kubectl_kustomize(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        ["kubectl", "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


def kustomize_setup(setup: str, scratch: Path) -> list[dict[str, Any]]:
    """An overlay; ``cluster-monitoring`` is the cluster overlay with the monitoring component."""
    if setup != "cluster-monitoring":
        return kubectl_kustomize(OVERLAYS / setup)
    directory = scratch / "cluster-monitoring"
    directory.mkdir(exist_ok=True)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [_relative(OVERLAYS / "cluster", directory)],
        "components": [_relative(MONITORING, directory)],
    }
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return kubectl_kustomize(directory)


def _relative(target: Path, start: Path) -> str:
    # kustomize takes paths relative to the kustomization: this one climbs out of tmp.
    return os.path.relpath(target, start)


def build_helm_render(output: Path) -> Path:
    sprig = Path("/usr/share/gocode/src/github.com/Masterminds/sprig")
    if shutil.which("go") is None or not sprig.is_dir():
        raise AssertionError(
            f"helm-render needs Debian's Go packages: apt-get install {GO_PACKAGES}"
        )
    subprocess.run(
        ["bash", str(DEPLOY / "helm-render" / "build.sh"), str(output)],
        check=True,
        timeout=300,
    )
    return output


class Helm:
    """``helm template`` for the chart in deploy/helm/eventsapi, through helm-render."""

    def __init__(self, binary: Path, scratch: Path) -> None:
        self.binary = binary
        self.scratch = scratch
        self._files = 0

    def values_file(self, values: dict[str, Any]) -> Path:
        self._files += 1
        path = self.scratch / f"values-{self._files}.yaml"
        path.write_text(yaml.safe_dump(values))
        return path

    def run(
        self,
        values: Sequence[Path | dict[str, Any]] = (),
        *,
        name: str = "eventsapi",
        notes: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        files = [v if isinstance(v, Path) else self.values_file(v) for v in values]
        command = [str(self.binary), "-chart", str(CHART), "-name", name]
        for file in files:
            command += ["-f", str(file)]
        if notes:
            command.append("-notes")
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)

    def template(
        self, values: Sequence[Path | dict[str, Any]] = (), *, name: str = "eventsapi"
    ) -> list[dict[str, Any]]:
        result = self.run(values, name=name)
        assert result.returncode == 0, result.stderr
        return parse(result.stdout)

    def setup(self, setup: str) -> list[dict[str, Any]]:
        return self.template([CHART / "ci" / f"{setup}-values.yaml"])


def without_helm_conventions(objects: Iterable[dict[str, Any]]) -> Objects:
    """The objects less what only Helm adds (the HELM_ONLY_* labels and annotations)."""
    found = keyed(copy.deepcopy(list(objects)))
    for obj in found.values():
        metadata = obj["metadata"]
        for label in HELM_ONLY_LABELS:
            metadata.get("labels", {}).pop(label, None)
        for annotation in HELM_ONLY_ANNOTATIONS:
            metadata.get("annotations", {}).pop(annotation, None)
        if "annotations" in metadata and not metadata["annotations"]:
            del metadata["annotations"]
        template = obj.get("spec", {}).get("template", {}).get("metadata", {})
        annotations = template.get("annotations", {})
        for annotation in HELM_ONLY_POD_ANNOTATIONS:
            annotations.pop(annotation, None)
        if "annotations" in template and not annotations:
            del template["annotations"]
    return found


def yaml_diff(chart: dict[str, Any], overlay: dict[str, Any]) -> str:
    """A unified diff of two objects as YAML with sorted keys, for a failure message."""
    return "".join(
        difflib.unified_diff(
            yaml.safe_dump(chart).splitlines(keepends=True),
            yaml.safe_dump(overlay).splitlines(keepends=True),
            "chart",
            "overlay",
        )
    )
