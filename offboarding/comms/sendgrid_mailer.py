"""SendGrid v3 Mail Send through the official `sendgrid` client (HTTP, never SMTP).

Failure modes, as the provider defines them:
- 202: accepted. The provider's `X-Message-Id` is kept.
- 429: throttled. Wait what `Retry-After` asks (or until `X-RateLimit-Reset`), up to
  `max_retry_after` seconds in this process; a longer wait is reported as transient with the
  time to wait, and the ledger holds the message back until then.
- 5xx, refused or dropped connections, timeouts: retried with exponential backoff and jitter.
- other 4xx (bad address, bad payload, bad key): a permanent refusal, never retried blindly.

The case id, kind, sequence and idempotency key travel in `custom_args` (searchable in the
SendGrid activity feed); `categories` carry the message kind. SendGrid recommends
low-cardinality categories for its statistics, so the per-case id stays in custom args.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import random
import socket
import time
import urllib.error
from collections.abc import Callable
from typing import Any

from offboarding.comms.mailer import (
    Attempt,
    Delivery,
    OutgoingMessage,
    PermanentMailError,
    TransientMailError,
)
from offboarding.storage.db import utcnow

DEFAULT_HOST = "https://api.sendgrid.com"
CONNECTION_ERRORS = (
    urllib.error.URLError,
    ConnectionError,
    TimeoutError,
    socket.timeout,
    http.client.HTTPException,
)


def retry_after_seconds(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or an HTTP date) or `X-RateLimit-Reset`
    (epoch seconds, SendGrid's own header); None when neither is usable."""
    if headers is None:
        return None
    now = time.time() if now is None else now
    value = headers.get("Retry-After")
    if value:
        value = str(value).strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - now)
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


def _error_detail(body: Any) -> str:
    """SendGrid answers `{"errors": [{"message", "field"}]}`; keep it short and readable."""
    try:
        data = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body or "{}")
        errors = data.get("errors") or []
        parts = [
            f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
            for e in errors
        ]
        return "; ".join(parts) or str(data)[:300]
    except (ValueError, AttributeError):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return text[:300]


class SendGridMailer:
    provider = "sendgrid"
    replay_safe = False

    def __init__(
        self,
        api_key: str,
        host: str = DEFAULT_HOST,
        *,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("a SendGrid API key is required")
        self.api_key = api_key
        self.host = host.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.timeout = timeout
        self.sleep = sleep

    def payload(self, m: OutgoingMessage) -> dict[str, Any]:
        """The v3 request body, built with the library's own helpers."""
        from sendgrid.helpers.mail import (
            Attachment,
            Category,
            CustomArg,
            Disposition,
            FileContent,
            FileName,
            FileType,
            From,
            Header,
            HtmlContent,
            Mail,
            PlainTextContent,
            ReplyTo,
            To,
        )

        mail = Mail(
            from_email=From(m.sender.email, m.sender.name or None),
            to_emails=[To(addr) for addr in m.to],
            subject=m.subject,
            plain_text_content=PlainTextContent(m.text),
            html_content=HtmlContent(m.html) if m.html else None,
            is_multiple=False,
        )
        if m.reply_to is not None:
            mail.reply_to = ReplyTo(m.reply_to.email, m.reply_to.name or None)
        mail.custom_arg = [
            CustomArg("case_id", m.case_id),
            CustomArg("kind", m.kind),
            CustomArg("seq", str(m.seq)),
            CustomArg("offboarding_key", m.key),
        ]
        mail.category = [Category("offboarding"), Category(m.kind)]
        mail.header = Header("X-Offboarding-Key", m.key)
        if m.attachments:
            mail.attachment = [
                Attachment(
                    FileContent(base64.b64encode(a.content).decode("ascii")),
                    FileName(a.filename),
                    FileType(a.content_type),
                    Disposition("attachment"),
                )
                for a in m.attachments
            ]
        return mail.get()

    def _client(self):  # noqa: ANN202 - the library's own client type
        from sendgrid import SendGridAPIClient

        client = SendGridAPIClient(api_key=self.api_key, host=self.host)
        client.client.timeout = self.timeout
        return client

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)

    def send(self, message: OutgoingMessage) -> Delivery:
        from python_http_client.exceptions import HTTPError

        body = self.payload(message)
        client = self._client()
        attempts: list[Attempt] = []
        last_retry_after: float | None = None
        for n in range(1, self.max_attempts + 1):
            wait: float
            try:
                response = client.send(body)
            except HTTPError as err:
                status = int(err.status_code)
                detail = _error_detail(err.body)
                if status == 429:
                    asked = retry_after_seconds(err.headers)
                    last_retry_after = asked
                    wait = asked if asked is not None else self._backoff(n)
                    attempts.append(Attempt(utcnow(), "throttled", status, detail, wait))
                    if wait > self.max_retry_after:
                        raise TransientMailError(
                            f"SendGrid throttled the message; it asks to wait {wait:.0f}s",
                            retry_after=wait,
                            attempts=tuple(attempts),
                        ) from err
                elif status >= 500:
                    wait = self._backoff(n)
                    attempts.append(Attempt(utcnow(), "server_error", status, detail, wait))
                else:
                    attempts.append(Attempt(utcnow(), "rejected", status, detail))
                    raise PermanentMailError(
                        f"SendGrid refused the message ({status}): {detail}",
                        status=status,
                        attempts=tuple(attempts),
                    ) from err
            except CONNECTION_ERRORS as err:
                wait = self._backoff(n)
                reason = getattr(err, "reason", None) or err
                attempts.append(
                    Attempt(utcnow(), "connection_error", None, f"{type(err).__name__}: {reason}")
                )
            else:
                status = int(response.status_code)
                headers = response.headers or {}
                msg_id = headers.get("X-Message-Id") if hasattr(headers, "get") else None
                attempts.append(Attempt(utcnow(), "accepted", status, msg_id or ""))
                return Delivery(
                    provider=self.provider,
                    location=f"sendgrid:{msg_id or message.key}",
                    provider_message_id=msg_id,
                    attempts=tuple(attempts),
                )
            if n < self.max_attempts:
                self.sleep(wait)
        raise TransientMailError(
            f"SendGrid did not accept the message after {self.max_attempts} attempts: "
            f"{attempts[-1].outcome} {attempts[-1].status or ''} {attempts[-1].detail}".strip(),
            retry_after=last_retry_after,
            attempts=tuple(attempts),
        )
