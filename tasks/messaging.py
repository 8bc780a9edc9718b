"""Send a playbook message exactly once per (case, kind, sequence) through the configured mailer.

`deliver` is the whole send as a plain function (tests drive it directly); `send_message` is
the Prefect task callers use. The exactly-once rules live in `offboarding.comms.ledger`:
the intent row is committed before the transport is called, so a rerun, a resumed run, a
task retry or a second worker finds it and never calls the transport a second time.

Errors: a refusal (4xx) marks the case `needs_attention` and raises `MessageUndeliverable`,
which is not retried; throttling, 5xx and connection faults raise a `ConnectionError`
subclass, which the task's retry policy retries with backoff.
"""

from __future__ import annotations

import time
from typing import Any

from jinja2 import UndefinedError
from prefect import task
from sqlalchemy.exc import IntegrityError, OperationalError

from offboarding.cases.store import audit, get_account, get_case
from offboarding.comms import ledger
from offboarding.comms.mailer import (
    Address,
    Attachment,
    Mailer,
    OutgoingMessage,
    PermanentMailError,
    TransientMailError,
    message_key,
)
from offboarding.comms.messages import INTERNAL_KINDS, render
from offboarding.comms.transport import build_mailer
from offboarding.domain import check_email
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.storage.models import InvoiceRow
from offboarding.trust.store import account_recipients
from tasks.common import RETRYING, db

ACTOR = "mailer"
#: Waits the provider asks for (429) up to this long are slept through inside the task.
MAX_INLINE_WAIT = 120.0


class MessageUndeliverable(RuntimeError):
    """The provider refused the message; the case needs attention. Not retried blindly."""


class MessageNotRenderable(ValueError):
    """The case lacks what the message needs (e.g. no plan yet): a bug or a bad call site."""


def _executive(text: str) -> dict[str, str]:
    name, _, title = text.partition(",")
    return {"name": name.strip(), "title": title.strip()}


def message_context(session, case_id: str, extra: dict[str, Any] | None = None) -> dict:  # noqa: ANN001
    """Everything a template may read, from the database (plus the caller's `extra`)."""
    case = get_case(session, case_id)
    account = get_account(session, case.account_id)
    reason = case.reason or {}
    invoice = session.get(InvoiceRow, case_id)
    requester = str(case.requested_by).lower()
    contact = next((c for c in account.contacts if c.email.lower() == requester), None)
    contact = contact or next(iter(account.contacts), None)
    policy = get_settings().policy()
    extra = {k: v for k, v in (extra or {}).items() if k != "attachments"}
    return {
        "account": account.model_dump(mode="json"),
        "owner": account.owner.model_dump(mode="json"),
        "contact_name": contact.name if contact else None,
        "case": {
            "case_id": case.case_id,
            "external_ref": case.external_ref,
            "channel": case.channel,
            "requested_at": case.requested_at.isoformat(),
            "reason_text": (case.request or {}).get("reason_text", ""),
            "reason_category": reason.get("category", "not recorded"),
            "reason_detail": reason.get("detail", ""),
            "competitor_name": reason.get("competitor_name"),
            "product_gap": reason.get("product_gap"),
            "preventable": reason.get("preventable"),
            "missed_warning_signs": reason.get("missed_warning_signs", ""),
            "closed_on": case.closed_on.isoformat() if case.closed_on else None,
        },
        "plan": case.plan or {},
        "invoice": invoice.data if invoice else None,
        "export": extra.get("export"),
        "retention": {
            "retention_days": policy.retention.retention_days,
            "backup_months": policy.retention.backup_months,
        },
        "executive": _executive(policy.comms.executive),
        "extra": extra,
    }


#: Customer messages that carry nothing of the account: they may go to an unproven requester.
NO_ACCOUNT_DATA = ("request_received",)


