"""Churn patterns in our database: recorded once, extended while open, and fixed — which
writes a `feature_shipped` win-back signal for each churned account that cited it (§11 "we
ship the feature behind their original reason").

Detection is pure (`feedback.patterns.find_patterns`); this records what it finds. Functions
take an open Session (callers own the transaction) and write their audit entries in it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases.store import OffboardingError, audit
from offboarding.feedback.patterns import (
    PATTERN_THRESHOLD,
    PATTERN_WINDOW_DAYS,
    Citation,
    citation_record,
    feature_shipped_codes,
    feature_shipped_signal_id,
    find_patterns,
    pattern_id_for,
)
from offboarding.feedback.themes import CHURNED
from offboarding.integrations.webhook_events import PATTERN_FOUND, record_event
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import CaseRow
from offboarding.storage.models.feedback import FeedbackPatternRow
from offboarding.storage.models.winback import WinbackSignalRow

__all__ = [
    "get_pattern",
    "list_patterns",
    "mark_fixed",
    "pattern_view",
    "record_patterns",
    "write_feature_shipped_signal",
]


def record_patterns(
    session: Session,
    citations: list[Citation],
    threshold: int = PATTERN_THRESHOLD,
    window_days: int = PATTERN_WINDOW_DAYS,
    as_of: datetime | None = None,
) -> dict[str, list[str]]:
    """Store new patterns and add new citations to open ones: {"new": [...], "updated": [...]}.

    A fixed pattern keeps its citations; a gap cited by N customers again after its fix opens
    the next generation. Running this twice changes nothing the second time.
    """
    rows = session.scalars(select(FeedbackPatternRow)).all()
    latest: dict[tuple[str, str], FeedbackPatternRow] = {}
    for r in rows:
        k = (r.kind, r.key)
        if k not in latest or r.generation > latest[k].generation:
            latest[k] = r
    result: dict[str, list[str]] = {"new": [], "updated": []}
    # open patterns: add every later citation of the same gap or issue
    by_key: dict[tuple[str, str], list[Citation]] = defaultdict(list)
    for c in citations:
        by_key[(c.kind, c.key)].append(c)
    for k, row in latest.items():
        if row.status != "open":
            continue
        start = as_utc(row.window_start)
        known = {(x["case_id"], x["source"]) for x in row.citations}
        extra = [
            citation_record(c)
            for c in sorted(by_key.get(k, []), key=lambda c: (c.cited_at, c.case_id))
            if c.cited_at >= start
            and (as_of is None or c.cited_at <= as_of)
            and (c.case_id, c.source) not in known
        ]
        if extra:
            row.citations = [*row.citations, *extra]
            row.window_end = max(as_utc(row.window_end), *(_dt(x["cited_at"]) for x in extra))
            result["updated"].append(row.pattern_id)
    after = {k: as_utc(r.fixed_at) for k, r in latest.items() if r.status == "fixed"}
    skip = {k for k, r in latest.items() if r.status == "open"}
    now = utcnow()
    for p in find_patterns(citations, threshold, window_days, as_of, after):
        if (p.kind, p.key) in skip:
            continue
        generation = latest[(p.kind, p.key)].generation + 1 if (p.kind, p.key) in latest else 1
        row = FeedbackPatternRow(
            pattern_id=pattern_id_for(p.kind, p.key, generation),
            kind=p.kind,
            key=p.key,
            label=p.label[:200],
            generation=generation,
            threshold=threshold,
            window_days=window_days,
            window_start=p.window_start,
            window_end=p.window_end,
            detected_at=now,
            citations=[citation_record(c) for c in p.citations],
            status="open",
            fix_note="",
        )
        session.add(row)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # a concurrent refresh recorded it first
            continue
        audit(
            session,
            None,
            "patterns",
            "pattern_detected",
            f"{p.kind.replace('_', ' ')} '{p.label}' cited by {len(p.accounts)} customers",
            data={"pattern_id": row.pattern_id, "accounts": p.accounts},
        )
        record_event(session, PATTERN_FOUND, {"pattern_id": row.pattern_id, "kind": p.kind,
                     "label": row.label, "accounts": list(p.accounts)})  # fmt: skip
        result["new"].append(row.pattern_id)
    return result


def _dt(s: str) -> datetime:
    return as_utc(datetime.fromisoformat(s))


def pattern_view(row: FeedbackPatternRow) -> dict[str, Any]:
    """A pattern as the CLI, the notice and the dashboard show it (plain JSON values)."""
    accounts = sorted({c["account_id"] for c in row.citations})
    return {
        "pattern_id": row.pattern_id,
        "kind": row.kind,
        "label": row.label,
        "generation": row.generation,
        "status": row.status,
        "customers": len(accounts),
        "accounts": accounts,
        "cases": sorted({c["case_id"] for c in row.citations}),
        "window_start": as_utc(row.window_start).isoformat(),
        "window_end": as_utc(row.window_end).isoformat(),
        "detected_at": as_utc(row.detected_at).isoformat(),
        "notice": row.notice_status,
        "notified_at": as_utc(row.notified_at).isoformat() if row.notified_at else None,
        "notified_to": row.notified_to or [],
        "fixed_at": as_utc(row.fixed_at).isoformat() if row.fixed_at else None,
        "fixed_by": row.fixed_by,
        "fix_note": row.fix_note,
    }


def list_patterns(session: Session, status: str | None = None) -> list[dict[str, Any]]:
    """Every pattern (or those open or fixed), oldest first, as `pattern_view` shows it."""
    q = select(FeedbackPatternRow).order_by(FeedbackPatternRow.detected_at)
    if status:
        q = q.where(FeedbackPatternRow.status == status)
    return [pattern_view(r) for r in session.scalars(q)]


def get_pattern(session: Session, pattern_id: str) -> FeedbackPatternRow:
    """The pattern, or an error that says where to find the ids."""
    row = session.get(FeedbackPatternRow, pattern_id)
    if row is None:
        raise OffboardingError(f"unknown pattern {pattern_id!r}: see `offboard patterns`")
    return row


def mark_fixed(
    session: Session, pattern_id: str, by: str, note: str = "", at: datetime | None = None
) -> dict[str, Any]:
    """Close the loop: the pattern is fixed, and each churned account that cited it gets a
    `feature_shipped` win-back signal. Marking it again re-checks the signals, adds none twice."""
    if not by.strip():
        raise OffboardingError("say who marks the pattern fixed (--by)")
    row = get_pattern(session, pattern_id)
    if row.status != "fixed":
        row.status, row.fixed_at, row.fixed_by = "fixed", as_utc(at) or utcnow(), by
        row.fix_note = note
        audit(session, None, by, "pattern_fixed", pattern_id, note)
    fixed_at = as_utc(row.fixed_at)
    case_ids = sorted({c["case_id"] for c in row.citations})
    cases = {
        c.case_id: c for c in session.scalars(select(CaseRow).where(CaseRow.case_id.in_(case_ids)))
    }
    signals, skipped = [], []
    seen: set[str] = set()
    for cite in sorted(row.citations, key=lambda c: c["cited_at"]):
        case = cases.get(cite["case_id"])
        if case is None or case.account_id in seen:
            continue
        if case.status not in CHURNED:
            skipped.append({"case_id": case.case_id, "why": f"status {case.status}, not churned"})
            continue
        seen.add(case.account_id)
        signals.append(
            write_feature_shipped_signal(
                session,
                account_id=case.account_id,
                case_id=case.case_id,
                pattern_id=row.pattern_id,
                codes=feature_shipped_codes(row.label, cite["label"], case.reason or {}),
                detail=f"fixed: {row.kind.replace('_', ' ')} '{row.label}'. {row.fix_note}".strip(),
                at=fixed_at,
            )
        )
    return {"pattern": pattern_view(row), "signals": signals, "skipped": skipped}


def write_feature_shipped_signal(
    session: Session,
    *,
    account_id: str,
    case_id: str | None,
    pattern_id: str,
    codes: list[str],
    detail: str,
    at: datetime,
) -> dict[str, Any]:
    """One `feature_shipped` signal per (account, pattern) in the win-back signal table, which
    the nightly win-back selection reads; written once, however often the fix is marked."""
    sid = feature_shipped_signal_id(account_id, pattern_id)
    created = session.get(WinbackSignalRow, sid) is None
    if created:
        session.add(
            WinbackSignalRow(
                signal_id=sid,
                type="feature_shipped",
                account_id=account_id,
                domain=None,
                competitor=None,
                codes=codes,
                observed_at=at,
                source=f"pattern:{pattern_id}",
                details={"pattern_id": pattern_id, "case_id": case_id, "detail": detail},
                ingested_at=utcnow(),
            )
        )
        audit(session, case_id, "patterns", "winback_signal", f"feature_shipped {sid}")
    return {"account_id": account_id, "table": "winback_signals", "id": sid, "new": created}
