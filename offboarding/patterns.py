"""Churn patterns (§8, §10): the same product gap or service issue cited by at least N
customers within 90 days. Recorded, sent to product, support and CS leadership, listed with
the accounts that cited it; when marked fixed, each churned account that cited it gets a
`feature_shipped` win-back signal (§11 "we ship the feature behind their original reason").

Citations come from the record: a case's reason (its product gap; the detail of an
`experience` reason is its service issue) and exit-survey answers tagged with a product gap
or service issue. Wording is normalised (`kpi.normalise_text`) so "SAML SSO" and
"sso (saml)" are one pattern. Detection is pure (`find_patterns`); the rest takes a Session.
"""

from __future__ import annotations

import hashlib
import importlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases import OffboardingError, audit
from offboarding.kpi import CHURNED, as_text, normalise_text
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import CaseRow
from offboarding.storage.models_feedback import FeedbackPatternRow, PendingWinbackSignalRow

__all__ = [
    "Citation",
    "FoundPattern",
    "PATTERN_RECIPIENTS",
    "PATTERN_THRESHOLD",
    "PATTERN_WINDOW_DAYS",
    "citations_from_frames",
    "find_patterns",
    "hand_over_pending_signals",
    "mark_fixed",
    "pattern_notice",
    "claim_notice",
    "notices_to_send",
    "record_patterns",
    "write_feature_shipped_signal",
]

PATTERN_THRESHOLD = 3
PATTERN_WINDOW_DAYS = 90
#: §8 "goes to product, support and CS leadership"; the policy's team list is added to these.
PATTERN_RECIPIENTS = (
    "product@example.com",
    "support-lead@example.com",
    "cs-leadership@example.com",
)
PATTERN_SENDER = "offboarding@example.com"
#: Cases whose reasons count: departures, not saves and not misrouted tickets.
_NOT_DEPARTURES = ("saved", "not_a_cancellation")


@dataclass(frozen=True)
class Citation:
    kind: str  # product_gap | service_issue
    key: str
    label: str
    account_id: str
    case_id: str
    cited_at: datetime
    source: str  # reason | feedback


@dataclass
class FoundPattern:
    kind: str
    key: str
    label: str
    window_start: datetime
    window_end: datetime
    citations: list[Citation] = field(default_factory=list)

    @property
    def accounts(self) -> list[str]:
        return sorted({c.account_id for c in self.citations})


def citations_from_frames(cases: pd.DataFrame, feedback: pd.DataFrame) -> list[Citation]:
    """Citations from the dashboard's case and feedback tables (see offboarding.kpi)."""
    out: list[Citation] = []
    dep = cases[~cases["status"].isin(_NOT_DEPARTURES) & cases["reason_category"].notna()]
    gap = dep[as_text(dep["product_gap"]) != ""]
    exp = dep[(dep["reason_category"] == "experience") & (as_text(dep["reason_detail"]) != "")]
    for kind, frame, col in (
        ("product_gap", gap, "product_gap"),
        ("service_issue", exp, "reason_detail"),
    ):
        for r in frame[["case_id", "account_id", "requested_at", col]].itertuples(index=False):
            out.append(_citation(kind, r[3], r[1], r[0], r[2], "reason"))
    fb = feedback[feedback["status"] == "answered"]
    if len(fb):
        acc = dict(zip(cases["case_id"], cases["account_id"], strict=True))
        for kind in ("product_gap", "service_issue"):
            tagged = fb[as_text(fb[kind]) != ""]
            for r in tagged[["case_id", "responded_at", kind]].itertuples(index=False):
                if r[0] in acc:
                    out.append(_citation(kind, r[2], acc[r[0]], r[0], r[1], "feedback"))
    return [c for c in out if c.key]


def _citation(kind: str, label: Any, account: str, case: str, at: Any, source: str) -> Citation:
    ts = pd.Timestamp(at)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    text = " ".join(str(label).split())
    return Citation(kind, normalise_text(text), text, account, case, ts.to_pydatetime(), source)


def find_patterns(
    citations: list[Citation],
    threshold: int = PATTERN_THRESHOLD,
    window_days: int = PATTERN_WINDOW_DAYS,
    as_of: datetime | None = None,
    after: dict[tuple[str, str], datetime] | None = None,
) -> list[FoundPattern]:
    """Gaps and issues cited by >= `threshold` distinct accounts within `window_days`.

    The window is the first one (sliding over citation dates) that reaches the threshold; the
    pattern lists every citation from its start on. `after` ignores citations of a
    (kind, key) up to a date: those before a fix belong to the fixed pattern.
    """
    if threshold < 1 or window_days < 1:
        raise ValueError("threshold and window_days must be at least 1")
    window = timedelta(days=window_days)
    groups: dict[tuple[str, str], list[Citation]] = defaultdict(list)
    for c in citations:
        if as_of is not None and c.cited_at > as_of:
            continue
        if after and (cut := after.get((c.kind, c.key))) is not None and c.cited_at <= cut:
            continue
        groups[(c.kind, c.key)].append(c)
    found = []
    for (kind, key), cs in sorted(groups.items()):
        cs.sort(key=lambda c: (c.cited_at, c.case_id))
        per_account: Counter[str] = Counter()
        lo = 0
        for c in cs:
            per_account[c.account_id] += 1
            while cs[lo].cited_at < c.cited_at - window:
                per_account[cs[lo].account_id] -= 1
                if per_account[cs[lo].account_id] == 0:
                    del per_account[cs[lo].account_id]
                lo += 1
            if len(per_account) >= threshold:
                label = _label(cs)
                found.append(FoundPattern(kind, key, label, cs[lo].cited_at, c.cited_at, cs[lo:]))
                break
    return found


