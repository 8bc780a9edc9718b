"""Slack team notices through `slack_sdk.WebClient`: the §10 churn message and escalations.

- `chat.postMessage` has no idempotency key, so our key rides in the message `metadata`
  (event_type `offboarding_notice`, event_payload {"key": ...}); after a lost worker
  `conversations.history` (include_all_metadata) is searched for it before posting again.
- Rate limits go through the ledger, not slack_sdk's RateLimitErrorRetryHandler: the client
  has no retry handlers (its default ConnectionErrorRetryHandler could re-post a message whose
  answer was lost), a 429 becomes VendorThrottled with Slack's Retry-After, the ledger holds
  the call back until then, and the task retry makes it.
- Slack answers errors as 200 `{"ok": false, "error": ...}`: `ratelimited` is throttling,
  `service_unavailable` is transient, `internal_error`/`fatal_error`/`request_timeout` on a
  post may have posted (reconciled like a lost answer), anything else is refused.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from offboarding.integrations.closeout_rules import carries_slack_key, slack_metadata
from offboarding.integrations.errors import (
    VendorRefused,
    VendorThrottled,
    VendorUnavailable,
    parse_retry_after,
)
from offboarding.integrations.settings import IntegrationSettings, integration_settings

VENDOR = "slack"
TIMEOUT = 20
#: Pages of 200 messages searched newest first when reconciling a lost post.
RECONCILE_PAGES = 5
TRANSIENT_ERRORS = frozenset({"service_unavailable"})
MAYBE_DONE_ERRORS = frozenset({"internal_error", "fatal_error", "request_timeout"})


class OutcomeUnknown(ConnectionError):
    """The post went out and its answer was lost: it may be in the channel. Transient for the
    task; the ledger row stays `calling`, so the retry after the lease reconciles first."""


def translate(exc: Exception, create: bool = False) -> Exception:
    """Our error for what slack_sdk raised (the original when it is not Slack's)."""
    if isinstance(exc, SlackApiError):
        resp = exc.response
        status = int(getattr(resp, "status_code", 0) or 0)
        data = resp.data if isinstance(getattr(resp, "data", None), dict) else {}
        error = str(data.get("error") or f"HTTP {status}")
        headers = {k.lower(): v for k, v in (getattr(resp, "headers", None) or {}).items()}
        if status == 429 or error == "ratelimited":
            wait = headers.get("retry-after")
            wait = wait[0] if isinstance(wait, list) else wait
            return VendorThrottled(VENDOR, error, parse_retry_after(wait))
        if error in MAYBE_DONE_ERRORS and create:
            return OutcomeUnknown(f"{VENDOR}: {error}; the post may have happened")
        if status >= 500 or error in TRANSIENT_ERRORS | MAYBE_DONE_ERRORS:
            return VendorUnavailable(VENDOR, error, status)
        needed = data.get("needed")
        return VendorRefused(VENDOR, error + (f" (needs scope {needed})" if needed else ""), status)
    if isinstance(exc, URLError) and isinstance(
        exc.reason, ConnectionRefusedError | socket.gaierror
    ):
        return VendorUnavailable(VENDOR, f"no connection: {exc.reason}")
    if isinstance(exc, OSError):  # timeouts, resets, RemoteDisconnected, other URLErrors
        if create:
            return OutcomeUnknown(f"{VENDOR}: the answer was lost ({exc!r}); reconcile by key")
        return VendorUnavailable(VENDOR, f"connection dropped: {exc!r}")
    return exc


class SlackNotice:
    """Post a notice with our key in its metadata; find it again by that key."""

    def __init__(self, token: str, base_url: str = "https://slack.com/api/") -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.client = WebClient(
            token=token, base_url=self.base_url, timeout=TIMEOUT, retry_handlers=[]
        )

    @classmethod
    def from_settings(cls, settings: IntegrationSettings | None = None) -> SlackNotice:
        s = settings or integration_settings()
        return cls(s.slack_bot_token, s.slack_api_url)

    def post(self, channel: str, text: str, key: str) -> dict[str, Any]:
        try:
            resp = self.client.chat_postMessage(
                channel=channel,
                text=text,
                metadata=slack_metadata(key),
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception as exc:
            raise _mapped(exc, create=True) from exc
        return {"channel": resp["channel"], "ts": resp["ts"]}

    def find(self, channel: str, key: str) -> dict[str, Any] | None:
        """Our message in the channel's newest history, or None when it was never posted.
        `channel` must be an ID (C…): conversations.history does not take names."""
        cursor = None
        for _ in range(RECONCILE_PAGES):
            try:
                resp = self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=200, cursor=cursor
                )
            except Exception as exc:
                raise _mapped(exc) from exc
            for message in resp.get("messages") or []:
                if carries_slack_key(message, key):
                    return {"channel": channel, "ts": message["ts"]}
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not resp.get("has_more") or not cursor:
                return None
        raise VendorUnavailable(
            VENDOR,
            f"{key} not within {RECONCILE_PAGES * 200} messages of {channel}; a person must look",
        )


def _mapped(exc: Exception, create: bool = False) -> Exception:
    mapped = translate(exc, create)
    if mapped is exc:
        raise exc
    return mapped


def check(settings: IntegrationSettings | None = None) -> str:
    """One read-only call (auth.test): which workspace and bot, which channels."""
    s = settings or integration_settings()
    if not s.slack_on:
        return (
            "Slack: off (SLACK_BOT_TOKEN and OFFBOARDING_SLACK_CHANNEL not both set; the "
            "team is told by email only)"
        )
    notice = SlackNotice.from_settings(s)
    try:
        who = notice.client.auth_test()
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is a health check
        return f"Slack at {notice.base_url}: NOT working: {translate(exc)}"
    escalation = s.slack_escalation_channel or "not set (escalations by email only)"
    return (
        f"Slack at {notice.base_url}: workspace {who.get('team')}, bot {who.get('user')}; "
        f"churn notices to {s.slack_channel}, escalations to {escalation}"
    )
