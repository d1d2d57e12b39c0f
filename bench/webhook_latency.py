#!/usr/bin/env python3
"""Webhooks: the time from a change to its delivery at a receiver on this machine.

Usage (from the repository's root):

    bench/webhook_latency.py [--changes 300]

Starts ``eventsapi serve`` on SQLite in a temporary folder (``webhook_allow_private`` on, so
that it may deliver to 127.0.0.1), a receiver on 127.0.0.1 that answers 204 and notes when
each delivery arrives, registers it with ``eventsapi webhooks add``, then makes
``--changes`` creates one after the other, 20 ms apart, and prints p50/p99/max of:

- *record to delivery*: from the change's ``at`` (taken in the write's transaction, before
  its commit; same machine, same clock) to the delivery's arrival at the receiver;
- *answer to delivery*: from the write's 201 arriving to the delivery arriving (negative
  when the delivery came first).

One worker: each write wakes the worker's delivery loop at once. A change written by another
worker or replica is found by the next poll (0.5 s) instead.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stream import _percentiles, servers, url
from tests.server_process import clean_environment, eventsapi_command

arrivals: dict[str, float] = {}
"""Event id → when its ``event.created`` delivery arrived (the first, if repeated)."""
recorded: dict[str, float] = {}
"""Event id → the change's ``at``, as a timestamp."""


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        arrived = time.time()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()
        if body.get("type") == "event.created":
            arrivals.setdefault(body["id"], arrived)
            recorded.setdefault(body["id"], datetime.fromisoformat(body["at"]).timestamp())

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=300)
    options = parser.parse_args()
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        database = str(folder / "events.db")
        env = {"EVENTSAPI_WEBHOOK_ALLOW_PRIVATE": "true"}
        with servers(database, folder, 1, env) as (server,), httpx.Client() as client:
            # Registered once the server has made the database; its worker polls for it.
            subprocess.run(  # noqa: S603 - our own command, our own arguments
                eventsapi_command(
                    "webhooks",
                    "add",
                    f"http://127.0.0.1:{receiver.server_port}/hook",
                    "--type",
                    "event.created",
                    "--database",
                    database,
                ),
                check=True,
                capture_output=True,
                env=clean_environment({"EVENTSAPI_WEBHOOK_ALLOW_PRIVATE": "true"}),
            )
            answered: dict[str, float] = {}
            for n in range(options.changes):
                response = client.post(f"{url(server)}/events", json={"title": f"hook {n}"})
                answered[response.json()["id"]] = time.time()
                time.sleep(0.02)
            deadline = time.time() + 30
            while len(arrivals) < len(answered) and time.time() < deadline:
                time.sleep(0.05)
    missing = len(answered) - len(arrivals)
    print(f"{len(arrivals)} deliveries of {len(answered)} changes ({missing} missing)")
    print(_percentiles("record to delivery", [arrivals[i] - recorded[i] for i in arrivals]))
    print(_percentiles("answer to delivery", [arrivals[i] - answered[i] for i in arrivals]))


if __name__ == "__main__":
    main()
