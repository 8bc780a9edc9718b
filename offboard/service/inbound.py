"""Inbound email (SendGrid Inbound Parse) and helpdesk webhooks: authenticate the post, store
the message once by its key, and open or join a case, or leave the message in triage for a
person. A refused post writes nothing; a message is never dropped and no identity is made up:
the requester is the sender the message carried, and the flow's intake still checks them
against the account's authorised contacts."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offboard.service.case_runs import submit_request
from offboard.service.database import store_session
from offboarding.cases.store import OffboardingError
from offboarding.domain import CancellationRequest, Channel
from offboarding.inbound import store
from offboarding.inbound.classify import classify
from offboarding.inbound.mapping import (
    DEFAULT_MAPPING,
    MappingError,
    Ticket,
    extract,
    load_mappings,
    mapping_for,
)
from offboarding.inbound.matching import match_account
from offboarding.inbound.parse import (
    InboundEmail,
    domain_of,
    excerpt,
    format_dkim,
    key_for,
    parse_sendgrid,
    reason_text,
)
from offboarding.inbound.sendgrid_signed import SIGNATURE, TIMESTAMP, check_signed_parse
from offboarding.inbound.signatures import InboundRefused, check_basic_auth, check_zendesk
from offboarding.settings import get_settings
from offboarding.trust.proofs import ProofError
from offboarding.trust.store import proof_used, use_proof

Reply = tuple[int, dict[str, Any]]
NOT_AUTHENTICATED = "sender not authenticated (SPF/DKIM)"


def _refused(exc: Exception) -> Reply:
    return 401, {"error": "unauthorized", "detail": str(exc)}


def authenticate_parse(headers: dict[str, str], body: bytes | None = None) -> None:
    """Basic auth from the URL's credentials, or SendGrid's signed parse when a verification
    key is configured and the post is signed. InboundRefused otherwise. `body` is only needed
    for the signature."""
    settings = get_settings()
    if headers.get("authorization") or not settings.inbound_parse_public_key:
        check_basic_auth(settings.inbound_parse_secret, headers.get("authorization"))
        return
    check_signed_parse(
        settings.inbound_parse_public_key,
        headers.get(TIMESTAMP),
        headers.get(SIGNATURE),
        body or b"",
        time.time(),
    )


def _submit(account_id: str, channel: Channel, sender: str, key: str, words: str) -> dict[str, Any]:
    request = CancellationRequest(
        account_id=account_id,
        channel=channel,
        requested_by=sender,
        requested_at=datetime.now(UTC),
        reason_text=words,
        external_ref=key,
    )
    return submit_request(request)


def _reply(row: Any, created: bool, **extra: Any) -> Reply:  # noqa: ANN401
    body = {"inbound_id": row.id, "status": row.status, "case_id": row.case_id,
            "duplicate": not created, "why": row.why, **extra}  # fmt: skip
    return 200, body


def _decide(
    source: str,
    key: str,
    fields: dict[str, Any],
    account: str | None,
    open_why: str | None,
    channel: Channel,
    words: str,
) -> Reply:
    """Open (or join) the account's case when there is no triage reason, then store the
    message with the outcome. A submit that fails leaves it in triage with the error."""
    extra: dict[str, Any] = {}
    status, case_id, why = store.TRIAGE, None, open_why or ""
    if open_why is None and account:
        try:
            opened = _submit(account, channel, fields["sender"], key, words)
        except (OffboardingError, ValueError) as exc:
            why = f"could not open a case: {exc}"
        else:
            case_id = opened["case_id"]
            status = store.OPENED if opened["created"] else store.JOINED
            why = "opened a case" if opened["created"] else "joined the account's open case"
            if opened.get("not_started"):
                extra["not_started"] = opened["not_started"]
    with store_session() as s:
        row, created = store.record(
            s, source=source, message_key=key, status=status, why=why, account_id=account,
            case_id=case_id, **fields,
        )  # fmt: skip
        return _reply(row, created, **extra)


# -- SendGrid Inbound Parse ---------------------------------------------------------------------


def receive_email(
    fields: dict[str, str], files: dict[str, tuple[str, str, int, str | None]]
) -> Reply:
    """One authenticated Inbound Parse post (fields and attachment metadata already read)."""
    mail = parse_sendgrid(fields, files)
    key = mail.key
    authenticated, how = mail.authentication()
    verdict = classify(mail.subject, mail.body)
    stored = _email_fields(mail, authenticated, how, verdict.verdict, verdict.matched)
    with store_session() as s:
        existing = store.by_key(s, key)
        if existing is not None:
            return _reply(existing, False)
        parent = store.thread_case(s, mail.thread_keys) if authenticated else None
        if parent is not None:
            row, created = store.record(
                s, source="email", message_key=key, status=store.JOINED,
                why=f"a reply in the thread of case {parent.case_id}",
                account_id=parent.account_id, case_id=parent.case_id, **stored,
            )  # fmt: skip
            if created:
                store.joined_thread(s, row, parent.case_id, parent.message_key)
            return _reply(row, created)
        match = match_account(mail.sender, store.accounts_mentioning(s, mail.sender_domain))
    if not authenticated:
        why = f"{NOT_AUTHENTICATED}: {how}"
    elif match.account_id is None:
        why = f"no account found: {match.why}"
    elif not verdict.is_cancellation:
        why = verdict.why
    else:
        why = None
    stored["data"]["account_match"] = match.why
    return _decide("email", key, stored, match.account_id, why, Channel.email,
                   reason_text(mail.subject, mail.body))  # fmt: skip


def _email_fields(
    mail: InboundEmail, authenticated: bool, how: str, verdict: str, matched: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "sender": mail.sender,
        "subject": mail.subject,
        "body": excerpt(mail.body),
        "thread_key": " ".join(mail.thread_keys) or None,
        "attachments": [a.as_dict() for a in mail.attachments],
        "data": {
            "message_id": mail.message_id,
            "sender_name": mail.sender_name,
            "authenticated": authenticated,
            "authentication": how,
            "spf": mail.spf,
            "dkim": format_dkim(mail.dkim),
            "envelope_from": mail.envelope_from,
            "classification": verdict,
            "matched": list(matched),
            **mail.extra,
        },
    }


# -- helpdesk webhooks --------------------------------------------------------------------------


def helpdesk_mappings() -> dict[str, dict[str, Any]]:
    path = get_settings().helpdesk_mapping
    return load_mappings(Path(path or DEFAULT_MAPPING).read_text(encoding="utf-8"))


def receive_helpdesk(source: str, headers: dict[str, str], body: bytes) -> Reply:
    """POST /inbound/helpdesk/{source}: 200 with what became of the ticket; 401 unsigned,
    wrongly signed or stale; 400 not JSON or not a ticket. Nothing is written on an error."""
    secret = get_settings().helpdesk_secrets.get(source)
    signature = headers.get("x-zendesk-webhook-signature")
    try:
        check_zendesk(secret, headers.get("x-zendesk-webhook-signature-timestamp"), signature,
                      body, time.time())  # fmt: skip
    except InboundRefused as exc:
        return _refused(exc)
    replay = hashlib.sha256(f"helpdesk:{source}:{signature}".encode()).hexdigest()
    try:
        mapping = mapping_for(helpdesk_mappings(), source)
        if mapping is None:
            raise MappingError(f"no helpdesk mapping for {source!r} (nor a default)")
        ticket = extract(mapping, json.loads(body))
    except (ValueError, UnicodeDecodeError) as exc:  # MappingError is a ValueError
        return 400, {"error": "bad_request", "detail": str(exc)}
    key = key_for(f"helpdesk:{source}", ticket.ticket_id)
    with store_session() as s:
        if proof_used(s, replay):
            existing = store.by_key(s, key)
            reply = _reply(existing, False) if existing else (200, {"status": "replayed"})
            return reply[0], {**reply[1], "replayed": True}
        existing = store.by_key(s, key)
        if existing is not None:
            _use(s, replay, existing.case_id, source)
            return _reply(existing, False)
        account, why = _ticket_account(s, ticket)
    verdict = classify(ticket.subject, ticket.description, ticket.tags,
                       mapping.get("cancellation_tags") or ())  # fmt: skip
    if not ticket.requester_email or "@" not in ticket.requester_email:
        why = "the ticket names no requester email"
    elif why is None and not verdict.is_cancellation:
        why = verdict.why
    fields = {
        "sender": ticket.requester_email,
        "subject": ticket.subject[:500],
        "body": excerpt(ticket.description),
        "thread_key": None,
        "attachments": [],
        "data": {
            "ticket_id": ticket.ticket_id,
            "tags": list(ticket.tags),
            "claimed_account": ticket.account_id,
            "classification": verdict.verdict,
            "matched": list(verdict.matched),
        },  # fmt: skip
    }
    status, reply = _decide(f"helpdesk:{source}", key, fields, account, why,
                            Channel.support_ticket, reason_text(ticket.subject,
                                                                ticket.description))  # fmt: skip
    with store_session() as s:
        _use(s, replay, reply.get("case_id"), source)
    return status, reply


def _use(s: Any, replay: str, case_id: str | None, source: str) -> None:  # noqa: ANN401
    """Mark this signed delivery used (a concurrent twin may have done so already)."""
    try:
        if not proof_used(s, replay):
            use_proof(s, replay, case_id or "", f"helpdesk:{source}", "sig")
    except ProofError:
        pass


def _ticket_account(s: Any, ticket: Ticket) -> tuple[str | None, str | None]:  # noqa: ANN401
    """(account, triage reason or None): the account the ticket names, else the requester's."""
    if ticket.account_id:
        if store.account_exists(s, ticket.account_id):
            return ticket.account_id, None
        return None, f"unknown account {ticket.account_id!r} named by the ticket"
    match = match_account(
        ticket.requester_email, store.accounts_mentioning(s, domain_of(ticket.requester_email))
    )
    if match.account_id is None:
        return None, f"no account found: {match.why}"
    return match.account_id, None
