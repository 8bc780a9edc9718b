"""At-risk episodes in our database: opened by the daily scan, one per account and cause,
open until a person resolves it; the owner is told once.

An open episode is the idempotency key of the scan: a finding whose episode is open only
refreshes what was last seen (no new episode, no new alert), and a cause resolved within
`quiet_days_after_resolve` opens nothing either (a person just looked at it). Functions take
an open Session (callers own the transaction) and write their audit entries in it.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases.store import OffboardingError, audit
from offboarding.early_warning.priority import ORDER, AccountContext, priority
from offboarding.policy import Policy
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import AccountRow
from offboarding.storage.models.early_warning import RiskEpisodeRow, RiskScanRow

__all__ = [
    "episode_id",
    "episode_view",
    "episodes",
    "get_episode",
    "mark_notified",
    "record_scan",
    "resolve",
    "to_notify",
]

ACTOR = "early-warning-flow"


def episode_id(account_id: str, cause: str, opened_on: date) -> str:
    """A short, stable id (it is also the message ledger's subject: at most 32 characters)."""
    digest = hashlib.sha1(f"{account_id}|{cause}|{opened_on}".encode()).hexdigest()[:12]
    return f"EW-{digest}"


def _context(r: dict[str, Any]) -> AccountContext:
    return AccountContext(
        r["account_id"], r["segment"] or "smb", r["arr"] or 0.0, r["renewal_on"], r["health"],
        bool(r["executive_visibility"]), bool(r["competitive_risk"]),
    )  # fmt: skip


def record_scan(
    session: Session,
    day: date,
    ranked: pl.DataFrame,
    policy: Policy,
    *,
    population: int,
    stale: set[str],
    flow_run_id: str | None = None,
) -> dict[str, Any]:
    """Open an episode for every finding whose account and cause has none open (and was not
    resolved in the quiet days); refresh the open ones. Returns what was opened."""
    now = utcnow()
    ew = policy.early_warning
    open_now = {(r.account_id, r.cause): r for r in episodes(session, status="open")}
    since = now - timedelta(days=ew.quiet_days_after_resolve)
    quiet = {
        (r.account_id, r.cause)
        for r in session.scalars(
            select(RiskEpisodeRow).where(
                RiskEpisodeRow.status == "resolved", RiskEpisodeRow.resolved_at >= since
            )
        )
    }
    opened, seen = [], 0
    for r in ranked.iter_rows(named=True):
        key = (r["account_id"], r["cause"])
        if key in open_now:
            row = open_now[key]
            row.last_seen_on, row.latest_evidence = max(row.last_seen_on, day), r["evidence"]
            seen += 1
            continue
        if key in quiet:
            continue
        p = priority(r["impact"], r["urgency"], _context(r), day, policy)
        eid = episode_id(r["account_id"], r["cause"], day)
        session.add(
            RiskEpisodeRow(
                episode_id=eid, account_id=r["account_id"], cause=r["cause"], status="open",
                opened_on=day, opened_at=now, last_seen_on=day, evidence=r["evidence"],
                latest_evidence=r["evidence"], impact=r["impact"], urgency=r["urgency"],
                level=p.level, base=p.base, points=p.points, reasons=list(p.reasons),
                respond_by=now + timedelta(hours=p.respond_within_hours), owner=r["owner"] or "",
                opening=ew.opening(r["cause"]), resolution_note="", flow_run_id=flow_run_id,
            )
        )  # fmt: skip
        # the evidence stays on the episode (erased with the account's data); the audit log,
        # which is never erased, gets no names
        audit(session, None, ACTOR, "risk_episode_opened", f"{eid} {key[0]}: {key[1]}",
              p.describe())  # fmt: skip
        opened.append(eid)
    scan = session.get(RiskScanRow, day)
    if scan is None:
        scan = RiskScanRow(day=day, runs=0, opened=0)
        session.add(scan)
    scan.evaluated_at, scan.runs, scan.flow_run_id = now, (scan.runs or 0) + 1, flow_run_id
    scan.population, scan.findings = population, ranked.height
    scan.opened, scan.stale = (scan.opened or 0) + len(opened), sorted(stale)
    try:
        session.flush()
    except IntegrityError:  # a concurrent scan opened them first: it alerts, we do not
        session.rollback()
        return {"day": day.isoformat(), "opened": [], "still_open": seen, "raced": True}
    audit(session, None, ACTOR, "risk_scan",
          f"{day}: {population} accounts, {ranked.height} findings, {len(opened)} new episodes",
          f"stale feeds skipped: {', '.join(sorted(stale))}" if stale else "")  # fmt: skip
    return {"day": day.isoformat(), "opened": opened, "still_open": seen, "raced": False}


def _order(r: RiskEpisodeRow) -> tuple:
    return (ORDER.index(r.level), -r.base, as_utc(r.respond_by), r.account_id, r.cause)


def episodes(
    session: Session, status: str | None = None, account_id: str | None = None
) -> list[RiskEpisodeRow]:
    """Episodes, most pressing first (level, impact × urgency, earliest response due)."""
    q = select(RiskEpisodeRow)
    if status is not None:
        q = q.where(RiskEpisodeRow.status == status)
    if account_id is not None:
        q = q.where(RiskEpisodeRow.account_id == account_id)
    return sorted(session.scalars(q), key=_order)


def get_episode(session: Session, eid: str) -> RiskEpisodeRow:
    row = session.get(RiskEpisodeRow, eid)
    if row is None:
        raise OffboardingError(f"unknown at-risk episode {eid!r}: see `offboard risk list`")
    return row


def _iso(t: datetime | None) -> str | None:
    return as_utc(t).isoformat() if t is not None else None


def episode_view(r: RiskEpisodeRow) -> dict[str, Any]:
    """An episode as the CLI, the karte and the published table show it."""
    return {
        "episode_id": r.episode_id, "account_id": r.account_id, "cause": r.cause,
        "status": r.status, "priority": r.level, "impact": r.impact, "urgency": r.urgency,
        "impact_x_urgency": r.base, "context_points": r.points, "context": list(r.reasons or []),
        "evidence": r.evidence, "latest_evidence": r.latest_evidence,
        "opened_on": r.opened_on.isoformat(), "last_seen_on": r.last_seen_on.isoformat(),
        "respond_by": _iso(r.respond_by), "owner": r.owner, "opening": r.opening,
        "notified_at": _iso(r.notified_at), "message": r.message_location,
        "resolved_at": _iso(r.resolved_at), "resolved_by": r.resolved_by,
        "resolution_note": r.resolution_note,
    }  # fmt: skip


def to_notify(session: Session) -> list[str]:
    """Open episodes whose owner has not been told yet, most pressing first."""
    return [r.episode_id for r in episodes(session, status="open") if r.notified_at is None]


def mark_notified(session: Session, eid: str, location: str) -> None:
    """Once: a retried alert finds it told and records nothing again."""
    row = get_episode(session, eid)
    if row.notified_at is None:
        row.notified_at, row.message_location = utcnow(), location
        audit(session, None, ACTOR, "risk_owner_told", f"{eid} {row.account_id}", row.owner)


def resolve(
    session: Session, account_id: str, *, by: str, note: str, cause: str | None = None
) -> list[RiskEpisodeRow]:
    """A person closes the account's open episodes (or one cause's), with what they did."""
    if session.get(AccountRow, account_id) is None:
        raise OffboardingError(f"unknown account {account_id!r}")
    if not note.strip():
        raise OffboardingError("say what was done: --note is required")
    rows = [r for r in episodes(session, "open", account_id) if cause in (None, r.cause)]
    if not rows:
        what = f"for {cause}" if cause else ""
        raise OffboardingError(f"{account_id} has no open at-risk episode {what}".strip())
    now = utcnow()
    for r in rows:
        r.status, r.resolved_at, r.resolved_by, r.resolution_note = "resolved", now, by, note
        audit(session, None, by, "risk_episode_resolved", f"{r.episode_id} {account_id}: "
              f"{r.cause}", note)  # fmt: skip
    return rows
