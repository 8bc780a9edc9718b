"""A local Slack Web API for tests and the demo: `with SlackSandbox() as sb: sb.url`.

What the notices use, as Slack documents it: methods at `/api/<method>` taking form, JSON or
query arguments; the token as `Authorization: Bearer xoxb-…` (or a `token` argument); every
answer HTTP 200 with the `ok` envelope (`{"ok": false, "error": "channel_not_found"}`),
except rate limiting: HTTP 429 with Retry-After and `{"ok": false, "error": "ratelimited"}`.
- `auth.test`; `chat.postMessage` (channel by ID or name, text, message `metadata` with
  `event_type` and `event_payload`; `not_in_channel` when the bot was not invited);
  `conversations.history` (by channel ID only, newest first, `limit` + `cursor` paging,
  metadata only with `include_all_metadata`).
- A post is not idempotent, as at Slack: the same request twice makes two messages.
Scripted answers (`sb.script([Reply.ratelimited(1), Reply.error("channel_not_found")])`), in
order, optionally for one method and optionally after doing the work (`act=True`); `drop`
closes the connection without answering. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from offboard.vendor_sandbox.server import LocalServer, send_json

EVENT_TYPE = re.compile(r"^[a-zA-Z0-9_]{1,255}$")


@dataclass
class Reply:
    """A scripted answer; `match` ("chat.postMessage") limits it to one method."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    match: str = ""
    act: bool = False
    drop: bool = False

    @classmethod
    def ratelimited(cls, retry_after: float = 1, match: str = "") -> Reply:
        return cls(
            429, {"ok": False, "error": "ratelimited"}, {"Retry-After": f"{retry_after:g}"}, match
        )

    @classmethod
    def error(cls, error: str, match: str = "", status: int = 200) -> Reply:
        return cls(status, {"ok": False, "error": error}, {}, match)


@dataclass
class Recorded:
    at: float
    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int | None
    body: Any


class SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class SlackSandbox(LocalServer):
    """One workspace; `sb.messages("C0CHURN")` shows what was posted there."""

    def __init__(self, token: str = "xoxb-sandbox-token", port: int = 0) -> None:
        self.token, self.port = token, port
        self.team, self.team_id, self.bot_user, self.bot_id = (
            "Sandbox",
            "T0SANDBOX",
            "U0BOT",
            "B0BOT",
        )
        self.requests: list[Recorded] = []
        self._script: list[Reply] = []
        self._channels: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._clock = 1_700_000_000.0
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- seeding and inspection -------------------------------------------------------------
    def add_channel(self, channel_id: str, name: str, member: bool = True) -> str:
        with self._lock:
            self._channels[channel_id] = {"id": channel_id, "name": name, "member": member}
            self._messages.setdefault(channel_id, [])
        return channel_id

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Oldest first, with metadata."""
        with self._lock:
            return [dict(m) for m in self._messages.get(channel_id, [])]

    def add_message(self, channel_id: str, text: str, metadata: dict | None = None) -> str:
        """Someone else's message in the channel (reconcile pages past it)."""
        with self._lock:
            return self._append(
                channel_id, {"type": "message", "user": "U0HUMAN", "text": text}, metadata
            )

    def script(self, replies: Iterable[Reply]) -> SlackSandbox:
        with self._lock:
            self._script.extend(replies)
        return self

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method]

    # -- the API ----------------------------------------------------------------------------
    def _append(self, channel_id: str, message: dict[str, Any], metadata: dict | None) -> str:
        self._clock += 1.000001
        ts = f"{self._clock:.6f}"
        message = {**message, "ts": ts}
        if metadata:
            message["metadata"] = metadata
        self._messages[channel_id].append(message)
        return ts

    def _channel(self, ref: str) -> dict[str, Any]:
        if ref in self._channels:
            return self._channels[ref]
        for c in self._channels.values():
            if c["name"] == ref.lstrip("#"):
                return c
        raise SlackError("channel_not_found")

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(args.get("channel") or ""))
        if not channel["member"]:
            raise SlackError("not_in_channel")
        text = args.get("text") or ""
        if not text and not args.get("blocks"):
            raise SlackError("no_text")
        if len(text) > 40_000:
            raise SlackError("msg_too_long")
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError as exc:
                raise SlackError("invalid_metadata_format") from exc
        if metadata is not None and not (
            isinstance(metadata, dict)
            and EVENT_TYPE.match(str(metadata.get("event_type", "")))
            and isinstance(metadata.get("event_payload"), dict)
        ):
            raise SlackError("invalid_metadata_format")
        message = {"type": "message", "user": self.bot_user, "bot_id": self.bot_id, "text": text}
        ts = self._append(channel["id"], message, metadata)
        return {"ok": True, "channel": channel["id"], "ts": ts, "message": {**message, "ts": ts}}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(args.get("channel") or "")
        if channel_id not in self._channels:  # history takes IDs, not names
            raise SlackError("channel_not_found")
        if not self._channels[channel_id]["member"]:
            raise SlackError("not_in_channel")
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        newest_first = list(reversed(self._messages[channel_id]))
        limit = max(1, min(int(args.get("limit") or 100), 999))
        start = int(args.get("cursor") or 0) if str(args.get("cursor") or "0").isdigit() else 0
        page = newest_first[start : start + limit]
        out = [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(newest_first)
        return {
            "ok": True,
            "messages": out,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _route(self, method: str, args: dict[str, Any], token: str) -> dict[str, Any]:
        if not token:
            raise SlackError("not_authed")
        if token != self.token:
            raise SlackError("invalid_auth")
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://sandbox.slack.com/",
                "team": self.team,
                "user": "offboarding",
                "team_id": self.team_id,
                "user_id": self.bot_user,
                "bot_id": self.bot_id,
            }
        if method == "chat.postMessage":
            return self._post(args)
        if method == "conversations.history":
            return self._history(args)
        raise SlackError("unknown_method")

    # -- server -----------------------------------------------------------------------------
    def handle(self, raw_path: str, headers: dict[str, str], raw: bytes):
        """(status, headers, body) or None to drop the connection; records the request."""
        url = urlsplit(raw_path)
        method = url.path.rsplit("/", 1)[-1]
        args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
        kind = headers.get("Content-Type", "")
        if raw and "json" in kind:
            try:
                args.update(json.loads(raw))
            except ValueError:
                args["__invalid__"] = True
        elif raw:
            args.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
        auth = headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else str(args.pop("token", "") or "")
        args.pop("token", None)
        with self._lock:
            reply = next((r for r in self._script if not r.match or r.match == method), None)
            if reply is not None:
                self._script.remove(reply)
            answer: tuple[int, dict[str, str], Any] | None = None
            if reply is None or reply.act:
                try:
                    if args.pop("__invalid__", False):
                        raise SlackError("invalid_json")
                    answer = (200, {}, self._route(method, args, token))
                except SlackError as exc:
                    answer = (200, {}, {"ok": False, "error": exc.error})
            if reply is not None:
                answer = None if reply.drop else (reply.status, reply.headers, reply.body)
            self.requests.append(
                Recorded(
                    time.monotonic(),
                    method,
                    args,
                    headers,
                    answer[0] if answer else None,
                    answer[2] if answer else None,
                )
            )
        return answer

    @property
    def url(self) -> str:
        """The Web API base URL (slack_sdk's `base_url`), ending in /api/."""
        assert self._server is not None, "start the sandbox first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = sandbox.handle(self.path, dict(self.headers.items()), raw)
                if answer is None:
                    self.close_connection = True
                    return
                status, hdrs, body = answer
                data = json.dumps(body if body is not None else {"ok": status == 200}).encode()
                send_json(self, status, hdrs, data, "application/json; charset=utf-8")

            do_GET = do_POST = _serve  # noqa: N815

        return Handler


if __name__ == "__main__":  # pragma: no cover - `python -m offboard.vendor_sandbox.slack`
    with SlackSandbox() as sb:
        sb.add_channel("C0CHURN", "churn")
        sb.add_channel("C0MANAGERS", "cs-managers")
        print(
            f"SLACK_BOT_TOKEN={sb.token} OFFBOARDING_SLACK_API_URL={sb.url} "
            "OFFBOARDING_SLACK_CHANNEL=C0CHURN OFFBOARDING_SLACK_ESCALATION_CHANNEL=C0MANAGERS"
        )
        threading.Event().wait()
