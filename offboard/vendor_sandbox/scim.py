"""A local SCIM 2.0 service provider (RFC 7643/7644) for /Users, for tests and `make demo`.

It speaks what the product's directory speaks and what `scim2-client` asks at discovery:
`GET /ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`; `GET /Users` with `filter`,
`startIndex` and `count` (pagination, RFC 7644 §3.4.2.4); `GET`, `PATCH` (a PatchOp) and
`DELETE /Users/{id}`. Bearer token auth; errors are `urn:ietf:params:scim:api:messages:2.0:Error`
JSON with `status` and `detail`. Filters: `externalId sw|eq "..."`, `userName eq "..."`,
`id eq "..."` (the account's users are `externalId sw "<account_id>:"`).

    with ScimSandbox() as sb:           # seeded with users of the sample accounts
        sb.url, sb.token, sb.requests, sb.users
        sb.script([Reply(429, {"Retry-After": "1"})], method="PATCH")
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from offboard.vendor_sandbox.server import LocalServer

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
FILTER = re.compile(r'^\s*(externalId|userName|id)\s+(eq|sw)\s+"((?:[^"\\]|\\.)*)"\s*$', re.I)

#: Users of some sample accounts (offboarding/sample_data/accounts.json).
SEED = {
    "ACME-SMB": ["ann@acme-bakeries.example", "bob@acme-bakeries.example",
                 "cara@acme-bakeries.example"],
    "GLOBEX-ENT": ["hank@globex.example", "iris@globex.example", "jack@globex.example",
                   "kim@globex.example", "lee@globex.example"],
    "SAKURA-JP": ["hanako@sakura-design.example", "taro@sakura-design.example"],
    "SOYLENT-EU": ["jonas@soylent.example"],
}  # fmt: skip


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    method: str | None = None


@dataclass
class Received:
    at: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    payload: Any
    status: int


def seed_users(accounts: dict[str, list[str]] = SEED) -> dict[str, dict[str, Any]]:
    users = {}
    for account_id, emails in accounts.items():
        for email in emails:
            uid = uuid.uuid5(uuid.NAMESPACE_URL, f"scim:{account_id}:{email}").hex
            users[uid] = {
                "schemas": [USER, ENTERPRISE],
                "id": uid,
                "externalId": f"{account_id}:{email}",
                "userName": email,
                "active": True,
                "emails": [{"value": email, "primary": True}],
                ENTERPRISE: {"organization": account_id},
                "meta": {"resourceType": "User", "version": 'W/"1"'},
            }
    return users


def _matches(user: dict[str, Any], flt: str | None) -> bool:
    if not flt:
        return True
    m = FILTER.match(flt)
    if m is None:
        raise ValueError(flt)
    attr, op, value = m.group(1), m.group(2).lower(), m.group(3).replace('\\"', '"')
    have = str(user.get({"externalid": "externalId", "username": "userName"}.get(
        attr.lower(), "id"), ""))  # fmt: skip
    if attr.lower() == "username":  # userName is caseExact false (RFC 7643 §4.1.1)
        have, value = have.lower(), value.lower()
    return have == value if op == "eq" else have.startswith(value)


class ScimSandbox(LocalServer):
    """`with ScimSandbox() as sb:` a SCIM server on 127.0.0.1; `sb.url` is its base URL."""

    def __init__(self, token: str = "scim-test-token", page_size: int = 2,
                 users: dict[str, list[str]] | None = None) -> None:  # fmt: skip
        self.token, self.page_size = token, page_size
        self.users = seed_users(SEED if users is None else users)
        self.requests: list[Received] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the sandbox first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/scim/v2"

    def script(self, replies: list[Reply], method: str | None = None) -> ScimSandbox:
        """Answer the next matching requests with these (then normally again)."""
        with self._lock:
            for r in replies:
                self._script.append(Reply(r.status, r.headers, r.detail, r.method or method))
        return self

    def of(self, method: str, path_part: str = "/Users/") -> list[Received]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def user_of(self, account_id: str, email: str) -> dict[str, Any] | None:
        return next((u for u in self.users.values()
                     if u["externalId"] == f"{account_id}:{email}"), None)  # fmt: skip

    # -- the server --------------------------------------------------------------------------
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def _next_scripted(self, method: str) -> Reply | None:
        with self._lock:
            for r in list(self._script):
                if r.method in (None, method):
                    self._script.remove(r)
                    return r
        return None

    def answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: Any) -> tuple[int, dict[str, str], Any]:  # fmt: skip
        """(status, headers, JSON body or None) for one request."""
        if headers.get("authorization", "") != f"Bearer {self.token}":
            return _error(401, "Authorization failure: a valid bearer token is required")
        scripted = self._next_scripted(method)
        if scripted is not None:
            return _error(scripted.status, scripted.detail or f"scripted {scripted.status}",
                          scripted.headers)  # fmt: skip
        rest = path.split("/scim/v2", 1)[-1].rstrip("/")
        if method == "GET" and rest == "/ServiceProviderConfig":
            return 200, {}, service_provider_config(self.url, self.page_size)
        if method == "GET" and rest == "/ResourceTypes":
            return 200, {}, _list([resource_type(self.url)], 1, 1)
        if method == "GET" and rest == "/Schemas":
            return 200, {}, _list(schemas(), 1, 2)
        if rest == "/Users" and method == "GET":
            return self._list_users(query)
        m = re.fullmatch(r"/Users/([A-Za-z0-9_-]+)", rest)
        if m is None:
            return _error(404, f"Resource {rest} not found")
        with self._lock:
            user = self.users.get(m.group(1))
            if user is None:
                return _error(404, f"Resource {m.group(1)} not found")
            if method == "GET":
                return 200, {}, self._view(user)
            if method == "DELETE":
                del self.users[user["id"]]
                return 204, {}, None
            if method == "PATCH":
                return self._patch(user, body)
        return _error(405, f"{method} is not supported on /Users/{{id}}")

    def _list_users(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        try:
            start = max(1, int(query.get("startIndex", "1")))
            count = max(0, min(int(query.get("count", self.page_size)), self.page_size))
        except ValueError:
            return _error(400, "startIndex and count are integers", scim_type="invalidValue")
        with self._lock:
            try:
                found = [u for u in sorted(self.users.values(), key=lambda u: u["externalId"])
                         if _matches(u, query.get("filter"))]  # fmt: skip
            except ValueError:
                return _error(400, f"Unsupported filter: {query.get('filter')}",
                              scim_type="invalidFilter")  # fmt: skip
            page = [self._view(u) for u in found[start - 1 : start - 1 + count]]
        return 200, {}, _list(page, start, len(found))

    def _patch(self, user: dict[str, Any], body: Any) -> tuple[int, dict[str, str], Any]:
        if not isinstance(body, dict) or PATCH_OP not in body.get("schemas", []):
            return _error(400, "The body must be a PatchOp", scim_type="invalidSyntax")
        for op in body.get("Operations") or []:
            kind, path, value = str(op.get("op", "")).lower(), op.get("path"), op.get("value")
            if kind not in ("replace", "add"):
                return _error(400, f"Unsupported op {kind!r}", scim_type="invalidSyntax")
            changes = {path: value} if path else (value if isinstance(value, dict) else None)
            if not changes or set(changes) - {"active", "displayName"}:
                return _error(400, f"Unsupported path {path!r}", scim_type="invalidPath")
            if "active" in changes and not isinstance(changes["active"], bool):
                return _error(400, "active is a boolean", scim_type="invalidValue")
            if any(user.get(k) != v for k, v in changes.items()):
                user.update(changes)
                n = int(user["meta"]["version"].strip('W/"')) + 1
                user["meta"]["version"] = f'W/"{n}"'
        return 200, {}, self._view(user)

    def _view(self, user: dict[str, Any]) -> dict[str, Any]:
        meta = {**user["meta"], "location": f"{self.url}/Users/{user['id']}"}
        return {**json.loads(json.dumps(user)), "meta": meta}


def _list(resources: list[dict[str, Any]], start: int, total: int) -> dict[str, Any]:
    return {"schemas": [LIST], "totalResults": total, "startIndex": start,
            "itemsPerPage": len(resources), "Resources": resources}  # fmt: skip


def _error(status: int, detail: str, headers: dict[str, str] | None = None,
           scim_type: str | None = None) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return status, headers or {}, body


def service_provider_config(url: str, page_size: int) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": page_size},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token",
                "primary": True,
            }
        ],  # fmt: skip
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{url}/ServiceProviderConfig",
        },  # fmt: skip
    }


def resource_type(url: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
        "schema": USER, "schemaExtensions": [{"schema": ENTERPRISE, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": f"{url}/ResourceTypes/User"},
    }  # fmt: skip


def schemas() -> list[dict[str, Any]]:
    """The User and EnterpriseUser schemas as scim2-models describes them."""
    from scim2_models import EnterpriseUser, User

    return [m.to_schema().model_dump(mode="json", exclude_none=True, by_alias=True)
            for m in (User, EnterpriseUser)]  # fmt: skip


def _handler(sandbox: ScimSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = sandbox.answer(self.command, unquote(parts.path), query,
                                                    headers, body)  # fmt: skip
            sandbox.requests.append(Received(time.monotonic(), self.command, parts.path,
                                             query, headers, body, status))  # fmt: skip
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/scim+json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

    return Handler


if __name__ == "__main__":  # pragma: no cover - `python -m offboard.vendor_sandbox.scim`
    with ScimSandbox() as sb:
        print(f"OFFBOARDING_SCIM_URL={sb.url} OFFBOARDING_SCIM_TOKEN={sb.token}")
        threading.Event().wait()
