"""§6 erasure in our own store at retention end: personal data of an account's cases goes, the
facts the audit trail and the KPIs need stay (ids, dates, statuses, reason categories).

What is erased: the account's contacts (names, emails); for each of its cases the requester's
address, the request's free text, the reason in the customer's words, message recipients and
the message files themselves (they quote names and addresses), and what the customer said in
save conversations; and the evidence of its at-risk episodes (§14) with their owner
alerts. The audit log is append-only (the database refuses changes) and is kept
free of personal data by what we write into it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from offboarding.storage.models import (
    AccountRow,
    CaseRow,
    DecisionRow,
    MessageRow,
    SaveAttemptRow,
)
from offboarding.storage.models.early_warning import RiskEpisodeRow

__all__ = ["ERASED", "erase_account_personal_data"]

ERASED = "[erased]"
#: Free-text fields of a verification decision's payload that quote the customer.
_DECISION_TEXT = ("reason_detail", "missed_warning_signs")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def erase_account_personal_data(
    session: Session,
    account_id: str,
    outbox_dir: Path | None = None,
    apply: bool = True,
    keep_message_kinds: tuple[str, ...] = ("deletion_confirmation",),
) -> dict[str, Any]:
    """Erase in the caller's transaction; idempotent (a second call erases nothing more).
    With `apply=False` only count what would be erased (the certificate states it first).

    Message files are deleted only inside `outbox_dir`, never elsewhere; files of
    `keep_message_kinds` stay (the deletion confirmation is the customer's proof).
    """
    counts = {
        "contacts": 0,
        "case_requests": 0,
        "reason_texts": 0,
        "message_recipients": 0,
        "message_files": 0,
        "save_conversation_notes": 0,
        "decision_texts": 0,
    }
    account = session.get(AccountRow, account_id)
    if account is not None and account.data.get("contacts"):
        counts["contacts"] = len(account.data["contacts"])
        if apply:
            account.data = {**account.data, "contacts": []}
    cases = list(session.scalars(select(CaseRow).where(CaseRow.account_id == account_id)))
    for case in cases:
        if case.requested_by != ERASED:
            counts["case_requests"] += 1
            if apply:
                case.requested_by = ERASED
                case.request = {**(case.request or {}), "requested_by": ERASED, "reason_text": ""}
        if case.reason and (case.reason.get("detail") or case.reason.get("missed_warning_signs")):
            counts["reason_texts"] += 1
            if apply:
                case.reason = {**case.reason, "detail": "", "missed_warning_signs": ""}
        for msg in session.scalars(select(MessageRow).where(MessageRow.case_id == case.case_id)):
            if msg.kind in keep_message_kinds:
                continue
            if msg.to_addr != ERASED:
                counts["message_recipients"] += 1
                if apply:
                    msg.to_addr = ERASED
            path = Path(msg.location)
            if outbox_dir is not None and _inside(path, outbox_dir) and path.is_file():
                counts["message_files"] += 1
                if apply:
                    path.unlink()
        for attempt in session.scalars(
            select(SaveAttemptRow).where(SaveAttemptRow.case_id == case.case_id)
        ):
            if attempt.customer_said and attempt.customer_said != ERASED:
                counts["save_conversation_notes"] += 1
                if apply:
                    attempt.customer_said = ERASED
        for decision in session.scalars(
            select(DecisionRow).where(DecisionRow.case_id == case.case_id)
        ):
            data = decision.data or {}
            if any(data.get(k) for k in _DECISION_TEXT):
                counts["decision_texts"] += 1
                if apply:
                    decision.data = {**data, **{k: "" for k in _DECISION_TEXT if k in data}}
    _erase_risk_episodes(session, account_id, outbox_dir, apply, counts)
    counts["cases"] = len(cases)
    return counts


def _erase_risk_episodes(
    session: Session, account_id: str, outbox_dir: Path | None, apply: bool, counts: dict
) -> None:
    """§14 at-risk episodes of the account: their evidence names champions and users, so it
    goes; their owner alerts go as messages do (counted with them)."""
    for ep in session.scalars(
        select(RiskEpisodeRow).where(RiskEpisodeRow.account_id == account_id)
    ):
        if apply and ep.evidence != ERASED:
            ep.evidence = ep.latest_evidence = ep.resolution_note = ERASED
        for msg in session.scalars(select(MessageRow).where(MessageRow.case_id == ep.episode_id)):
            if msg.to_addr != ERASED:
                counts["message_recipients"] += 1
                if apply:
                    msg.to_addr = ERASED
            path = Path(msg.location)
            if outbox_dir is not None and _inside(path, outbox_dir) and path.is_file():
                counts["message_files"] += 1
                if apply:
                    path.unlink()