def recipients(session, case_id: str, kind: str, extra: dict | None = None) -> list[str]:  # noqa: ANN001
    """Internal kinds go to the team (and managers for escalations) plus the owner; customer
    kinds to the account's authorised contacts (and the requester once they are one or
    confirmed), or to `extra["to"]` when given."""
    case = get_case(session, case_id)
    account = get_account(session, case.account_id)
    policy = get_settings().policy()
    if extra and extra.get("to"):
        to = [*dict.fromkeys(check_email(str(a)).strip().lower() for a in extra["to"])]
        if kind in INTERNAL_KINDS or kind in NO_ACCOUNT_DATA:
            return to
        allowed = set(account_recipients(session, case, policy))
        if stray := [a for a in to if a not in allowed]:
            raise PermanentMailError(
                f"{kind} for case {case_id} would go to {', '.join(stray)}, who is not an "
                "authorised contact of the account: refused"
            )
        return to
    if kind in INTERNAL_KINDS:
        team = list(policy.comms.team_notify)
        if kind in ("escalation_notice", "acknowledgement_overdue"):
            team += sorted(policy.holders("manager"))
        addrs = team + [account.owner.email]
    else:
        addrs = account_recipients(session, case, policy)
    return [*dict.fromkeys(a.strip().lower() for a in addrs)]


def _attachments(extra: dict[str, Any] | None) -> tuple[Attachment, ...]:
    out = []
    for a in (extra or {}).get("attachments") or []:
        if isinstance(a, Attachment):
            out.append(a)
        elif isinstance(a, dict):
            out.append(Attachment(a["filename"], a["content"], a.get("content_type", "")))
        else:
            name, data, ctype = a
            out.append(Attachment(name, data, ctype))
    return tuple(out)


def compose(
    session,  # noqa: ANN001
    case_id: str,
    kind: str,
    seq: int,
    extra: dict[str, Any] | None,
) -> OutgoingMessage:
    """Render the message for the account's locale and address it (pure given the DB)."""
    settings = get_settings()
    case = get_case(session, case_id)
    account = get_account(session, case.account_id)
    # customers read their own language; internal notices go out in the team's
    locale = settings.policy().comms.default_locale if kind in INTERNAL_KINDS else account.locale
    try:
        rendered = render(kind, message_context(session, case_id, extra), locale)
    except (UndefinedError, ValueError) as exc:
        raise MessageNotRenderable(
            f"{kind} for case {case_id} cannot be rendered in {locale!r}: {exc}"
        ) from exc
    owner = Address(str(account.owner.email), account.owner.name)
    sender = Address(settings.mail_from, account.owner.name) if settings.mail_from else owner
    return OutgoingMessage(
        key=message_key(case_id, kind, seq),
        case_id=case_id,
        kind=kind,
        seq=seq,
        locale=rendered.locale,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        to=tuple(recipients(session, case_id, kind, extra)),
        sender=sender,
        reply_to=owner if settings.mail_from else None,
        attachments=_attachments(extra),
    )


def compose_notice(
    session,  # noqa: ANN001
    subject_id: str,
    account_id: str,
    kind: str,
    seq: int,
    extra: dict[str, Any] | None,
) -> OutgoingMessage:
    """An internal message about an account that has no case (§14: an at-risk alert, whose
    ledger subject is the episode id), to the account's owner, in the team's language."""
    if kind not in INTERNAL_KINDS:
        raise MessageNotRenderable(f"{kind} is a customer message: it needs a case")
    settings = get_settings()
    policy = settings.policy()
    account = get_account(session, account_id)
    context = {
        "account": account.model_dump(mode="json"),
        "owner": account.owner.model_dump(mode="json"),
        "contact_name": None,
        "case": {"case_id": subject_id},
        "plan": {},
        "invoice": None,
        "export": None,
        "retention": {"retention_days": policy.retention.retention_days,
                      "backup_months": policy.retention.backup_months},
        "executive": _executive(policy.comms.executive),
        "extra": dict(extra or {}),
    }  # fmt: skip
    locale = policy.comms.default_locale
    try:
        rendered = render(kind, context, locale)
    except (UndefinedError, ValueError) as exc:
        raise MessageNotRenderable(f"{kind} for {subject_id} cannot be rendered: {exc}") from exc
    owner = Address(str(account.owner.email), account.owner.name)
    sender = Address(settings.mail_from, "Early warning") if settings.mail_from else owner
    return OutgoingMessage(
        key=message_key(subject_id, kind, seq),
        case_id=subject_id,
        kind=kind,
        seq=seq,
        locale=rendered.locale,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        to=(str(account.owner.email).lower(),),
        sender=sender,
        reply_to=None,
    )


