"""A local server speaking the part of Stripe's v1 API the offboarding uses, for the demo and
the integration tests (the real `stripe` client library talks to it).

What it implements as Stripe documents it:
- bearer auth (`Authorization: Bearer sk_...`); a wrong or missing key is a 401 with Stripe's
  error JSON `{"error": {"type": "invalid_request_error", "message": ...}}`;
- form-encoded bodies and queries with Stripe's bracket nesting (`metadata[account_id]=...`);
- idempotency on POST: the same Idempotency-Key with the same parameters replays the stored
  response with `Idempotent-Replayed: true` and creates nothing; with other parameters or
  another endpoint it is a 400 `idempotency_error`. As at Stripe, a request that failed
  validation stores nothing (here: only 2xx results are stored);
- subscriptions (retrieve, search, update with cancel_at, cancel), invoices, invoice payments,
  refunds, credit notes and the account, with Stripe's object, list and search shapes.
Scripted replies (`sb.script([Reply(429, {"Retry-After": "1"}), Reply(500)])`) answer the
next matching requests after authentication and before the API runs, like an overloaded
front end: nothing is stored under their idempotency key. Every request is recorded.

    with StripeSandbox() as sb:
        ids = sb.add_subscription("ACME-SMB", amount=80000)
        ...  # point stripe.StripeClient(..., base_addresses={"api": sb.url}) at it
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from offboard.vendor_sandbox.server import LocalServer, send_json
from offboard.vendor_sandbox.stripe_api import StripeApi, StripeError, decode_form, new_id

__all__ = ["DEFAULT_KEY", "Received", "Reply", "StripeError", "StripeSandbox"]

DEFAULT_KEY = "sk_test_offboarding_sandbox"


@dataclass
class Reply:
    """A scripted answer for the next request matching `method` and `path` (a prefix)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    method: str | None = None
    path: str | None = None


@dataclass
class Received:
    at: float
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    status: int
    replayed: bool = False


class StripeSandbox(StripeApi, LocalServer):
    """`with StripeSandbox() as sb:` ... `sb.url` is the API base to configure."""

    def __init__(self, api_key: str = DEFAULT_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.requests: list[Received] = []
        self._script: deque[Reply] = deque()
        self._idempotent: dict[str, dict[str, Any]] = {}
        self._server: ThreadingHTTPServer | None = None

    # -- test and demo helpers ----------------------------------------------------------------
    def script(self, replies: Iterable[Reply]) -> StripeSandbox:
        with self.lock:
            self._script.extend(replies)
        return self

    def posts(self, path_prefix: str = "/v1/") -> list[Received]:
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(path_prefix)]

    @property
    def url(self) -> str:
        assert self._server is not None, "the sandbox is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- the API ------------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], params: dict[str, Any]
    ) -> tuple[int, dict[str, str], dict[str, Any], bool]:
        """One request: (status, headers, body, replayed)."""
        req_id = new_id("req")
        out = {"Request-Id": req_id}
        with self.lock:
            auth = headers.get("authorization", "")
            if auth != f"Bearer {self.api_key}":
                shown = auth.removeprefix("Bearer ")[-4:]
                msg = (
                    f"Invalid API Key provided: sk_****{shown}"
                    if auth
                    else "You did not provide an API key. You need to provide your API key in the "
                    "Authorization header, using Bearer auth."
                )
                return 401, out, StripeError(401, msg).body, False
            for i, reply in enumerate(self._script):
                if (reply.method in (None, method)) and path.startswith(reply.path or ""):
                    del self._script[i]
                    body = (
                        reply.body
                        or StripeError(
                            reply.status,
                            "Too many requests hit the API too quickly."
                            if reply.status == 429
                            else "An unknown error occurred",
                            "invalid_request_error" if reply.status == 429 else "api_error",
                            code="rate_limit" if reply.status == 429 else None,
                        ).body
                    )
                    return reply.status, out | reply.headers, body, False
            key = headers.get("idempotency-key") if method == "POST" else None
            if key and (saved := self._idempotent.get(key)) is not None:
                if (saved["method"], saved["path"], saved["params"]) != (method, path, params):
                    what = "endpoint" if saved["path"] != path else "parameters"
                    err = StripeError(
                        400,
                        f"Keys for idempotent requests can only be used with "
                        f"the same {what} they were first used with. Try using a "
                        f"key other than '{key}' if you meant to execute a "
                        f"different request.",
                        "idempotency_error",
                    )
                    return 400, out, err.body, False
                replay = {"Idempotent-Replayed": "true", "Original-Request": saved["request_id"]}
                return saved["status"], out | replay, saved["body"], True
            try:
                status, body = 200, self.route(method, path, params)
            except StripeError as exc:
                status, body = exc.status, exc.body
            if key and status < 300:
                self._idempotent[key] = {
                    "method": method,
                    "path": path,
                    "params": params,
                    "status": status,
                    "body": body,
                    "request_id": req_id,
                }
            if key:
                out["Idempotency-Key"] = key
            return status, out, body, False

    # -- the server ---------------------------------------------------------------------------
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _serve(self) -> None:
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                pairs = parse_qsl(url.query, keep_blank_values=True)
                pairs += parse_qsl(raw, keep_blank_values=True)
                params = decode_form(pairs)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out, body, replayed = sandbox.handle(
                    self.command, url.path, headers, params
                )
                with sandbox.lock:
                    sandbox.requests.append(
                        Received(
                            time.monotonic(),
                            self.command,
                            url.path,
                            headers,
                            params,
                            status,
                            replayed,
                        )
                    )
                send_json(self, status, out, json.dumps(body).encode())

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - http.server's naming

        return Handler
