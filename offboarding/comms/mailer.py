"""The mailer port: one interface, a file outbox by default and SendGrid when a key is set.

A mailer sends one fully rendered message and says how it went. It never decides whether a
message *should* go: that is the ledger's job (`offboarding.comms.ledger`), which holds the
exactly-once key (case, kind, sequence) in our database. Errors are classified here, where
the transport is known: a permanent refusal (4xx) is never retried, a transient fault (429,
5xx, connection) is retried with backoff and, when retries run out, reported as transient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class OutgoingMessage:
    """Everything a transport needs; `key` is the deterministic idempotency key."""

    key: str
    case_id: str
    kind: str
    seq: int
    locale: str
    subject: str
    text: str
    html: str
    to: tuple[str, ...]
    sender: Address
    reply_to: Address | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Attempt:
    """One try at the transport, kept in the message's attempt log."""

    at: datetime
    outcome: str  # accepted | rejected | throttled | server_error | connection_error
    status: int | None = None
    detail: str = ""
    wait_seconds: float = 0.0


@dataclass(frozen=True)
class Delivery:
    provider: str
    location: str
    provider_message_id: str | None = None
    attempts: tuple[Attempt, ...] = ()


class MailError(Exception):
    """Base of the mailer's errors; carries the attempts made."""

    def __init__(self, message: str, attempts: tuple[Attempt, ...] = ()) -> None:
        super().__init__(message)
        self.attempts = attempts


class PermanentMailError(MailError):
    """The provider refused the message (bad address, bad payload, auth): retrying the same
    message cannot succeed, so it is not retried; a person must look."""

    def __init__(
        self, message: str, status: int | None = None, attempts: tuple[Attempt, ...] = ()
    ) -> None:
        super().__init__(message, attempts)
        self.status = status


class TransientMailError(MailError, ConnectionError):
    """Throttled, a server error or no connection, and retries ran out. The provider did not
    accept the message, so sending it later is safe. `retry_after` is the earliest time the
    provider asked us to try again, in seconds from now (None: no request)."""

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        attempts: tuple[Attempt, ...] = (),
    ) -> None:
        super().__init__(message, attempts)
        self.retry_after = retry_after


class Mailer(Protocol):
    """A transport. `replay_safe` is True when sending the same key twice cannot produce two
    messages (the file outbox overwrites the same file); SendGrid is not replay-safe."""

    provider: str
    replay_safe: bool

    def send(self, message: OutgoingMessage) -> Delivery: ...


def message_key(case_id: str, kind: str, seq: int) -> str:
    """The idempotency key of a message: the same (case, kind, seq) always gives the same key,
    in every process, so a provider-side search by it finds the one message."""
    return f"offboarding-{case_id}-{kind}-{seq}"
