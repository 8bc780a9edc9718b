"""Messages of the playbook: preview a template with sample or real case data, list what a case
was sent, and release a refused or unknown-outcome message (the automation never resends those
by itself)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from offboard.service.database import store_session
from offboarding.cases.store import OffboardingError, audit, get_account, get_case
from offboarding.domain import check_email
from offboarding.settings import get_settings
from offboarding.storage.models import MessageRow

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "offboarding" / "sample_data"
#: The sample account each locale is previewed with when no case is given.
PREVIEW_ACCOUNT = {"en": "ACME-SMB", "ja": "SAKURA-JP", "ms": "KAMPUNG-MY"}


def check_kind(kind: str) -> None:
    """Refuse a message kind the playbook does not have, naming the ones it has."""
    from offboarding.comms.messages import KINDS

    if kind not in KINDS:
        raise OffboardingError(f"unknown message kind {kind!r}; known: {', '.join(KINDS)}")


def template_rows() -> list[dict[str, Any]]:
    """Every message of the playbook, who reads it, why, and its locales."""
    from offboarding.comms.messages import KINDS, locales_of

    return [
        {
            "kind": k.name,
            "audience": k.audience,
            "purpose": k.purpose,
            "locales": locales_of(k.name),
        }
        for k in KINDS.values()
    ]


def _sample_account(locale: str) -> dict[str, Any]:
    accounts = json.loads((SAMPLE_DATA / "accounts.json").read_text(encoding="utf-8"))
    wanted = PREVIEW_ACCOUNT.get(locale, "ACME-SMB")
    return next(a for a in accounts if a["account_id"] == wanted)


def _case_context(case_id: str) -> tuple[dict[str, Any], str]:
    """The real context of a case, with sample extras for what only a live send would have
    (export links, a win-back signal...), so every kind can be previewed for any case."""
    from offboarding.comms.messages import sample_context
    from tasks.messaging import message_context

    with store_session() as s:
        account = get_account(s, get_case(s, case_id).account_id)
        ctx = message_context(s, case_id)
    sample = sample_context(account)
    ctx["extra"] = {**sample["extra"], **ctx["extra"]}
    ctx["export"] = ctx["export"] or sample["export"]
    return ctx, account.locale


def preview_message(
    kind: str, locale: str | None, case_id: str | None, out: Path | None
) -> dict[str, Any]:
    """Render one message to HTML and text files for review (a case's own locale by default)."""
    from offboarding.comms.messages import locales_of, render, sample_context

    check_kind(kind)
    if case_id:
        ctx, account_locale = _case_context(case_id)
        locale = locale or account_locale
    else:
        locale = locale or "en"
        ctx = sample_context(_sample_account(locale))
    have = locales_of(kind)
    if locale not in have:
        raise OffboardingError(
            f"no {kind} template for locale {locale!r} (have: {', '.join(have)})"
        )
    try:
        msg = render(kind, ctx, locale)
    except Exception as exc:  # noqa: BLE001 - a template error becomes one clear line
        raise OffboardingError(f"{kind}.{locale} does not render for this case: {exc}") from exc
    folder = out or get_settings().state_dir / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{case_id or 'sample'}-{kind}.{msg.locale}"
    html_path, text_path = folder / f"{stem}.html", folder / f"{stem}.txt"
    html_path.write_text(msg.html, encoding="utf-8")
    text_path.write_text(f"Subject: {msg.subject}\n\n{msg.text}", encoding="utf-8")
    return {
        "kind": kind,
        "locale": msg.locale,
        "case_id": case_id,
        "subject": msg.subject,
        "text": msg.text,
        "html_file": str(html_path),
        "text_file": str(text_path),
    }


def message_rows(case_id: str) -> list[dict[str, Any]]:
    """The messages of a known case, in the order they were queued."""
    with store_session() as s:
        get_case(s, case_id)
        rows = s.scalars(
            select(MessageRow).where(MessageRow.case_id == case_id).order_by(MessageRow.id)
        )
        return [
            {
                "kind": m.kind,
                "seq": m.seq,
                "status": m.status,
                "locale": m.locale,
                "to": m.to_addr,
                "subject": m.subject,
                "sent_at": m.sent_at and m.sent_at.isoformat(),
                "attempts": m.attempts,
                "provider": m.provider,
                "key": m.idempotency_key,
                "location": m.location,
                "error": m.last_error if m.status != "sent" else None,
            }
            for m in rows
        ]


def release_message(
    case_id: str,
    kind: str,
    seq: int,
    by: str | None,
    delivered: bool | None,
    token: str | None = None,
) -> dict[str, Any]:
    """A person's decision on a held message: it did arrive (mark sent), or send it again on the
    next run. The person is the owner of the API token (`by` only has to agree with it), and
    the decision is recorded in the audit log under their email."""
    from offboard.service.tokens import proven_actor
    from offboarding.comms import ledger

    if delivered is None:
        raise OffboardingError("say what happened: --delivered or --send-again")
    check_kind(kind)
    if by is not None:
        check_email(by)
    with store_session() as s:
        get_case(s, case_id)
    who = proven_actor(by, token)
    with store_session() as s:
        try:
            row = ledger.release(s, case_id, kind, seq, delivered=delivered, by=who)
        except LookupError as exc:
            raise OffboardingError(str(exc)) from exc
        audit(
            s,
            case_id,
            who,
            "message_released",
            f"{kind} #{seq}",
            "confirmed delivered" if delivered else "send again",
        )
        return {"case_id": case_id, "kind": kind, "seq": seq, "status": row.status}
