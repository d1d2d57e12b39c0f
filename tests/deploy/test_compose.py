"""deploy/compose.yaml: valid Compose, and its parts fit each other and eventsapi.

- The file is valid against the Compose Specification's JSON Schema (as check-jsonschema
  vendors it) and ``podman-compose config`` reads it, but not without ``POSTGRES_PASSWORD``
  or ``GRAFANA_ADMIN_PASSWORD`` (there is no default password).
- Everything it names exists: the images or builds, the files it mounts, the volumes and
  networks, the services it depends on (each with a health check).
- Locked down: only the proxy's port is published beyond the host's loopback; the replicas
  run read-only, with no capability, and believe forwarding fields from the proxy's fixed
  address only, which no replica can be given.
- The proxy's nginx template, rendered as the nginx image renders it, passes ``nginx -t``
  and sets the forwarding fields docs/deploy.md requires, and hides /metrics.
- prometheus.yml passes ``promtool check config``, scrapes the replicas by the service's
  name, and its rule file is exactly what ``eventsapi slo rules`` writes for its job.
- Grafana's data source is that Prometheus, and its dashboard is deploy/grafana's with
  every query on that data source.

No container runs here (the machine reaches no registry for the postgres, redis, nginx,
prometheus or grafana images): docs/deploy.md says what was run.
"""

from __future__ import annotations

import importlib.resources
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from eventsapi.settings_load import load_settings
from tests.deploy.podman import DEPLOY

