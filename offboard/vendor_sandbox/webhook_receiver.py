"""A local webhook receiver for tests and `make demo`: records every POST, verifies its
signature (HMAC-SHA256 over "{timestamp}.{body}"), dedupes by event id, and answers as
scripted (e.g. 500, 429 + Retry-After, 410) before answering 200.

    with WebhookReceiver(secret="whsec_test") as rx:
        rx.url, rx.requests, rx.events (one per event id), rx.script([Reply(500)])
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from offboard.vendor_sandbox.server import LocalServer
from offboarding.integrations.webhook_signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    verify,
)


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow receiver: the sender times out)


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver(LocalServer):
    def __init__(self, secret: str = "whsec_test") -> None:
        self.secret = secret
        self.requests: list[Received] = []
        self.events: dict[str, dict[str, Any]] = {}  # deduped by event id
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the receiver first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def script(self, replies: list[Reply]) -> WebhookReceiver:
        with self._lock:
            self._script.extend(replies)
        return self

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def answer(self, headers: dict[str, str], body: bytes) -> Reply:
        try:
            verify(self.secret, headers.get(SIGNATURE_HEADER.lower(), ""), body, time.time())
            ok = True
        except SignatureError:
            ok = False
        with self._lock:
            reply = self._script.popleft() if self._script else None
            if reply is None:
                reply = Reply(200) if ok else Reply(400)
            self.requests.append(Received(time.monotonic(), headers, body, ok, reply.status))
            if ok and 200 <= reply.status < 300:
                event_id = headers.get(EVENT_ID_HEADER.lower(), "")
                self.events.setdefault(event_id, json.loads(body))
        return reply


def _handler(rx: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            reply = rx.answer({k.lower(): v for k, v in self.headers.items()}, body)
            if reply.delay:
                time.sleep(reply.delay)
            data = json.dumps({"received": 200 <= reply.status < 300}).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the sender timed out and left
                pass

    return Handler