def _claim(message: OutgoingMessage, mailer: Mailer) -> ledger.Claim | ledger.AlreadyDone:
    """Take the claim; sleep through a short Retry-After; blocked -> raise after commit."""
    deadline = time.monotonic() + MAX_INLINE_WAIT
    while True:
        try:
            with db() as s:
                result = ledger.claim(
                    s,
                    case_id=message.case_id,
                    kind=message.kind,
                    seq=message.seq,
                    key=message.key,
                    to=", ".join(message.to),
                    subject=message.subject,
                    locale=message.locale,
                    provider=mailer.provider,
                    replay_safe=mailer.replay_safe,
                )
                if isinstance(result, ledger.Blocked):
                    audit(s, message.case_id, ACTOR, "message_blocked", message.kind, result.reason)
        except IntegrityError as exc:
            raise ledger.SendInFlight(
                f"{message.kind} #{message.seq} for {message.case_id} was claimed concurrently"
            ) from exc
        except ledger.NotYet as exc:
            if time.monotonic() + exc.wait_seconds > deadline:
                raise
            time.sleep(exc.wait_seconds)
            continue
        if isinstance(result, ledger.Blocked):
            raise ledger.MessageBlocked(result.reason)
        return result


def _record_sent(claim: ledger.Claim, message: OutgoingMessage, delivery) -> None:  # noqa: ANN001
    """The provider accepted: record it, retrying a flaky database a few times. If this
    still fails the row stays `sending` and is never re-sent blindly (see the ledger)."""
    for attempt in range(6):
        try:
            with db() as s:
                ledger.mark_sent(s, claim, delivery)
                ledger.unflag_case(
                    s, message.case_id, ledger.attention_marker(message.kind, message.seq)
                )
                audit(
                    s,
                    message.case_id,
                    ACTOR,
                    "message_sent",
                    f"{message.kind} #{message.seq} to {len(message.to)} via {delivery.provider}",
                    data={"key": message.key, "location": delivery.location},
                )
            return
        except OperationalError:
            if attempt == 5:
                raise
            time.sleep(0.2 * 2**attempt)


def deliver(
    case_id: str,
    kind: str,
    seq: int = 1,
    extra: dict[str, Any] | None = None,
    *,
    mailer: Mailer | None = None,
    account_id: str | None = None,
) -> dict[str, Any]:
    """Send (case, kind, seq) at most once; return where it went and whether it went now.
    With `account_id`, `case_id` is the subject of an internal notice about that account
    (an at-risk episode), composed by `compose_notice`; the ledger is the same."""
    with db() as s:
        row = ledger.find(s, case_id, kind, seq)
        if row is not None and row.status == ledger.MessageStatus.sent:
            return {"kind": kind, "seq": seq, "sent_now": False, "location": row.location}
        if account_id is not None:
            message = compose_notice(s, case_id, account_id, kind, seq, extra)
        else:
            message = compose(s, case_id, kind, seq, extra)
    mailer = mailer or build_mailer(get_settings())
    claim = _claim(message, mailer)
    if isinstance(claim, ledger.AlreadyDone):
        return {"kind": kind, "seq": seq, "sent_now": False, "location": claim.location}
    try:
        delivery = mailer.send(message)
    except PermanentMailError as exc:
        with db() as s:
            why = ledger.mark_failed(s, claim, mailer.provider, str(exc), exc.attempts)
            audit(s, case_id, ACTOR, "message_refused", f"{kind} #{seq}", str(exc))
        raise MessageUndeliverable(
            f"{why}. The case is marked needs_attention; fix the cause (e.g. the address), then "
            f"`offboard messages release {case_id} {kind} --seq {seq}` and rerun the step"
        ) from exc
    except TransientMailError as exc:
        with db() as s:
            ledger.mark_retry(s, claim, mailer.provider, str(exc), exc.attempts, exc.retry_after)
        raise
    except Exception as exc:
        if mailer.replay_safe:  # nothing can have gone twice: free the claim for a retry
            with db() as s:
                ledger.mark_retry(s, claim, mailer.provider, repr(exc), (), None)
        raise
    _record_sent(claim, message, delivery)
    return {
        "kind": kind,
        "seq": seq,
        "sent_now": True,
        "location": delivery.location,
        "replay": claim.replay,
        "at": utcnow().isoformat(),
    }


@task(name="send-message", **RETRYING)
def send_message(
    case_id: str, kind: str, seq: int = 1, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Exactly once per (case, kind, seq): see `deliver` and `offboarding.comms.ledger`."""
    return deliver(case_id, kind, seq, extra)
