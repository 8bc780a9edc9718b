"""Win-back (§10–§11, §13): signals in, the nightly scan, the owner's review of strategic
outreach, a customer's clean break, won-back accounts and the win-back rate.

The win-back modules (polars, numpy) load only when a win-back command runs.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from offboard.service.database import store_session
from offboarding.settings import get_settings


def sample_signals(
    accounts: int, signals: int, night: date, seed: int, out: Path, into_store: bool
) -> dict[str, Any]:
    """Churned accounts and signals for one night as Parquet; with into_store, also as churned
    cases and ingested signals in the database (keep that small)."""
    from offboarding.winback.sample.population import generate
    from offboarding.winback.sample.writing import load_into_store, write_sample

    sample = generate(accounts, signals, night, seed)
    meta = write_sample(sample, out)
    meta["out"] = str(out)
    if into_store:
        with store_session() as s:
            meta["store"] = load_into_store(s, sample)
    return meta


def ingest_signal_file(location: str) -> dict[str, Any]:
    """A .csv or .parquet file, local or s3://; every row is checked first, a bad row rejects
    the whole file, and signals already stored are not stored twice."""
    from offboarding.winback.signals.files import read_signal_file
    from offboarding.winback.store.signals import ingest_signals

    frame = read_signal_file(location)
    with store_session() as s:
        return {"file": location, **ingest_signals(s, frame)}


def add_signal(
    type_: str,
    observed_at: datetime,
    source: str,
    account: str | None = None,
    domain: str | None = None,
    competitor: str | None = None,
    codes: str = "",
    details: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One signal seen by a person; the same signal twice is recorded once (`new` says which)."""
    from offboarding.winback.signals.model import WinbackSignal
    from offboarding.winback.store.signals import add_signal as store_signal

    signal = WinbackSignal(
        type=type_,
        account_id=account,
        domain=domain,
        competitor=competitor,
        codes=codes,
        observed_at=observed_at,
        source=source,
        details=details or {},
    )
    with store_session() as s:
        return store_signal(s, signal)


def run_night(night: date | None) -> dict[str, Any]:
    """The nightly scan now, for that night (default tonight); a rerun creates nothing new."""
    from flows.winback_flow import winback_flow

    return winback_flow(on=night)


def outreach(night: date | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Outreach records, optionally of one night or in one status."""
    from offboarding.winback.store.outreach import outreach_rows, outreach_view

    with store_session() as s:
        return [outreach_view(o) for o in outreach_rows(s, night, status)]


def awaiting_review(owner: str | None = None) -> list[dict[str, Any]]:
    """Strategic outreach nobody has sent yet because its owner must look first."""
    wanted = owner.strip().lower() if owner is not None else None
    rows = outreach(status="awaiting_review")
    return [r for r in rows if wanted is None or r["owner"] == wanted]


def review_outreach(outreach_id: str, by: str, approve: bool, note: str) -> dict[str, Any]:
    """The owner's (or a manager's) decision: approved goes out now with their note; declined
    sends nothing. A refusal (not theirs to decide) is recorded and returned as accepted False."""
    from offboard.service.tokens import proven_actor
    from offboarding.winback.store.outreach import get_outreach, review
    from tasks.winback import send_one

    with store_session() as s:
        get_outreach(s, outreach_id)  # an unknown outreach is said first
    by = proven_actor(by)  # the reviewer is who their token says, not what --by says
    reviewers = get_settings().policy().holders("manager")
    with store_session() as s:
        row, refused = review(
            s, outreach_id, by=by, approve=approve, note=note, reviewers=reviewers
        )
        oid = row.outreach_id
    if refused is not None:  # after the commit: the refusal stays in the audit log
        return {"outreach_id": oid, "accepted": False, "why": refused}
    if not approve:
        return {"outreach_id": oid, "status": "declined"}
    return send_one(oid)


def opt_out(account: str, by: str, clean_break: bool, note: str) -> dict[str, Any]:
    """Never contact this account for win-back again (§11: respect a clean break)."""
    from offboarding.winback.store.candidates import set_preference

    with store_session() as s:
        return set_preference(s, account, by=by, opted_out=True, clean_break=clean_break, note=note)


def won_back(
    case_id: str, on: date, by: str, outreach_id: str | None = None, note: str = ""
) -> dict[str, Any]:
    """A churned account came back: recorded with the outreach (default: latest) and signal
    that preceded it."""
    from offboarding.winback.store.outcomes import record_won_back

    with store_session() as s:
        return record_won_back(s, case_id, on=on, by=by, outreach=outreach_id, note=note)


def winback_rates(as_of: date) -> list[dict[str, Any]]:
    """Share of churned accounts back within 12, 24 and 36 months, as of a date."""
    from offboarding.winback.store.outcomes import rates

    with store_session() as s:
        return [r.to_dict() for r in rates(s, as_of)]
