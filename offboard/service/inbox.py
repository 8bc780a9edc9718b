"""The inbound triage queue: list and show what arrived, and let a person open a case from a
triaged message or dismiss it. Who does it is the owner of their personal API token, never a
name they type; both decisions are audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from offboard.service.case_runs import submit_request
from offboard.service.database import store_session
from offboard.service.tokens import whoami
from offboarding.cases.store import OffboardingError
from offboarding.domain import CancellationRequest, Channel
from offboarding.inbound import store
from offboarding.inbound.parse import reason_text
from offboarding.storage.db import as_utc


def list_inbox(status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    with store_session() as s:
        return [store.as_dict(r) for r in store.list_messages(s, status, limit)]


def show_message(message_id: int) -> dict[str, Any]:
    with store_session() as s:
        return store.as_dict(store.get_message(s, message_id), full=True)


def open_from_triage(
    message_id: int, account_id: str, sender_confirmed: bool = False, token: str | None = None
) -> dict[str, Any]:
    """Open (or join) `account_id`'s case from a triaged message; the requester is the
    message's sender. A sender SPF/DKIM did not vouch for is taken only with
    `sender_confirmed` (the person confirmed it with them), and that is audited."""
    by = whoami(token)
    with store_session() as s:
        row = store.get_message(s, message_id)
        if row.status != store.TRIAGE:
            raise OffboardingError(f"inbound message {row.id} is {row.status}, not in triage")
        if not store.account_exists(s, account_id):
            raise OffboardingError(f"unknown account {account_id!r}: see `offboard accounts`")
        if "@" not in (row.sender or ""):
            raise OffboardingError(f"inbound message {row.id} names no sender to be requester")
        unproven = (row.data or {}).get("authenticated") is False
        if unproven and not sender_confirmed:
            raise OffboardingError(
                f"the sender {row.sender} was not authenticated (SPF/DKIM): confirm the "
                "request with them first, then give --sender-confirmed"
            )
        source, key, sender = row.source, row.message_key, row.sender
        words = reason_text(row.subject, row.body)
        received = as_utc(row.received_at) or datetime.now(UTC)
    channel = Channel.email if source == "email" else Channel.support_ticket
    opened = submit_request(
        CancellationRequest(
            account_id=account_id,
            channel=channel,
            requested_by=sender,
            requested_at=received,
            reason_text=words,
            external_ref=key,
        )
    )
    how = "token, sender confirmed by the operator" if unproven else "token"
    with store_session() as s:
        row = store.get_message(s, message_id)
        store.opened_from_triage(s, row, opened["case_id"], account_id, by, how)
        result = store.as_dict(row)
    result.update(created=opened["created"], decided_by=by)
    if opened.get("not_started"):
        result["not_started"] = opened["not_started"]
    return result


def dismiss_message(message_id: int, why: str, token: str | None = None) -> dict[str, Any]:
    """Not a cancellation: the message stays on record with who dismissed it and why."""
    by = whoami(token)
    with store_session() as s:
        row = store.get_message(s, message_id)
        store.dismiss(s, row, by, why)
        return store.as_dict(row)
