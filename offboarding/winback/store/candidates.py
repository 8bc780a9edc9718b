"""The churned population in our database: one row per churned account with what the rules
need, and its contact preferences (opt-out, clean break).

Functions take an open Session (callers own the transaction) and write their audit entries
in it.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from offboarding.cases.store import OffboardingError, audit
from offboarding.storage.db import utcnow
from offboarding.storage.models import AccountRow, CaseRow
from offboarding.storage.models.winback import (
    WinbackOutcomeRow,
    WinbackOutreachRow,
    WinbackPreferenceRow,
)
from offboarding.winback.selection import CANDIDATE_SCHEMA

__all__ = ["CHURNED", "PUBLIC_MAIL", "load_candidates", "set_preference"]

#: Case statuses of a churned account: closed, or closed and its data purged since.
CHURNED = ("closed", "purged")


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
