"""The retention karte's facts: our database (the account, its open episodes, its earlier save
attempts, what similar churned accounts said) and the product tables of the catalogue (its
usage by week, recent tickets, latest health score, next renewal).

Not pure: takes a Session and reads product data. A product table that cannot be read leaves
its part of the karte empty ("no usage data") rather than failing the page or the form.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from offboarding.cases.store import get_account
from offboarding.early_warning.karte import (
    KARTE_DECISIONS,
    Karte,
    KarteFacts,
    build_karte,
    karte_markdown,
    tenure_band,
)
from offboarding.early_warning.rules import WEEK_US, scan_end
from offboarding.early_warning.signals.files import read_table
from offboarding.early_warning.store.episodes import episode_view, episodes
from offboarding.export.catalogue import Catalogue, catalogue_path, load_catalogue
from offboarding.policy import Policy
from offboarding.storage.models import AccountRow, CaseRow, SaveAttemptRow

__all__ = ["account_karte", "current_catalogue", "decision_karte", "karte_facts"]

CHURNED = ("closed", "purged")
TICKET_DAYS = 30
log = logging.getLogger(__name__)


def current_catalogue(state_dir: Path) -> Catalogue | None:
    """The configured catalogue, if there is one (a karte never generates sample data)."""
    path = catalogue_path(state_dir)
    try:
        return load_catalogue(path) if path is not None else None
    except (OSError, ValueError) as exc:
        log.warning("no product data for the karte: %s", exc)
        return None


def _product(catalogue: Catalogue, account_id: str, as_of: date, weeks: int) -> dict:
    end = scan_end(as_of + timedelta(days=1))  # today's rows count on the karte
    since = end - timedelta(days=7 * weeks)
    mine = pl.col("account_id") == account_id
    usage = read_table(catalogue, "usage_events", since).filter(
        mine, pl.col("ts") >= since, pl.col("ts") < end
    )
    age = (pl.lit(end) - pl.col("ts")).dt.total_microseconds()
    week = usage.select(((age - 1) // WEEK_US).alias("k")).collect()["k"].to_numpy()
    counts = np.bincount(week.astype(np.int64), minlength=weeks)[:weeks][::-1]
    tickets = (
        read_table(catalogue, "tickets", since)
        .filter(mine, pl.col("opened_at") >= end - timedelta(days=TICKET_DAYS))
        .sort("opened_at", descending=True)
        .head(5)
        .collect()
    )
    health = (
        read_table(catalogue, "health_scores", since)
        .filter(mine, pl.col("on") <= as_of)
        .sort("on")
        .tail(1)
        .collect()
    )
    renewal = read_table(catalogue, "renewals", since).filter(mine).tail(1).collect()
    return {
        "weekly_usage": tuple(int(x) for x in counts) if catalogue.tables else (),
        "recent_tickets": tuple(
            {
                "ticket_id": t["ticket_id"],
                "opened_on": t["opened_at"].date().isoformat(),
                "feature": t["feature"],
                "severity": t["severity"] or "medium",
                "status": "open" if t["closed_at"] is None or t["closed_at"] >= end else "closed",
            }
            for t in tickets.iter_rows(named=True)
        ),
        "health": int(health["score"][0]) if health.height else None,
        "renewal_on": renewal["renewal_on"][0] if renewal.height else None,
    }


def _save_attempts(session: Session, account_id: str) -> tuple[dict, ...]:
    rows = session.execute(
        select(SaveAttemptRow, CaseRow.requested_at)
        .join(CaseRow, CaseRow.case_id == SaveAttemptRow.case_id)
        .where(CaseRow.account_id == account_id)
        .order_by(SaveAttemptRow.at)
    ).all()
    return tuple(
        {"case_id": a.case_id, "number": a.number, "outcome": a.outcome, "offered": a.offered,
         "customer_said": a.customer_said, "on": a.at.date().isoformat()}
        for a, _ in rows
    )  # fmt: skip


def _similar(session: Session, account_id: str, as_of: date, policy: Policy) -> tuple:
    """Reasons of churned accounts of the same segment and tenure band, most cited first."""
    me = get_account(session, account_id)
    band = tenure_band(me.tenure_years(as_of), policy)
    rows = session.execute(
        select(
            CaseRow.account_id,
            CaseRow.closed_on,
            CaseRow.reason["category"].as_string(),
            AccountRow.data["contract_start"].as_string(),
        )
        .join(AccountRow, AccountRow.account_id == CaseRow.account_id)
        .where(
            CaseRow.status.in_(CHURNED),
            CaseRow.account_id != account_id,
            AccountRow.segment == str(me.segment),
        )
    ).all()
    counts: Counter[str] = Counter()
    for _, closed_on, reason, start in rows:
        if closed_on is None or not start or not reason:
            continue
        years = max(0.0, (closed_on - date.fromisoformat(start[:10])).days / 365.25)
        if tenure_band(years, policy) == band:
            counts[reason] += 1
    return tuple(
        sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: policy.karte.similar_limit]
    )


def karte_facts(
    session: Session,
    account_id: str,
    as_of: date,
    policy: Policy,
    catalogue: Catalogue | None = None,
    case_reason: str | None = None,
) -> KarteFacts:
    account = get_account(session, account_id)
    product: dict = {}
    if catalogue is not None and catalogue.tables:
        try:
            product = _product(catalogue, account_id, as_of, policy.karte.weeks)
        except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
            log.warning("karte of %s without product data: %s", account_id, exc)
    return KarteFacts(
        account=account,
        as_of=as_of,
        open_episodes=tuple(episode_view(r) for r in episodes(session, "open", account_id)),
        save_attempts=_save_attempts(session, account_id),
        similar_reasons=_similar(session, account_id, as_of, policy),
        case_reason=case_reason,
        **product,
    )


def account_karte(
    session: Session,
    account_id: str,
    as_of: date,
    policy: Policy,
    catalogue: Catalogue | None = None,
    case_reason: str | None = None,
) -> Karte:
    """The karte of one account, as of a day (for a case: with its reason)."""
    facts = karte_facts(session, account_id, as_of, policy, catalogue, case_reason)
    return build_karte(facts, policy)


def decision_karte(
    session: Session,
    case: CaseRow,
    input_key: str,
    as_of: date,
    policy: Policy,
    catalogue: Catalogue | None = None,
) -> dict | None:
    """The karte a verification or save decision carries (rows, weekly usage, Markdown);
    None for every other decision (an approval, or a confirmation by the account itself)."""
    if input_key.split("-")[0] not in KARTE_DECISIONS:
        return None
    reason = (case.reason or {}).get("category")
    k = account_karte(session, case.account_id, as_of, policy, catalogue, reason)
    rows = k.rows()
    return {
        "rows": [[label, value] for label, value in rows],
        "weekly_usage": list(k.weekly_usage),
        "seasonal": k.seasonal,
        "markdown": karte_markdown(rows),
    }
