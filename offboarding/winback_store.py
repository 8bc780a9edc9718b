"""Win-back state in our database: signals, contact preferences, the nightly selection as
outreach records and leads, won-back outcomes and the win-back rate.

Functions take an open Session (callers own the transaction) and write their audit entries
in it. The nightly selection is recorded whole or not at all, keyed by the night, so a rerun
finds it and creates nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases import OffboardingError, audit, get_case
from offboarding.policy import Policy
from offboarding.signals import SIGNAL_SCHEMA, WinbackSignal
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import AccountRow, CaseRow
from offboarding.storage.models_winback import (
    WinbackLeadRow,
    WinbackNightRow,
    WinbackOutcomeRow,
    WinbackOutreachRow,
    WinbackPreferenceRow,
    WinbackSignalRow,
)
from offboarding.winback_rates import RateRow, winback_rates
from offboarding.winback_rules import explain
from offboarding.winback_select import CANDIDATE_SCHEMA
from offboarding.winback_types import OutreachStatus, SignalType

CHURNED = ("closed", "purged")
_CHUNK = 5_000


# ------------------------------------------------------------------------------ signals


def ingest_signals(session: Session, frame: pl.DataFrame) -> dict[str, int]:
    """Store a checked signal frame; signals already stored (same id) are skipped."""
    new = 0
    now = utcnow()
    for offset in range(0, frame.height, _CHUNK):
        chunk = frame.slice(offset, _CHUNK)
        ids = chunk["signal_id"].to_list()
        seen = set(
            session.scalars(
                select(WinbackSignalRow.signal_id).where(WinbackSignalRow.signal_id.in_(ids))
            )
        )
        rows = [
            {
                **{k: r[k] for k in ("signal_id", "type", "account_id", "domain", "competitor")},
                "codes": list(r["codes"] or []),
                "observed_at": r["observed_at"],
                "source": r["source"],
                "details": json.loads(r["details"] or "{}"),
                "ingested_at": now,
            }
            for r in chunk.iter_rows(named=True)
            if r["signal_id"] not in seen
        ]
        if rows:
            session.execute(WinbackSignalRow.__table__.insert(), rows)
            new += len(rows)
    audit(session, None, "winback", "signals_ingested", f"{new} new of {frame.height}")
    return {"rows": frame.height, "new": new, "already_stored": frame.height - new}


def add_signal(session: Session, signal: WinbackSignal) -> dict[str, Any]:
    row = signal.row()
    result = ingest_signals(session, pl.DataFrame([row], schema=SIGNAL_SCHEMA))
    return {"signal_id": signal.signal_id, "new": bool(result["new"])}


def load_signals(session: Session, night: date, policy: Policy) -> pl.DataFrame:
    """The stored signals tonight's rules can use: observed in the window, up to tonight."""
    since = datetime.combine(
        night - timedelta(days=policy.winback.signal_max_age_days - 1), time(), UTC
    )
    until = datetime.combine(night + timedelta(days=1), time(), UTC)
    rows = session.execute(
        select(
            WinbackSignalRow.signal_id,
            WinbackSignalRow.type,
            WinbackSignalRow.account_id,
            WinbackSignalRow.domain,
            WinbackSignalRow.competitor,
            WinbackSignalRow.codes,
            WinbackSignalRow.observed_at,
            WinbackSignalRow.source,
            WinbackSignalRow.details,
        ).where(WinbackSignalRow.observed_at >= since, WinbackSignalRow.observed_at < until)
    ).all()
    return pl.DataFrame(
        [
            {
                "signal_id": r.signal_id,
                "type": r.type,
                "account_id": r.account_id,
                "domain": r.domain,
                "competitor": r.competitor,
                "codes": list(r.codes or []),
                "observed_at": as_utc(r.observed_at),
                "source": r.source,
                "details": json.dumps(r.details or {}, sort_keys=True),
            }
            for r in rows
        ],
        schema=SIGNAL_SCHEMA,
    )


# --------------------------------------------------------------------------- candidates


#: Mailbox providers say nothing about the company a person works for.
PUBLIC_MAIL = frozenset(
    "gmail.com googlemail.com outlook.com hotmail.com live.com yahoo.com icloud.com me.com "
    "aol.com proton.me protonmail.com gmx.com mail.com yandex.com".split()
)


