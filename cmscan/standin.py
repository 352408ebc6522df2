"""A stand-in for the CrossModel gateway: a real HTTP server on loopback.

It answers ``GET /v1/credits`` and ``GET /v1/usage`` as SPEC describes the real gateway
(Bearer auth, OpenAI-style errors, micro-dollar amounts, ``x-request-id``), and each key can
be told to misbehave: rate limits with ``Retry-After``, server errors, slowness, redirects,
malformed bodies. It serves the tests and ``cmscan demo``. Keys are registered and looked
up by fingerprint: the stand-in never keeps a plaintext key.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cmscan.keys import fingerprint

ACTIVE = "active"
INACTIVE = "inactive"
INVALID = "invalid"
ACCOUNT_DISABLED = "account_disabled"

_ERROR_CODES = {
    INACTIVE: "api_key_inactive",
    INVALID: "invalid_api_key",
    ACCOUNT_DISABLED: "user_inactive",
}


@dataclass
class Behaviour:
    """How the stand-in answers for one key."""

    status: str = ACTIVE
    balance_micro: int = 12_340_000
    spend_micro: tuple[int, int, int] = (0, 0, 0)
    """Today, this week, this month."""
    fail_first: int = 0
    """Answer the first N requests with ``fail_status`` instead."""
    fail_status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    """Seconds to wait before answering."""
    redirect_to: str | None = None
    malformed: bool = False
    no_code_401: bool = False
    """A 401 without ``error.code`` (as ``x-api-key`` requests get)."""
    usage_status: int = 200
    huge_body: int = 0
    """Answer 200 with a body of this many bytes (a hostile or broken gateway)."""
    drip: float = 0.0
    """Send the answer one byte at a time, this many seconds apart (a slow drip)."""
    echo_key: bool = False
    """Answer 401 with the key itself in the error message, as careless servers do."""
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    path: str
    fingerprint: str | None
    user_agent: str | None
    at: float


@dataclass
class _State:
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    latency: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class StandIn:
    """``with StandIn() as gateway: gateway.add(key, Behaviour(...)); gateway.base_url``."""

    def __init__(self, latency: float = 0.0, tls: tuple[str, str] | None = None) -> None:
        """``tls``: a certificate and key file to serve https with (tests of TLS checks)."""
        self._state = _State(latency=latency)
        state = self._state

        class Handler(_Handler):
            shared = state

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._scheme = "http"
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}/v1"

    def add(self, key: str, behaviour: Behaviour | None = None) -> None:
        with self._state.lock:
            self._state.behaviours[fingerprint(key)] = behaviour or Behaviour()

    @property
    def requests(self) -> list[Request]:
        with self._state.lock:
            return list(self._state.requests)

    def requests_for(self, key: str, path: str | None = None) -> int:
        wanted = fingerprint(key)
        return sum(
            1
            for request in self.requests
            if request.fingerprint == wanted and (path is None or request.path == path)
        )

    @property
    def max_in_flight(self) -> int:
        return self._state.max_in_flight

    def start(self) -> StandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    shared: _State
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # never print requests
        return

    def do_GET(self) -> None:
        state = self.shared
        auth = self.headers.get("Authorization", "")
        key = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        print_ = fingerprint(key) if key else None
        with state.lock:
            state.requests.append(
                Request(self.path, print_, self.headers.get("User-Agent"), time.monotonic())
            )
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            behaviour = state.behaviours.get(print_ or "", Behaviour(status=INVALID))
            count = state.served[print_ or ""] = state.served.get(print_ or "", 0) + 1
        try:
            time.sleep(state.latency + behaviour.delay)
            status, body, headers = self._answer(key, behaviour, count)
        finally:
            # no longer in flight once the answer is decided: the client may send its next
            # request the moment it has read this one
            with state.lock:
                state.in_flight -= 1
        self._send(status, body, headers, behaviour)

    def _answer(
        self, key: str | None, behaviour: Behaviour, count: int
    ) -> tuple[int, bytes, dict[str, str]]:
        endpoint = self.path.rstrip("/").rsplit("/", 1)[-1]
        if endpoint not in ("credits", "usage"):
            return _reply(404, _error("not found", "invalid_request_error", "not_found"))
        if key is None:
            return _reply(401, _error("missing key", "authentication_error", "missing_api_key"))
        if behaviour.redirect_to is not None:
            return _reply(302, b"", {"Location": f"{behaviour.redirect_to}/{endpoint}"})
        if count <= behaviour.fail_first:
            headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
            kind = "rate_limit_error" if behaviour.fail_status == 429 else "api_error"
            code = "rate_limit_exceeded" if behaviour.fail_status == 429 else "server_error"
            return _reply(behaviour.fail_status, _error("try again", kind, code), headers)
        if behaviour.malformed:
            return _reply(200, b"<html>not json</html>")
        if behaviour.echo_key:
            message = f"Incorrect API key provided: {key}"
            return _reply(401, _error(message, "authentication_error", "invalid_api_key"))
        if behaviour.status != ACTIVE:
            code = None if behaviour.no_code_401 else _ERROR_CODES[behaviour.status]
            return _reply(401, _error("authentication failed", "authentication_error", code))
        if endpoint == "credits":
            body = {
                "currency": "USD",
                "balance_micro": behaviour.balance_micro,
                "uncollected_micro": 0,
            }
            return _reply(200, json.dumps(body).encode())
        if behaviour.usage_status != 200:
            return _reply(behaviour.usage_status, _error("unavailable", "api_error", None))
        windows = {
            name: {
                "cost_micro": cost,
                "prompt_tokens": cost // 10,
                "completion_tokens": cost // 20,
                "total_tokens": cost // 10 + cost // 20,
                "request_count": cost // 1000,
                "success_count": cost // 1000,
            }
            for name, cost in zip(
                ("daily", "weekly", "monthly"), behaviour.spend_micro, strict=True
            )
        }
        return _reply(200, json.dumps({"currency": "USD", **windows}).encode())

    def _send(
        self, status: int, body: bytes, headers: dict[str, str], behaviour: Behaviour
    ) -> None:
        if behaviour.huge_body:
            status, body = 200, b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(behaviour.huge_body or len(body)))
        self.send_header("x-request-id", f"req_cm_{int(time.time() * 1e6):x}")
        for name, value in {**headers, **behaviour.extra_headers}.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            if behaviour.huge_body:
                chunk = b"[" + b"0," * (1 << 15)
                for _ in range(0, behaviour.huge_body, len(chunk)):
                    self.wfile.write(chunk)
            elif behaviour.drip:
                for index in range(len(body)):
                    self.wfile.write(body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(behaviour.drip)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: as it should
            self.close_connection = True


def _reply(
    status: int, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    return status, body, headers or {}


def _error(message: str, kind: str, code: str | None) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": kind, "param": None, "code": code}}
    ).encode()
