"""Before they ask (§14): the at-risk queue at the snapshot, and the measure of the early
warning itself — of the accounts that churned, how many the scan flagged before they asked
to leave, and how many days before. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from offboarding.dashboard.measures.figures import iso_or_none, percentile, rounded, share_of
from offboarding.dashboard.measures.periods import as_utc, churned_cases

#: Most pressing first, as the queue orders them.
LEVEL_ORDER = ("critical", "high", "medium", "low")
#: An episode older than this before the request is not counted as its early warning.
LOOKBACK_DAYS = 180


def at_risk(episodes: pd.DataFrame, as_of: datetime, limit: int = 10) -> dict[str, Any]:
    """Episodes open at the snapshot: by priority and cause, owners told, responses overdue,
    and the most pressing ones."""
    now = as_utc(as_of)
    e = episodes[episodes["opened_on"].notna() & (episodes["opened_on"] <= now)]
    still = e["resolved_at"].isna() | (e["resolved_at"] > now)
    open_ = e[still].copy()
    open_["rank"] = open_["level"].map({lv: i for i, lv in enumerate(LEVEL_ORDER)}).fillna(9)
    open_ = open_.sort_values(["rank", "respond_by", "account_id"], kind="stable")
    by_priority = open_["level"].value_counts()
    told = open_["notified_at"].notna() & (open_["notified_at"] <= now)
    overdue = open_["respond_by"].notna() & (open_["respond_by"] < now)
    return {
        "open": int(len(open_)),
        "accounts": int(open_["account_id"].nunique()),
        "by_priority": {lv: int(by_priority.get(lv, 0)) for lv in LEVEL_ORDER},
        "by_cause": {str(k): int(v) for k, v in open_["cause"].value_counts().items()},
        "owners_told": int(told.sum()),
        "past_response_target": int(overdue.sum()),
        "resolved": int((~still).sum()),
        "rows": [
            {
                "account_id": r["account_id"],
                "cause": r["cause"],
                "priority": r["level"],
                "opened_on": iso_or_none(r["opened_on"])[:10],
                "respond_by": iso_or_none(r["respond_by"]),
                "evidence": r.get("latest_evidence") or "",
            }
            for r in open_.head(limit).to_dict("records")
        ],
    }


def flagged_before_asking(
    cases: pd.DataFrame, episodes: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    """Of churned cases (completed in the period), the share whose account had an at-risk
    episode opened before the request (within `LOOKBACK_DAYS`), and how many days before."""
    churned = churned_cases(cases, since, as_of)[["case_id", "account_id", "requested_at"]]
    e = episodes[["account_id", "cause", "opened_on"]].dropna(subset=["opened_on"])
    pairs = churned.merge(e, on="account_id", how="inner")
    asked = pairs["requested_at"].dt.normalize()
    days = (asked - pairs["opened_on"].dt.normalize()).dt.days
    pairs = pairs.assign(days_before=days)[(days >= 0) & (days <= LOOKBACK_DAYS)]
    first = pairs.sort_values(["case_id", "days_before"], ascending=[True, False])
    first = first.drop_duplicates("case_id", keep="first")
    n, flagged = int(len(churned)), int(len(first))
    share = share_of(flagged, n)
    return {
        "churned": n,
        "flagged": flagged,
        "share": share,
        "median_days_before": rounded(first["days_before"].median()) if flagged else None,
        "p90_days_before": percentile(first["days_before"], 90),
        "status": "no data" if share is None else "info",
        "rows": [
            {"case_id": r["case_id"], "account_id": r["account_id"], "first_cause": r["cause"],
             "days_before": int(r["days_before"])}
            for r in first.sort_values("days_before", ascending=False).head(20).to_dict("records")
        ],
    }  # fmt: skip
