"""The population the daily scan watches: every customer in our database who has not asked to
leave (no open cancellation) and has not left (no closed or purged case), with the business
context the priority needs. Saved customers and misrouted tickets stay watched.

Functions take an open Session (callers own the transaction).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from offboarding.domain import OPEN_STATUSES, CaseStatus
from offboarding.early_warning.signals.model import ACCOUNT_SCHEMA
from offboarding.storage.models import AccountRow, CaseRow

__all__ = ["ASKED_OR_LEFT", "load_population"]

#: Statuses of a case whose account is no longer "before they ask".
ASKED_OR_LEFT = tuple(str(s) for s in (*OPEN_STATUSES, CaseStatus.closed, CaseStatus.purged))


def load_population(session: Session) -> pl.DataFrame:
    """One row per watched account (`signals.model.ACCOUNT_SCHEMA`); JSON fields are
    extracted by the database, so a large population loads without a loop per account."""
    gone = select(CaseRow.account_id).where(CaseRow.status.in_(ASKED_OR_LEFT))
    data = AccountRow.data
    rows = session.execute(
        select(
            AccountRow.account_id,
            AccountRow.name,
            data[("owner", "email")].as_string(),
            AccountRow.segment,
            AccountRow.arr,
            data["health"].as_integer(),
            data["contract_end"].as_string(),
            AccountRow.locale,
        ).where(AccountRow.account_id.not_in(gone))
    ).all()
    schema = {**ACCOUNT_SCHEMA, "contract_end": pl.String()}
    return (
        pl.DataFrame(rows, schema=schema, orient="row")
        .with_columns(
            pl.col("owner").fill_null("").str.to_lowercase(),
            pl.col("contract_end").str.to_date(strict=False),
        )
        .sort("account_id")
    )
