"""The one settings schema.

Each field of :class:`Settings` is a setting: its name, type, default and help
text (the ``Meta`` description) are declared once, here. Values come from, in
order of precedence: command-line options > ``EVENTSAPI_<NAME>`` environment
variables > a TOML settings file (``--config`` or ``EVENTSAPI_CONFIG``) > the
defaults (:func:`eventsapi.settings_load.load_settings`); :mod:`eventsapi.settings_info`
reads the schema back. ``docs/settings.md`` documents
every field; a test keeps them in step. The parsers of values that are lists of things
(statuses, networks, rate limits) and the rules between settings are
:mod:`eventsapi.settings_values`.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

from eventsapi.settings_storage import StorageSettings
from eventsapi.settings_values import (
    RATE_LIMIT_GROUPS,
    IPNetwork,
    check_settings,
    parse_networks,
    parse_rate_limits,
    parse_statuses,
)

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "RATE_LIMIT_GROUPS",
    "RESOLVED_SETTINGS_ENV",
    "IPNetwork",
    "LogFormat",
    "LogLevel",
    "Settings",
    "parse_networks",
    "parse_rate_limits",
    "parse_statuses",
]

ENV_PREFIX: Final = "EVENTSAPI_"
CONFIG_ENV: Final = "EVENTSAPI_CONFIG"
RESOLVED_SETTINGS_ENV: Final = "EVENTSAPI_RESOLVED_SETTINGS_JSON"
"""How ``eventsapi serve`` hands its resolved settings to worker processes."""

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["text", "json"]


class Settings(StorageSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every setting of eventsapi, with its default (the first ones are
    :class:`~eventsapi.settings_storage.StorageSettings`'s)."""

    host: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description="Address to listen on. 127.0.0.1 serves this machine only; "
            "0.0.0.0 serves every interface.",
        ),
    ] = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535, description="TCP port to listen on.")] = 8001
    public_url: Annotated[
        str,
        msgspec.Meta(
            description="The service's address as its clients reach it, scheme://host[:port] "
            "without a path (https://events.example.com). Set: redirects point there, the "
            "OpenAPI document names it as its server, and browser writes with the session "
            "cookie must come from it. Empty: redirects are paths on the same host. Never "
            "taken from a request's Host header."
        ),
    ] = ""
    workers: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=64, description="Worker processes. Each has its own event loop and writer."
        ),
    ] = 1
    max_body_bytes: Annotated[
        int,
        msgspec.Meta(
            ge=1024, description="Largest request body accepted, in bytes; larger ones get 413."
        ),
    ] = 1_048_576
    page_size: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=500,
            description="Events per page of GET /events when the request gives no limit.",
        ),
    ] = 50
    max_page_size: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=10_000, description="Largest limit GET /events accepts; a larger one gets 400."
        ),
    ] = 500
    require_preconditions: Annotated[
        bool,
        msgspec.Meta(
            description="Refuse PUT, PATCH and DELETE without If-Match (or If-None-Match: * "
            "to create with PUT) with 428, so that no write overwrites a change its client "
            "has not seen."
        ),
    ] = False
    idempotency_key_hours: Annotated[
        int,
        msgspec.Meta(
            ge=24,
            le=24 * 366,
            description="How long an Idempotency-Key and its saved response are kept, in "
            "hours (at least 24).",
        ),
    ] = 24
    log_level: Annotated[
        LogLevel, msgspec.Meta(description="Least severe log messages to write.")
    ] = "info"
    log_format: Annotated[
        LogFormat,
        msgspec.Meta(
            description="text: one line per message, for people; json: one JSON object per "
            "line (time, level, logger, message, and request_id, user_id, route, status, "
            "duration_ms, client when known), for log collectors."
        ),
    ] = "text"
    access_log: Annotated[
        bool,
        msgspec.Meta(
            description="Write one log line per request: method, path, status, duration, "
            "request id and client (costs throughput)."
        ),
    ] = False
    cors_origins: Annotated[
        list[str],
        msgspec.Meta(
            description="Origins (scheme://host[:port]) whose web pages may call the API from "
            "a browser (CORS), or * for any. Empty: no CORS headers, so browsers allow only "
            "pages served by the API itself. In the environment, separate origins with commas."
        ),
    ] = msgspec.field(default_factory=list)
    cors_credentials: Annotated[
        bool,
        msgspec.Meta(
            description="Let browsers send cookies and HTTP authentication with cross-origin "
            "requests (Access-Control-Allow-Credentials). Needs cors_origins to list origins, "
            "not *."
        ),
    ] = False
    cors_max_age: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=86_400,
            description="Seconds browsers may reuse the answer to a CORS preflight request.",
        ),
    ] = 600
    gzip_min_size: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            description="Compress responses of at least this many bytes with gzip for clients "
            "that accept it; 0 turns compression off.",
        ),
    ] = 1024
    shutdown_timeout: Annotated[
        float,
        msgspec.Meta(
            gt=0,
            description="Seconds to let requests in flight finish after SIGTERM/SIGINT.",
        ),
    ] = 30.0
    anonymous_writes: Annotated[
        Literal["auto", "on", "off"],
        msgspec.Meta(
            description="Whether requests without an account may create, change and delete "
            "events. auto: only requests from this machine (a loopback peer, with no "
            "Forwarded or X-Forwarded-* header) while the service listens on loopback "
            "(127.0.0.1, ::1, localhost), so the tutorial's curl walk-through works on one "
            "machine and nobody behind a reverse proxy can write; on: always (logged as a "
            "warning on any other address); off: never."
        ),
    ] = "auto"
    session_idle_minutes: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=7 * 24 * 60,
            description="Minutes without a request after which a login session locks (the "
            "user logs in again).",
        ),
    ] = 30
    session_hours: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=90 * 24,
            description="Hours after which a login session ends however active it is.",
        ),
    ] = 24
    request_header_timeout: Annotated[
        float,
        msgspec.Meta(
            ge=1,
            le=60,
            description="Seconds a connection has to send a request's headers from their "
            "first byte (also the longest a kept-alive connection may wait for its next "
            "request); then it is closed, so that slow clients cannot hold connections.",
        ),
    ] = 10.0
    request_body_timeout: Annotated[
        float,
        msgspec.Meta(
            gt=0,
            le=3600,
            description="Seconds a request has to send its whole body, from its headers on; "
            "then it gets 408 and the connection is closed (the default lets a "
            "max_body_bytes body arrive at 35 kB/s).",
        ),
    ] = 30.0
    max_requests_per_client: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=1_000_000,
            description="Requests with a body (POST, PUT, PATCH) one client address (an "
            "IPv6 client's /64) may have in flight in a worker process; past it the next "
            "gets 429 at once, before its body is read. 0: no cap. Not applied to local "
            "requests in local mode (one machine, one user).",
        ),
    ] = 64
    max_connections: Annotated[
        int,
        msgspec.Meta(
            ge=64,
            le=1_000_000,
            description="Connections each worker process serves at once (granian's "
            "backpressure); more wait in the listen backlog. Each costs a file descriptor: "
            "serve raises its open-file limit to fit, and warns when it cannot.",
        ),
    ] = 16_384
    rate_limits: Annotated[
        list[str],
        msgspec.Meta(
            description="Requests allowed per client (the user of a valid session or API "
            "token, else the client address; an IPv6 client's /64) and route group, as "
            "group=requests/seconds: read (GET of "
            "events), write (changes of events), auth (logins and account changes), other "
            "(the rest; /healthz, /readyz and /metrics are never limited). A group not "
            "listed is not limited; an empty list turns rate limits off. In the "
            "environment, separate them with commas."
        ),
    ] = msgspec.field(
        default_factory=lambda: ["read=1200/60", "write=300/60", "auth=20/60", "other=600/60"]
    )
    rate_limit_redis: Annotated[
        str,
        msgspec.Meta(
            description="A Redis URL (redis://host:6379/0) where replicas share their rate "
            "limits. Empty: each worker process counts on its own."
        ),
    ] = ""
    rate_limit_local: Annotated[
        bool,
        msgspec.Meta(
            description="Rate-limit local requests too. A local request (the service listens "
            "on loopback, anonymous_writes is not off, and the request comes from a loopback "
            "address with no Forwarded or X-Forwarded-* header) is the machine's own user, "
            "and is not limited unless this is true; every other request is."
        ),
    ] = False
    trusted_proxies: Annotated[
        list[str],
        msgspec.Meta(
            description="Addresses or networks (CIDR) of the reverse proxies in front of the "
            "service. Only a request from one of them has its Forwarded / X-Forwarded-For / "
            "X-Forwarded-Proto fields believed, for the client address (rate limits, login "
            "throttle, audit and access logs) and the scheme (Secure cookies). Empty: they "
            "are never believed. In the environment, separate them with commas."
        ),
    ] = msgspec.field(default_factory=list)
    password_hashing_threads: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=64,
            description="Password hashes (argon2id: ~50 ms of CPU and 19 MiB each; logins, "
            "password changes, new accounts) each worker process computes at once.",
        ),
    ] = 4
    password_hashing_queue: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=10_000,
            description="Requests that may wait for a password hash in each worker process; "
            "past that, 503 with Retry-After at once instead of a slow answer.",
        ),
    ] = 16
    password_hashing_per_client: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=10_000,
            description="Password hashes one client (an address; an IPv6 client's /64) may "
            "have running or waiting in each worker process; past that, its requests get 503 "
            "with Retry-After, so that a flood from one address cannot slow everyone's logins.",
        ),
    ] = 4
    slo_file: Annotated[
        str,
        msgspec.Meta(
            description="The SLO file (YAML): SLOs, alerting and SLAs. Empty: the built-in "
            "defaults (99.9 % available and 99 % of requests within 300 ms over 30 days); "
            "`eventsapi slo init` writes them to a file to edit."
        ),
    ] = ""
    sli_error_statuses: Annotated[
        list[str],
        msgspec.Meta(
            description="Response statuses that count as failed requests in the availability "
            "SLI: codes (503) and ranges (500-599). In the environment, separate them with "
            "commas."
        ),
    ] = msgspec.field(default_factory=lambda: ["500-599"])
    sli_retention_days: Annotated[
        int,
        msgspec.Meta(
            ge=7,
            le=3660,
            description="Days of per-minute request counts kept in the database for SLOs and "
            "SLA reports; at least the longest SLO window (a quarter is 92 days).",
        ),
    ] = 190
    metrics: Annotated[
        bool,
        msgspec.Meta(
            description="Serve Prometheus metrics at GET /metrics.",
        ),
    ] = True
    drill_error_ratio: Annotated[
        float,
        msgspec.Meta(
            ge=0,
            le=1,
            description="Fault-injection drill: the share of API requests answered with an "
            "injected 503, to rehearse SLO alerts. 0 (off) in production; logged loudly when on.",
        ),
    ] = 0.0
    drill_slow_ratio: Annotated[
        float,
        msgspec.Meta(
            ge=0,
            le=1,
            description="Fault-injection drill: the share of API requests delayed by "
            "drill_slow_ms before they are served. 0 (off) in production.",
        ),
    ] = 0.0
    drill_slow_ms: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=60_000,
            description="Fault-injection drill: the delay added to the requests drill_slow_ratio "
            "selects, in milliseconds.",
        ),
    ] = 1000
    change_retention_days: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=3660,
            description="Days the change log keeps each change (for GET /changes, the stream "
            "and webhooks); a sync token older than that is answered 410 (sync again in full).",
        ),
    ] = 30
    trash_retention_days: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=3660,
            description="Days a deleted event stays in the trash (GET /trash), where its owner "
            "or an admin can restore it; then it is purged for good.",
        ),
    ] = 30
    stream_limit: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=100_000,
            description="Open change streams (GET /changes/stream) one worker holds at most; "
            "more are refused with 503 and Retry-After. 0 turns the stream off (404).",
        ),
    ] = 1000
    stream_limit_per_client: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=10_000,
            description="Open change streams one client address (an IPv6 client's /64) holds "
            "at most in one worker; more are refused with 429.",
        ),
    ] = 8
    stream_heartbeat_seconds: Annotated[
        float,
        msgspec.Meta(
            ge=0.05,
            le=300,
            description="Seconds between the comments that keep an idle change stream open "
            "through proxies; keep it under their read timeout.",
        ),
    ] = 15.0
    webhook_allow_private: Annotated[
        bool,
        msgspec.Meta(
            description="Let webhooks be delivered to loopback, private, link-local and cloud "
            "metadata addresses, and over plain http in public mode. Off: such a URL is refused "
            "when registered and at each delivery (SSRF). Logged loudly when on.",
        ),
    ] = False

    def __post_init__(self) -> None:
        # Raised as is by msgspec (it wraps only ValueError and TypeError), so loading,
        # decoding in a worker and Settings(...) all refuse these with one clear message.
        check_settings(self)