def load_candidates(session: Session) -> pl.DataFrame:
    """One row per churned account (its latest churned case) with what the rules need.

    JSON fields are extracted by the database and the rest is done in columns, so a large
    population loads without a Python loop per case.
    """
    reason = CaseRow.reason
    cases = session.execute(
        select(
            CaseRow.account_id,
            CaseRow.case_id,
            AccountRow.data[("owner", "email")].as_string().label("owner"),
            AccountRow.data["strategic"].as_boolean().label("strategic"),
            CaseRow.closed_on.label("churned_on"),
            reason["category"].as_string().label("reason"),
            CaseRow.winback_candidate.label("candidate"),
            AccountRow.data[("contacts", 0, "email")].as_string().label("contact"),
            reason["product_gap"].as_string().label("product_gap"),
            reason["competitor_name"].as_string().label("competitor"),
        )
        .join(AccountRow, AccountRow.account_id == CaseRow.account_id)
        .where(CaseRow.status.in_(CHURNED), CaseRow.closed_on.is_not(None))
    )
    frame = pl.DataFrame(
        cases.all(),
        schema={
            "account_id": pl.String,
            "case_id": pl.String,
            "owner": pl.String,
            "strategic": pl.Boolean,
            "churned_on": pl.Date,
            "reason": pl.String,
            "candidate": pl.Boolean,
            "contact": pl.String,
            "product_gap": pl.String,
            "competitor": pl.String,
        },
        orient="row",
    )
    prefs = pl.DataFrame(
        session.execute(
            select(
                WinbackPreferenceRow.account_id,
                WinbackPreferenceRow.opted_out,
                WinbackPreferenceRow.clean_break,
            )
        ).all(),
        schema={"account_id": pl.String, "opted_out": pl.Boolean, "clean_break": pl.Boolean},
        orient="row",
    )
    won = pl.DataFrame(
        {"case_id": list(session.scalars(select(WinbackOutcomeRow.case_id)))},
        schema={"case_id": pl.String},
    ).with_columns(won_back=pl.lit(True))
    last = pl.DataFrame(
        session.execute(
            select(WinbackOutreachRow.account_id, func.max(WinbackOutreachRow.night)).group_by(
                WinbackOutreachRow.account_id
            )
        ).all(),
        schema={"account_id": pl.String, "last_outreach_on": pl.Date},
        orient="row",
    )
    domain = pl.col("contact").str.to_lowercase().str.split("@").list.last()
    domain = domain.str.strip_chars().str.replace(r"^www\.", "")
    words = r"\s+"
    return (
        frame.sort("churned_on", "case_id")
        .unique("account_id", keep="last", maintain_order=True)  # the latest churn per account
        .join(prefs, on="account_id", how="left")
        .join(won, on="case_id", how="left")
        .join(last, on="account_id", how="left")
        .with_columns(
            pl.col("owner").fill_null("").str.to_lowercase(),
            pl.col("strategic").fill_null(False),
            pl.col("reason").fill_null("other"),
            pl.col("candidate").fill_null(False),
            pl.when(pl.col("contact").str.contains("@") & ~domain.is_in(list(PUBLIC_MAIL)))
            .then(domain)
            .alias("domain"),
            *(
                pl.when(x.str.strip_chars() != "")
                .then(x.str.to_lowercase().str.strip_chars().str.replace_all(words, " "))
                .alias(name)
                for name, x in (
                    ("product_gap", pl.col("product_gap")),
                    ("competitor", pl.col("competitor")),
                )
            ),
            pl.col("opted_out").fill_null(False),
            pl.col("clean_break").fill_null(False),
            pl.col("won_back").fill_null(False),
        )
        .select(list(CANDIDATE_SCHEMA))
        .cast(CANDIDATE_SCHEMA)
    )


# ------------------------------------------------------------------------- preferences


def set_preference(
    session: Session,
    account_id: str,
    *,
    by: str,
    opted_out: bool = True,
    clean_break: bool = False,
    note: str = "",
) -> dict[str, Any]:
    """Record that an account wants no win-back contact (opt-out or clean break)."""
    if session.get(AccountRow, account_id) is None:
        raise OffboardingError(f"unknown account {account_id!r}")
    row = session.get(WinbackPreferenceRow, account_id)
    if row is None:
        row = WinbackPreferenceRow(account_id=account_id)
        session.add(row)
    row.opted_out, row.clean_break = opted_out, clean_break
    row.recorded_by, row.note, row.at = by, note, utcnow()
    what = "clean break" if clean_break else ("opted out" if opted_out else "contact allowed")
    audit(session, None, by, "winback_preference", f"{account_id}: {what}", note)
    return {"account_id": account_id, "opted_out": opted_out, "clean_break": clean_break}