COMPOSE = DEPLOY / "compose.yaml"
FILES = DEPLOY / "compose"
NGINX_TEMPLATE = FILES / "nginx.conf.template"
PROMETHEUS_CONFIG = FILES / "prometheus.yml"
RULES = FILES / "eventsapi-rules.yml"
DOCS = DEPLOY.parent / "docs" / "deploy.md"
PASSWORD = "compose-test-password"  # noqa: S105 - substituted, never used
REQUIRED = ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD")
"""The variables compose.yaml refuses to run without: it has no default password."""
GRAFANA = FILES / "grafana"
EVENTSAPI_PORT = 8001
"""The image's port (EXPOSE, and the health check's default)."""


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def interpolate_defaults(value: str) -> str:
    """``${NAME:-default}`` as compose reads it with NAME unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def copy_project(directory: Path) -> Path:
    """compose.yaml and its files alone, away from any deploy/.env of the checkout."""
    shutil.copy(COMPOSE, directory / "compose.yaml")
    shutil.copytree(FILES, directory / "compose")
    return directory / "compose.yaml"


def podman_compose(
    project: Path, *args: str, passwords: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    command = shutil.which("podman-compose", path=str(Path(sys.executable).parent))
    assert command, "podman-compose is in the test extra: pip install -e '.[test]'"
    environ = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    environ.update(passwords)
    return subprocess.run(
        [command, "-f", str(project), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_file_is_valid_compose() -> None:
    schema_file = importlib.resources.files("check_jsonschema").joinpath(
        "builtin_schemas/vendor/compose-spec.json"
    )
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in jsonschema_rs.validator_for(schema).iter_errors(compose())
    ]
    assert errors == []


def test_podman_compose_reads_it(tmp_path: Path) -> None:
    result = podman_compose(
        copy_project(tmp_path), "config", passwords=dict.fromkeys(REQUIRED, PASSWORD)
    )
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = yaml.safe_load(result.stdout)
    eventsapi = resolved["services"]["eventsapi"]
    assert eventsapi["deploy"]["replicas"] == 3
    assert eventsapi["environment"]["PGPASSWORD"] == PASSWORD
    assert resolved["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == PASSWORD
    assert eventsapi["environment"]["EVENTSAPI_TRUSTED_PROXIES"] == "172.30.80.2"
    assert eventsapi["build"]["context"] == str(tmp_path)
    grafana = resolved["services"]["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == PASSWORD


@pytest.mark.parametrize("missing", REQUIRED)
def test_there_is_no_default_password(tmp_path: Path, missing: str) -> None:
    given = {name: PASSWORD for name in REQUIRED if name != missing}
    result = podman_compose(copy_project(tmp_path), "config", passwords=given)
    assert result.returncode != 0
    assert f"required variable {missing} is missing" in result.stderr


def test_every_password_is_a_required_variable() -> None:
    # Docker Compose's form of a required variable, which podman-compose also honours.
    uses = {
        ("postgres", "POSTGRES_PASSWORD"): "POSTGRES_PASSWORD",
        ("eventsapi", "PGPASSWORD"): "POSTGRES_PASSWORD",
        ("grafana", "GF_SECURITY_ADMIN_PASSWORD"): "GRAFANA_ADMIN_PASSWORD",
    }
    for (service, name), variable in uses.items():
        value = services()[service]["environment"][name]
        assert value.startswith("${" + variable + ":?"), (service, name)
    given = {
        (service, name)
        for service, definition in services().items()
        for name in definition.get("environment", {})
        if "PASSWORD" in name
    }
    assert given == set(uses), "a password that is not a required variable"


def test_everything_it_names_exists() -> None:
    spec = compose()
    for name, service in spec["services"].items():
        assert "image" in service, name
        # Pulled by their full names: podman refuses short names without a terminal.
        if "build" not in service:
            assert re.match(r"^[a-z0-9.-]+\.[a-z]+/", service["image"]), name
        for network in service.get("networks", []):
            assert network in spec["networks"], (name, network)
        for dependency in service.get("depends_on", {}):
            assert "healthcheck" in spec["services"][dependency], (name, dependency)
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), (name, source)
            else:
                assert source in spec["volumes"], (name, source)
        assert "healthcheck" in service, name
    build = spec["services"]["eventsapi"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (DEPLOY / "Containerfile")


def test_only_the_proxy_is_published_to_the_network() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            if name == "proxy":
                assert interpolate_defaults(port) == "8080:80"
            else:
                assert port.startswith("127.0.0.1:"), (name, port)
    assert "ports" not in services()["eventsapi"]
    assert "ports" not in services()["postgres"]
    assert "ports" not in services()["redis"]


def test_the_replicas_are_locked_down_and_trust_only_the_front_network() -> None:
    spec = compose()
    eventsapi = spec["services"]["eventsapi"]
    assert eventsapi["read_only"] is True
    assert eventsapi["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in eventsapi["security_opt"]
    assert eventsapi["tmpfs"] == ["/tmp"]
    # Above the service's own shutdown_timeout (30 s), for the SIGTERM drain.
    assert eventsapi["stop_grace_period"] == "40s"
    on_front = {n for n, s in spec["services"].items() if "front" in s.get("networks", [])}
    assert on_front == {"proxy", "eventsapi"}
    [ipam] = spec["networks"]["front"]["ipam"]["config"]
    subnet = ipaddress.IPv4Network(ipam["subnet"])
    dynamic = ipaddress.IPv4Network(ipam["ip_range"])
    proxy = ipaddress.ip_address(spec["services"]["proxy"]["networks"]["front"]["ipv4_address"])
    # The proxy's fixed address is on the network, and never handed to a replica.
    assert proxy in subnet
    assert dynamic.subnet_of(subnet)
    assert proxy not in dynamic
    assert proxy != next(subnet.hosts()), "the gateway's (the host's) address"
    environment = eventsapi["environment"]
    assert environment["EVENTSAPI_TRUSTED_PROXIES"] == str(proxy)
    settings = load_settings(
        environ={
            k: interpolate_defaults(v) for k, v in environment.items() if k.startswith("EVENTSAPI_")
        }
    )
    assert settings.anonymous_writes == "off"
    assert settings.trusted_proxies == [str(proxy)]
    assert settings.database.startswith("postgresql://eventsapi@postgres:5432/")
    assert settings.rate_limit_redis == "redis://redis:6379/0"
    assert settings.port == EVENTSAPI_PORT


def render_nginx_template() -> str:
    """The template as the nginx image's entrypoint renders it with Docker's resolver.

    compose.yaml limits envsubst to NGINX_LOCAL_RESOLVERS: the template must name no other
    variable in ``${...}`` form, and its nginx variables (``$host``) stay as they are.
    """
    template = NGINX_TEMPLATE.read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{(\w+)\}", template)) == {"NGINX_LOCAL_RESOLVERS"}
    environment = services()["proxy"]["environment"]
    assert environment["NGINX_ENVSUBST_FILTER"] == "^NGINX_LOCAL_RESOLVERS$"
    assert environment["NGINX_ENTRYPOINT_LOCAL_RESOLVERS"]
    # The image's awk leaves a space after each server.
    return template.replace("${NGINX_LOCAL_RESOLVERS}", "127.0.0.11 ")


def test_nginx_accepts_the_proxy_config(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        pytest.fail("nginx is needed: apt-get install --no-install-recommends nginx")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "default.conf").write_text(render_nginx_template())
    temp = tmp_path / "temp"
    temp.mkdir()
    # The image's nginx.conf, less what names the image's own paths.
    (conf / "nginx.conf").write_text(
        f"""
        pid {tmp_path}/nginx.pid;
        error_log stderr;
        events {{}}
        http {{
            access_log off;
            client_body_temp_path {temp}/body;
            proxy_temp_path {temp}/proxy;
            fastcgi_temp_path {temp}/fastcgi;
            uwsgi_temp_path {temp}/uwsgi;
            scgi_temp_path {temp}/scgi;
            include {conf}/default.conf;
        }}
        """
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def proxied_locations(config: str) -> dict[str, list[str]]:
    """Each ``location`` block that passes requests on: its ``proxy_set_header`` lines."""
    found = {}
    for match in re.finditer(r"location ([^{]+)\{(.*?)\n    \}", config, re.S):
        body = match.group(2)
        if "proxy_pass" in body:
            headers = re.findall(r"^\s*(proxy_set_header .+;)$", body, re.M)
            found[match.group(1).strip()] = headers
    return found


def test_the_proxy_sets_the_forwarding_fields_the_docs_require() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    documented = proxied_locations("\n".join(re.findall(r"```nginx\n(.*?)```", docs, re.S)))
    required = set(documented["/"])
    assert {
        "proxy_set_header X-Forwarded-For $remote_addr;",
        'proxy_set_header Forwarded "";',
    } <= required
    locations = proxied_locations(render_nginx_template())
    assert set(locations) == {"/", "= /changes/stream"}
    for location, headers in locations.items():
        assert required <= set(headers), location
    # Every proxied location reaches the replicas by the service's name and port.
    config = render_nginx_template()
    assert f"set $eventsapi http://eventsapi:{EVENTSAPI_PORT};" in config
    assert re.search(r"location = /metrics \{\s*return 404;\s*\}", config)


def test_prometheus_config_is_valid_and_scrapes_every_replica(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is needed: apt-get install --no-install-recommends prometheus")
    project = copy_project(tmp_path)
    result = subprocess.run(
        [promtool, "check", "config", str(project.parent / "compose" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout + result.stderr
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    [job] = config["scrape_configs"]
    assert job["job_name"] == "eventsapi"
    [discovery] = job["dns_sd_configs"]
    assert discovery == {
        "names": ["eventsapi"],
        "type": "A",
        "port": EVENTSAPI_PORT,
        "refresh_interval": "15s",
    }
    # Mounted next to prometheus.yml, where its relative name points.
    mounts = services()["prometheus"]["volumes"]
    assert "./compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    assert f"./compose/{RULES.name}:/etc/prometheus/{config['rule_files'][0]}:ro" in mounts


def test_the_rules_are_what_eventsapi_slo_rules_writes() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EVENTSAPI_")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from eventsapi.cli import main; main()",
            "slo",
            "rules",
            "--selector",
            'job="eventsapi"',
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert RULES.read_text(encoding="utf-8") == result.stdout, (
        "run: .venv/bin/python deploy/generate.py"
    )


def test_grafana_shows_the_slo_dashboard_from_this_prometheus() -> None:
    spec = services()
    grafana = spec["grafana"]
    assert set(grafana["networks"]) & set(spec["prometheus"]["networks"])
    mounts = dict(m.rsplit(":", 1)[0].split(":", 1)[::-1] for m in grafana["volumes"][:3])
    [source] = yaml.safe_load((GRAFANA / "datasource.yml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert source["type"] == "prometheus"
    [provider] = yaml.safe_load((GRAFANA / "dashboards.yml").read_text())["providers"]
    dashboard_path = "/etc/grafana/dashboards/eventsapi-slo.json"
    assert mounts[dashboard_path] == "./compose/grafana/eventsapi-slo.json"
    assert provider["options"]["path"] == str(Path(dashboard_path).parent)
    assert grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == dashboard_path
    assert any(t.startswith("/etc/grafana/provisioning/datasources/") for t in mounts)
    assert any(t.startswith("/etc/grafana/provisioning/dashboards/") for t in mounts)
    # deploy/grafana's dashboard, its import input replaced by the provisioned data source
    # (deploy/generate.py): no reference Grafana could not resolve.
    provisioned = (GRAFANA / "eventsapi-slo.json").read_text(encoding="utf-8")
    original = (DEPLOY / "grafana" / "eventsapi-slo.json").read_text(encoding="utf-8")
    assert provisioned == original.replace("${DS_PROMETHEUS}", source["uid"])
    references = set(
        re.findall(r'"datasource": \{\s*"type": "(\w+)",\s*"uid": "([^"]+)"', provisioned)
    )
    assert references <= {("prometheus", source["uid"]), ("grafana", "-- Grafana --")}
    assert ("prometheus", source["uid"]) in references
