"""A local HubSpot CRM v3 for tests and the demo: `with HubSpotSandbox() as sb: sb.url`.

It speaks what the close-out uses, as HubSpot documents it: bearer auth (a private app
token); companies GET/PATCH/list/search, notes and tasks create (with HubSpot-defined
associations: note→company 190, task→company 192) and search (including the
`associations.company` pseudo-property), owners list by email; property validation against a
schema (unknown property, bad enumeration or date → 400 VALIDATION_ERROR); HubSpot's error
JSON `{"status": "error", "message", "correlationId", "category"}`. Creates are not
idempotent, as at HubSpot: the same POST twice makes two notes.

Tests script answers in order (`sb.script([Reply.throttled(1), Reply.error(500)])`), each
optionally for one route and optionally after doing the work (`act=True`: the effect happens,
the answer is lost — `drop=True` closes the connection). Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from offboard.vendor_sandbox.hubspot_store import CrmStore, HubSpotError, error_body
from offboard.vendor_sandbox.server import LocalServer, send_json


@dataclass
class Reply:
    """A scripted answer. `match` ("POST /crm/v3/objects/notes") limits it to one route."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    match: str = ""
    act: bool = False
    drop: bool = False

    @classmethod
    def throttled(cls, retry_after: float = 1, match: str = "") -> Reply:
        """HubSpot's 10-second-window limit answer."""
        body = {
            "status": "error",
            "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": "SECONDLY",
        }
        headers = {
            "Retry-After": f"{retry_after:g}",
            "X-HubSpot-RateLimit-Max": "190",
            "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
        return cls(429, body, headers, match)

    @classmethod
    def error(cls, status: int, message: str = "", category: str = "", match: str = "") -> Reply:
        default = "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR"
        return cls(
            status, error_body(message or f"scripted {status}", category or default), {}, match
        )


@dataclass
class Recorded:
    at: float
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int | None


class HubSpotSandbox(LocalServer):
    """The CRM objects live in memory; `sb.objects("notes")` shows what was made."""

    def __init__(self, token: str = "pat-sandbox-token", port: int = 0) -> None:
        self.token, self.port = token, port
        self.requests: list[Recorded] = []
        self._script: list[Reply] = []
        self.crm = CrmStore()
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- seeding and inspection -------------------------------------------------------------
    def add_company(self, name: str, **properties: str) -> str:
        with self._lock:
            return self.crm.create("companies", {"name": name, **properties}, [])["id"]

    def add_owner(self, email: str, first: str = "", last: str = "") -> str:
        with self._lock:
            return self.crm.add_owner(email, first, last)

    def seed_accounts(self, accounts: Iterable[dict[str, Any]]) -> dict[str, str]:
        """One company per account (found by offboarding_account_id) and its owner: the
        demo's CRM. Returns account id → company id."""
        out = {}
        for a in accounts:
            out[a["account_id"]] = self.add_company(
                a["name"], offboarding_account_id=a["account_id"]
            )
            email = a.get("owner", {}).get("email")
            if email and not any(o["email"] == email.lower() for o in self.crm.owners):
                first, _, last = a["owner"].get("name", "").partition(" ")
                self.add_owner(email, first, last)
        return out

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                self.crm.view(object_type, o, None, True)
                for o in self.crm.objects[object_type].values()
            ]

    def company(self, company_id: str) -> dict[str, Any]:
        with self._lock:
            return self.crm.view(
                "companies", self.crm.objects["companies"][company_id], None, False
            )

    def script(self, replies: Iterable[Reply]) -> HubSpotSandbox:
        with self._lock:
            self._script.extend(replies)
        return self

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # -- server -----------------------------------------------------------------------------
    def _next_reply(self, method: str, path: str) -> Reply | None:
        with self._lock:
            for i, r in enumerate(self._script):
                if not r.match or f"{method} {path}".startswith(r.match):
                    return self._script.pop(i)
        return None

    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw: bytes):
        """(status, headers, body) or None to drop the connection; records the request."""
        url = urlsplit(raw_path)
        q = parse_qs(url.query)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status: int | None
        answer: tuple[int, dict[str, str], Any] | None
        if headers.get("Authorization") != f"Bearer {self.token}":
            answer = (
                401,
                {},
                error_body("Authentication credentials not found.", "INVALID_AUTHENTICATION"),
            )
        else:
            reply = self._next_reply(method, url.path)
            answer = None
            if reply is None or reply.act:
                try:
                    with self._lock:
                        code, out = self.crm.route(method, url.path, q, body)
                    answer = (code, {}, out)
                except HubSpotError as exc:
                    answer = (exc.status, {}, error_body(exc.message, exc.category))
            if reply is not None:
                answer = None if reply.drop else (reply.status, reply.headers, reply.body)
        status = answer[0] if answer else None
        with self._lock:
            self.requests.append(
                Recorded(time.monotonic(), method, url.path, q, headers, body, status)
            )
        return answer

    @property
    def url(self) -> str:
        assert self._server is not None, "start the sandbox first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = sandbox.handle(self.command, self.path, dict(self.headers.items()), raw)
                if answer is None:
                    self.close_connection = True
                    return
                status, hdrs, body = answer
                data = b"" if body is None else json.dumps(body).encode()
                send_json(self, status, hdrs, data, "application/json;charset=utf-8")

            do_GET = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815

        return Handler


if __name__ == "__main__":  # pragma: no cover - `python -m offboard.vendor_sandbox.hubspot`
    from pathlib import Path

    accounts = Path(__file__).resolve().parents[2] / "offboarding/sample_data/accounts.json"
    with HubSpotSandbox() as sb:
        sb.seed_accounts(json.loads(accounts.read_text()))
        print(f"HUBSPOT_ACCESS_TOKEN={sb.token} OFFBOARDING_HUBSPOT_API_BASE={sb.url}")
        threading.Event().wait()
