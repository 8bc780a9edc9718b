"""Tonight's selection in our database: the night, its outreach records and leads, the
owner's review, and the send.

The nightly selection is recorded whole or not at all, keyed by the night, so a rerun finds
it and creates nothing. Functions take an open Session (callers own the transaction) and
write their audit entries in it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases.store import OffboardingError, audit
from offboarding.domain import OutreachStatus, SignalType
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models.winback import (
    WinbackLeadRow,
    WinbackNightRow,
    WinbackOutcomeRow,
    WinbackOutreachRow,
    WinbackPreferenceRow,
)
from offboarding.winback.rules import explain

__all__ = [
    "get_outreach",
    "mark_sent",
    "night_recorded",
    "outreach_id",
    "outreach_rows",
    "outreach_view",
    "record_night",
    "review",
    "withdraw_if_unwanted",
]


def night_recorded(session: Session, night: date) -> WinbackNightRow | None:
    """The night's evaluation if it ran: a rerun then selects nothing new."""
    return session.get(WinbackNightRow, night)


def _status_for(row: dict[str, Any]) -> OutreachStatus:
    if row["type"] == SignalType.champion_moved:
        return OutreachStatus.lead
    if row["strategic"]:
        return OutreachStatus.awaiting_review
    return OutreachStatus.to_send


def outreach_id(account_id: str, night: date) -> str:
    """One outreach per account and night: the natural key a retry finds again."""
    return f"W-{account_id}-{night:%Y%m%d}"


def record_night(
    session: Session,
    night: date,
    selected: pl.DataFrame,
    signal_details: dict[str, dict],
    *,
    candidates: int,
    signals: int,
    flow_run_id: str | None = None,
) -> dict[str, Any]:
    """Write tonight's selection: outreach records (with reason and signal), leads for
    champions who moved, and the night itself, in one transaction. A night already recorded
    is left as it is (the second writer loses the race and writes nothing)."""
    if night_recorded(session, night) is not None:
        return {"night": night.isoformat(), "created": 0, "already_recorded": True}
    now = utcnow()
    seqs = dict(
        session.execute(
            select(WinbackOutreachRow.case_id, func.count()).group_by(WinbackOutreachRow.case_id)
        ).all()
    )
    for r in selected.iter_rows(named=True):
        details = signal_details.get(r["signal_id"], {})
        status = _status_for(r)
        oid = outreach_id(r["account_id"], night)
        session.add(
            WinbackOutreachRow(
                outreach_id=oid,
                night=night,
                account_id=r["account_id"],
                case_id=r["case_id"],
                owner=r["owner"],
                strategic=bool(r["strategic"]),
                signal_id=r["signal_id"],
                signal_type=r["type"],
                signal_observed_at=r["observed_at"],
                strength=r["strength"],
                why=explain(r["type"], r["reason"], details, r["product_gap"]),
                status=str(status),
                message_seq=seqs.get(r["case_id"], 0) + 1,
                review_note="",
                flow_run_id=flow_run_id,
                created_at=now,
            )
        )
        if status == OutreachStatus.lead:
            session.add(
                WinbackLeadRow(
                    lead_id=f"L-{r['signal_id']}",
                    signal_id=r["signal_id"],
                    outreach_id=oid,
                    original_account_id=r["account_id"],
                    original_case_id=r["case_id"],
                    person=str(details.get("person") or ""),
                    new_company=str(details.get("new_company") or "unknown company"),
                    new_domain=details.get("new_domain"),
                    owner=r["owner"],
                    status="open",
                    created_at=now,
                )
            )
    session.add(
        WinbackNightRow(
            night=night,
            evaluated_at=now,
            flow_run_id=flow_run_id,
            candidates=candidates,
            signals=signals,
            selected=selected.height,
        )
    )
    try:
        session.flush()
    except IntegrityError:  # a concurrent run of the same night recorded it first
        session.rollback()
        return {"night": night.isoformat(), "created": 0, "already_recorded": True}
    audit(
        session,
        None,
        "winback-flow",
        "winback_night",
        f"{night}: {selected.height} outreach from {candidates} accounts, {signals} signals",
    )
    return {"night": night.isoformat(), "created": selected.height, "already_recorded": False}


