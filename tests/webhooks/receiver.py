"""A real HTTP receiver of webhooks on 127.0.0.1, in a thread, for the tests.

It records every complete request (headers lower-cased, body) and answers from a script: each
request takes the next answer of ``answers`` (status and headers), and 200 once they run
out. ``verified`` checks a request's signatures with the ``standardwebhooks`` library.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    path: str

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def document(self) -> dict[str, Any]:
        decoded: dict[str, Any] = msgspec.json.decode(self.body)
        return decoded

    def signed_by(self, secret: str) -> bool:
        """Whether one of the request's signatures is ``secret``'s, as the library signs
        (at the request's own timestamp, so a test's fake clock does not matter)."""
        timestamp = datetime.fromtimestamp(int(self.headers["webhook-timestamp"]), UTC)
        expected = Webhook(secret).sign(self.id, timestamp, self.body)
        return expected in self.headers["webhook-signature"].split(" ")

    def verified(self, secret: str) -> Any:
        """The body, verified by the library as a receiver would (timestamp tolerance too)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, *answers: int | tuple[int, dict[str, str]]) -> None:
        with self.lock:
            for given in answers:
                self.answers.append(given if isinstance(given, tuple) else (given, {}))

    def requests(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def _next(self, request: Received) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.received.append(request)
            return self.answers.pop(0) if self.answers else (200, {})


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender went away mid-body (a worker killed by kill -9): a real server
                # never hands such a request on, and no answer can reach the sender.
                self.close_connection = True
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, extra = receiver._next(Received(headers, body, self.path))
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def serve_receiver() -> Iterator[Receiver]:
    """A running receiver (a generator for a fixture: stopped after the test)."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