# ------------------------------------------------------------------------------ nights


def night_recorded(session: Session, night: date) -> WinbackNightRow | None:
    return session.get(WinbackNightRow, night)


def _status_for(row: dict[str, Any]) -> OutreachStatus:
    if row["type"] == SignalType.champion_moved:
        return OutreachStatus.lead
    if row["strategic"]:
        return OutreachStatus.awaiting_review
    return OutreachStatus.to_send


def outreach_id(account_id: str, night: date) -> str:
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
    q = select(WinbackOutreachRow).order_by(
        WinbackOutreachRow.night, WinbackOutreachRow.owner, WinbackOutreachRow.strength.desc()
    )
    if night is not None:
        q = q.where(WinbackOutreachRow.night == night)
    if status is not None:
        q = q.where(WinbackOutreachRow.status == status)
    return list(session.scalars(q))


def outreach_view(o: WinbackOutreachRow) -> dict[str, Any]:
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
    row = get_outreach(session, oid)
    if row.status == OutreachStatus.to_send:
        row.status, row.message_location, row.sent_at = str(OutreachStatus.sent), location, utcnow()
        audit(session, row.case_id, "winback-flow", "winback_outreach_sent", oid, row.why)


# ---------------------------------------------------------------------------- outcomes


def record_won_back(
    session: Session,
    case_id: str,
    *,
    on: date,
    by: str,
    outreach: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """The account of this churned case came back; link the outreach and signal before it."""
    case = get_case(session, case_id)
    if case.status not in CHURNED or case.closed_on is None:
        raise OffboardingError(f"case {case_id} is {case.status}: only a churned case is won back")
    if on < case.closed_on:
        raise OffboardingError(f"won back on {on} is before the closure on {case.closed_on}")
    if session.get(WinbackOutcomeRow, case_id) is not None:
        raise OffboardingError(f"case {case_id} is already recorded as won back")
    if outreach is not None:
        o = get_outreach(session, outreach)
        if o.case_id != case_id:
            raise OffboardingError(f"outreach {outreach} belongs to case {o.case_id}")
    else:
        o = session.scalar(
            select(WinbackOutreachRow)
            .where(
                WinbackOutreachRow.case_id == case_id,
                WinbackOutreachRow.night <= on,
                WinbackOutreachRow.status.in_([str(OutreachStatus.sent), str(OutreachStatus.lead)]),
            )
            .order_by(WinbackOutreachRow.night.desc())
            .limit(1)
        )
    row = WinbackOutcomeRow(
        case_id=case_id,
        account_id=case.account_id,
        won_back_on=on,
        outreach_id=o.outreach_id if o else None,
        signal_id=o.signal_id if o else None,
        signal_type=o.signal_type if o else None,
        recorded_by=by,
        note=note,
        at=utcnow(),
    )
    session.add(row)
    audit(
        session,
        case_id,
        by,
        "won_back",
        f"{case.account_id} returned on {on}",
        f"after {o.signal_type} ({o.outreach_id})" if o else "no outreach recorded before",
    )
    return {
        "case_id": case_id,
        "account_id": case.account_id,
        "won_back_on": on.isoformat(),
        "outreach_id": row.outreach_id,
        "signal_id": row.signal_id,
        "signal_type": row.signal_type,
    }


def rates(session: Session, as_of: date, horizons: Iterable[int] = (12, 24, 36)) -> list[RateRow]:
    """Win-back rate at 12/24/36 months from the store (§13)."""
    churned = session.execute(
        select(CaseRow.case_id, CaseRow.closed_on).where(
            CaseRow.status.in_(CHURNED), CaseRow.closed_on.is_not(None)
        )
    ).all()
    won = dict(
        session.execute(select(WinbackOutcomeRow.case_id, WinbackOutcomeRow.won_back_on)).all()
    )
    return winback_rates([(c.closed_on, won.get(c.case_id)) for c in churned], as_of, horizons)
