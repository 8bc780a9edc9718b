"""A local HTTP server speaking SendGrid's v3 Mail Send (`POST /v3/mail/send`) for tests.

It validates the request the way the real API does for what we use (bearer key, JSON body,
personalizations with valid addresses, from, subject, text before HTML, base64 attachments,
custom args and categories as strings) and answers 400 with SendGrid's error shape when the
payload is wrong. Tests script other answers (429 + Retry-After, 500, 202) in order; every
request is recorded with its arrival time, so a test can count sends and measure waits.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    payload: Any
    status: int


def validate(payload: Any) -> list[dict[str, str]]:
    """SendGrid-style errors for a Mail Send body; empty when it would be accepted."""
    errors: list[dict[str, str]] = []

    def err(field_: str, message: str) -> None:
        errors.append({"field": field_, "message": message})

    if not isinstance(payload, dict):
        return [{"field": "", "message": "Bad Request: the body must be a JSON object"}]
    pers = payload.get("personalizations")
    if not isinstance(pers, list) or not pers:
        err("personalizations", "The personalizations field is required and must have at least 1")
    else:
        for i, p in enumerate(pers):
            tos = p.get("to") if isinstance(p, dict) else None
            if not isinstance(tos, list) or not tos:
                err(f"personalizations.{i}.to", "The to array is required for all personalizations")
                continue
            seen = set()
            for j, t in enumerate(tos):
                addr = (t or {}).get("email", "")
                if not EMAIL.match(addr or ""):
                    err(f"personalizations.{i}.to.{j}.email", "Does not contain a valid address.")
                if addr.lower() in seen:
                    err(f"personalizations.{i}.to", "Each email address must be unique.")
                seen.add(addr.lower())
    sender = payload.get("from") or {}
    if not EMAIL.match(sender.get("email", "") or ""):
        err("from.email", "The from object must be provided and contain a valid address.")
    if not payload.get("subject") and not all(
        isinstance(p, dict) and p.get("subject") for p in pers or []
    ):
        err("subject", "The subject is required.")
    content = payload.get("content")
    if not isinstance(content, list) or not content:
        err("content", "Unless a valid template_id is provided, the content parameter is required.")
    else:
        types = [c.get("type") for c in content]
        if types[0] != "text/plain" and "text/plain" in types:
            err("content", "If present, text/plain must be first, followed by any other content.")
        if any(not c.get("value") for c in content):
            err("content.value", "The content value must be a string at least one character.")
    for k, a in enumerate(payload.get("attachments") or []):
        if not a.get("filename"):
            err(f"attachments.{k}.filename", "The attachment filename parameter is required.")
        try:
            base64.b64decode(a.get("content", ""), validate=True)
        except (binascii.Error, ValueError):
            err(f"attachments.{k}.content", "The attachment content must be base64 encoded.")
    for key, value in (payload.get("custom_args") or {}).items():
        if not isinstance(value, str):
            err(f"custom_args.{key}", "Custom args values must be strings.")
    cats = payload.get("categories") or []
    if len(cats) > 10 or any(not isinstance(c, str) or len(c) > 255 for c in cats):
        err("categories", "Categories: at most 10 strings of at most 255 characters.")
    return errors


class FakeSendGrid:
    """`with FakeSendGrid() as sg:` ... `sg.host` is the API host to configure."""

    def __init__(self, api_key: str = "SG.test-key") -> None:
        self.api_key = api_key
        self.script: deque[Reply] = deque()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------
    def then(self, status: int, headers: dict[str, str] | None = None, body: dict | None = None):
        """Queue the next answer for a valid request (after the queue: 202)."""
        self.script.append(Reply(status, headers or {}, body))
        return self

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.status == 202]

    @property
    def host(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- server ------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _answer(self, status: int, headers: dict[str, str], body: Any) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items()}
                try:
                    payload = json.loads(raw or b"null")
                except ValueError:
                    payload = None
                if self.path != "/v3/mail/send":
                    status, hdrs, body = 404, {}, {"errors": [{"message": "not found"}]}
                elif self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    status, hdrs = 401, {}
                    body = {"errors": [{"message": "The provided authorization grant is invalid"}]}
                elif errors := validate(payload):
                    status, hdrs, body = 400, {}, {"errors": errors}
                else:
                    with fake._lock:
                        reply = fake.script.popleft() if fake.script else Reply(202)
                    status, hdrs, body = reply.status, dict(reply.headers), reply.body
                    if status == 202:
                        hdrs.setdefault("X-Message-Id", uuid.uuid4().hex[:22])
                    elif body is None and status >= 400:
                        body = {"errors": [{"message": f"scripted {status}"}]}
                with fake._lock:
                    fake.received.append(
                        Received(time.monotonic(), self.path, headers, payload, status)
                    )
                self._answer(status, hdrs, body)

        return Handler

    def start(self) -> FakeSendGrid:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSendGrid:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