def outreach_rows(
    session: Session, night: date | None = None, status: str | None = None
) -> list[WinbackOutreachRow]:
    """Outreach per night and owner, strongest first: the order owners work through."""
    q = select(WinbackOutreachRow).order_by(
        WinbackOutreachRow.night, WinbackOutreachRow.owner, WinbackOutreachRow.strength.desc()
    )
    if night is not None:
        q = q.where(WinbackOutreachRow.night == night)
    if status is not None:
        q = q.where(WinbackOutreachRow.status == status)
    return list(session.scalars(q))


def outreach_view(o: WinbackOutreachRow) -> dict[str, Any]:
    """An outreach as the CLI and the published table show it (plain JSON values)."""
    return {
        "outreach_id": o.outreach_id,
        "night": o.night.isoformat(),
        "account_id": o.account_id,
        "case_id": o.case_id,
        "owner": o.owner,
        "strategic": o.strategic,
        "signal_id": o.signal_id,
        "signal_type": o.signal_type,
        "observed_at": o.signal_observed_at and as_utc(o.signal_observed_at).isoformat(),
        "strength": o.strength,
        "why": o.why,
        "status": o.status,
        "message": o.message_location,
        "reviewed_by": o.reviewed_by,
    }


def get_outreach(session: Session, oid: str) -> WinbackOutreachRow:
    """The outreach, or an error that says where to find the ids."""
    row = session.get(WinbackOutreachRow, oid)
    if row is None:
        raise OffboardingError(f"unknown outreach {oid!r}: see `offboard winback review`")
    return row


def review(
    session: Session, oid: str, *, by: str, approve: bool, note: str, reviewers: set[str]
) -> tuple[WinbackOutreachRow, str | None]:
    """The owner's decision on a strategic outreach: (row, None), or (row, why refused).

    Only the account owner or a manager decides. A refusal is audited and returned rather
    than raised, so the caller's commit keeps it in the audit log.
    """
    row = get_outreach(session, oid)
    who = by.strip().lower()
    if row.status != OutreachStatus.awaiting_review:
        raise OffboardingError(f"outreach {oid} is {row.status}, not awaiting review")
    if who != row.owner and who not in reviewers:
        why = f"{who} is neither the account owner ({row.owner}) nor a manager"
        audit(session, row.case_id, who, "winback_review_refused", oid, why)
        return row, why
    row.reviewed_by, row.reviewed_at, row.review_note = who, utcnow(), note
    row.status = str(OutreachStatus.to_send if approve else OutreachStatus.declined)
    audit(
        session,
        row.case_id,
        who,
        "winback_review",
        f"{oid}: {'approved' if approve else 'declined'}",
        note,
    )
    return row, None


def withdraw_if_unwanted(session: Session, row: WinbackOutreachRow) -> str | None:
    """Right before sending: an opt-out, a clean break or a return since the selection wins.
    Returns why the outreach was withdrawn (and records it), or None to go ahead."""
    pref = session.get(WinbackPreferenceRow, row.account_id)
    why = None
    if pref is not None and pref.clean_break:
        why = "asked for a clean break before the message went"
    elif pref is not None and pref.opted_out:
        why = "opted out before the message went"
    elif session.get(WinbackOutcomeRow, row.case_id) is not None:
        why = "won back before the message went"
    if why is not None:
        row.status, row.review_note = str(OutreachStatus.declined), why
        audit(
            session, row.case_id, "winback-flow", "winback_outreach_withdrawn", row.outreach_id, why
        )
    return why


def mark_sent(session: Session, oid: str, location: str) -> None:
    """Only an outreach still to send becomes sent, so a retried send records it once."""
    row = get_outreach(session, oid)
    if row.status == OutreachStatus.to_send:
        row.status, row.message_location, row.sent_at = str(OutreachStatus.sent), location, utcnow()
        audit(session, row.case_id, "winback-flow", "winback_outreach_sent", oid, row.why)