def _label(cs: list[Citation]) -> str:
    """The most common wording; on a tie the most recent one (cs is sorted by date)."""
    counts = Counter(c.label for c in cs)
    last = {c.label: i for i, c in enumerate(cs)}
    return max(counts, key=lambda w: (counts[w], last[w]))


def _pattern_id(kind: str, key: str, generation: int) -> str:
    digest = hashlib.sha1(f"{kind}|{key}|{generation}".encode()).hexdigest()[:8].upper()
    return f"PAT-{digest}"


def _cite(c: Citation) -> dict[str, Any]:
    return {
        "account_id": c.account_id,
        "case_id": c.case_id,
        "cited_at": c.cited_at.isoformat(),
        "label": c.label,
        "source": c.source,
    }


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
            _cite(c)
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
            pattern_id=_pattern_id(p.kind, p.key, generation),
            kind=p.kind,
            key=p.key,
            label=p.label[:200],
            generation=generation,
            threshold=threshold,
            window_days=window_days,
            window_start=p.window_start,
            window_end=p.window_end,
            detected_at=now,
            citations=[_cite(c) for c in p.citations],
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
        result["new"].append(row.pattern_id)
    return result


def _dt(s: str) -> datetime:
    return as_utc(datetime.fromisoformat(s))


def pattern_view(row: FeedbackPatternRow) -> dict[str, Any]:
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
    q = select(FeedbackPatternRow).order_by(FeedbackPatternRow.detected_at)
    if status:
        q = q.where(FeedbackPatternRow.status == status)
    return [pattern_view(r) for r in session.scalars(q)]


def pattern_notice(view: dict[str, Any]) -> tuple[str, str]:
    """(subject, plain text) of the internal notice to product, support and CS leadership."""
    what = view["kind"].replace("_", " ")
    lines = [
        f'A churn pattern: the {what} "{view["label"]}" was cited by {view["customers"]} '
        f"customers between {view['window_start'][:10]} and {view['window_end'][:10]}.",
        "",
        "Accounts that cited it:",
        *(f"- {a}" for a in view["accounts"]),
        "",
        "Cases: " + ", ".join(view["cases"]),
        "",
        "When it is fixed, close the loop with:",
        f"  offboard patterns --mark-fixed {view['pattern_id']} --by YOU --note 'what shipped'",
        "Each churned account above then gets a 'feature shipped' win-back signal.",
    ]
    subject = (
        f'Churn pattern {view["pattern_id"]}: {what} "{view["label"]}" '
        f"({view['customers']} customers)"
    )
    return subject, "\n".join(lines) + "\n"


#: A claim on a notice younger than this is a send in progress; older, its worker is gone.
NOTICE_LEASE = timedelta(minutes=5)


def notices_to_send(session: Session, replay_safe: bool, now: datetime) -> list[str]:
    """Open patterns whose notice has not gone. A stale claim is taken over when the mailer
    is replay-safe (the file outbox rewrites the same file); otherwise it becomes "unknown"
    and waits for a person, who can check the provider for the notice's key."""
    rows = session.scalars(
        select(FeedbackPatternRow).where(
            FeedbackPatternRow.status == "open", FeedbackPatternRow.notified_at.is_(None)
        )
    ).all()
    due = []
    for r in rows:
        if r.notice_status is None:
            due.append(r.pattern_id)
        elif r.notice_status == "sending" and as_utc(r.notice_claimed_at) < now - NOTICE_LEASE:
            if replay_safe:
                due.append(r.pattern_id)
            else:
                r.notice_status = "unknown"
                audit(session, None, "patterns", "pattern_notice_unknown", r.pattern_id,
                      "the sender stopped mid-send: check the mail provider")  # fmt: skip
    return due


def claim_notice(session: Session, pattern_id: str, now: datetime) -> bool:
    """Compare-and-set: only one worker sends a pattern's notice."""
    row = session.get(FeedbackPatternRow, pattern_id, with_for_update=True)
    if row is None or row.notified_at is not None or row.notice_status not in (None, "sending"):
        return False
    if row.notice_status == "sending" and as_utc(row.notice_claimed_at) >= now - NOTICE_LEASE:
        return False
    row.notice_status, row.notice_claimed_at = "sending", now
    return True


