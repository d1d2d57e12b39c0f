"""The image as deployed: writes need an account, and the first admin is made as
docs/deploy.md says (``podman exec`` here, ``kubectl exec`` in Kubernetes)."""

from __future__ import annotations

import httpx2
import pytest

from tests.deploy.conftest import Images
from tests.deploy.podman import Container, Podman, containers, volume
from tests.server_process import free_port

pytestmark = pytest.mark.slow

PASSWORD = "violet tractor humming seashell"  # noqa: S105 - a test account's


def test_the_first_admin_is_made_in_the_running_container_and_can_write(
    podman: Podman, images: Images
) -> None:
    with volume(podman) as data, containers(podman) as started:
        server = Container(podman, images.new, data, free_port())
        started.append(server)
        server.run(anonymous_writes=False)
        with httpx2.Client(base_url=server.base_url, timeout=10) as client:
            refused = client.post("/events", json={"title": "Anonymous"})
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            log = podman.logs(server.name)
            assert "writes need an account" in log
            assert "no accounts yet: create one with `eventsapi users create --admin NAME`" in log

            made = podman(
                "exec",
                "--interactive",
                server.name,
                "eventsapi",
                "users",
                "create",
                "--admin",
                "root",
                "--password-stdin",
                stdin=PASSWORD + "\n",
            )
            assert made.stdout.startswith("Created admin root (id ")
            listed = podman("exec", server.name, "eventsapi", "users", "list").stdout
            assert listed.splitlines()[1].split()[:3] == ["root", "admin", "active"]

            login = client.post("/auth/login", json={"username": "root", "password": PASSWORD})
            assert login.status_code == 200, login.text
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            created = client.post("/events", json={"title": "Mine"}, headers=bearer)
            assert created.status_code == 201, created.text
            assert created.json()["owner"] == made.stdout.split("(id ")[1].rstrip(").\n")
            assert [event["title"] for event in client.get("/events").json()] == ["Mine"]
        assert server.stop() == 0, podman.logs(server.name)