def release_notice(session: Session, pattern_id: str, status: str | None, why: str = "") -> None:
    """After a refusal ("failed") or a transient fault (None: try again later)."""
    row = _get(session, pattern_id)
    row.notice_status, row.notice_claimed_at = status, None
    if status:
        audit(session, None, "patterns", f"pattern_notice_{status}", pattern_id, why)


def mark_notified(session: Session, pattern_id: str, to: list[str], location: str) -> None:
    row = _get(session, pattern_id)
    row.notice_status, row.notified_at = "sent", utcnow()
    row.notified_to, row.notice_location = to, location
    audit(session, None, "patterns", "pattern_notified", pattern_id, data={"to": to})


def _get(session: Session, pattern_id: str) -> FeedbackPatternRow:
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
    row = _get(session, pattern_id)
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
        reason = case.reason or {}
        codes = [
            _code(row.label),
            _code(cite["label"]),
            _code(reason.get("product_gap") or ""),
            _code(reason.get("category") or ""),
        ]
        signals.append(
            write_feature_shipped_signal(
                session,
                account_id=case.account_id,
                case_id=case.case_id,
                pattern_id=row.pattern_id,
                codes=[c for c in dict.fromkeys(codes) if c],
                detail=f"fixed: {row.kind.replace('_', ' ')} '{row.label}'. {row.fix_note}".strip(),
                at=fixed_at,
            )
        )
    return {"pattern": pattern_view(row), "signals": signals, "skipped": skipped}


def _code(text: str) -> str:
    """The win-back rules compare codes as lower-case words separated by single spaces."""
    return " ".join(str(text).strip().lower().split())


# -- win-back signals -----------------------------------------------------------------------


def winback_signal_model() -> Any | None:
    """The win-back signal table (issue 5) when it is part of this build, else None."""
    try:
        module = importlib.import_module("offboarding.storage.models_winback")
    except ModuleNotFoundError as exc:
        if exc.name != "offboarding.storage.models_winback":
            raise
        return None
    return getattr(module, "WinbackSignalRow", None)


def _signal_id(account_id: str, pattern_id: str) -> str:
    digest = hashlib.sha1(f"feature_shipped|{account_id}|{pattern_id}".encode()).hexdigest()
    return f"S-{digest[:16]}"


def write_feature_shipped_signal(
    session: Session,
    *,
    account_id: str,
    case_id: str | None,
    pattern_id: str,
    codes: list[str],
    detail: str,
    at: datetime,
    model: Any | None = ...,
) -> dict[str, Any]:
    """One `feature_shipped` signal per (account, pattern), written once.

    Into the win-back signal table when it exists (the nightly win-back selection reads it);
    otherwise into `pending_winback_signals`, handed over later by
    `hand_over_pending_signals`.
    """
    model = winback_signal_model() if model is ... else model
    details = {"pattern_id": pattern_id, "case_id": case_id, "detail": detail}
    if model is not None:
        sid = _signal_id(account_id, pattern_id)
        created = session.get(model, sid) is None
        if created:
            session.add(
                model(
                    signal_id=sid,
                    type="feature_shipped",
                    account_id=account_id,
                    domain=None,
                    competitor=None,
                    codes=codes,
                    observed_at=at,
                    source=f"pattern:{pattern_id}",
                    details=details,
                    ingested_at=utcnow(),
                )
            )
            audit(session, case_id, "patterns", "winback_signal", f"feature_shipped {sid}")
        return {"account_id": account_id, "table": "winback_signals", "id": sid, "new": created}
    row = session.scalar(
        select(PendingWinbackSignalRow).where(
            PendingWinbackSignalRow.account_id == account_id,
            PendingWinbackSignalRow.kind == "feature_shipped",
            PendingWinbackSignalRow.source_key == pattern_id,
        )
    )
    created = row is None
    if created:
        row = PendingWinbackSignalRow(
            account_id=account_id,
            case_id=case_id,
            kind="feature_shipped",
            source_key=pattern_id,
            detail=detail,
            observed_at=at,
            data={"codes": codes, **details},
        )
        session.add(row)
        session.flush()
        audit(
            session, case_id, "patterns", "winback_signal_pending", f"feature_shipped {pattern_id}"
        )
    return {
        "account_id": account_id,
        "table": "pending_winback_signals",
        "id": str(row.id),
        "new": created,
    }


def hand_over_pending_signals(session: Session) -> int:
    """Move signals kept while the win-back table was absent into it; returns how many."""
    model = winback_signal_model()
    if model is None:
        return 0
    pending = session.scalars(
        select(PendingWinbackSignalRow).where(PendingWinbackSignalRow.handed_over_at.is_(None))
    ).all()
    for p in pending:
        write_feature_shipped_signal(
            session,
            account_id=p.account_id,
            case_id=p.case_id,
            pattern_id=p.source_key,
            codes=list(p.data.get("codes", [])),
            detail=p.detail,
            at=as_utc(p.observed_at),
            model=model,
        )
        p.handed_over_at = utcnow()
    return len(pending)
