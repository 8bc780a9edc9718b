"""Customers kept or won back (§13): the save rate of attempted saves, the win-back rate by
months since closure, and the candidates to re-engage. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from offboarding.dashboard.measures.figures import iso_or_none, judged, rounded, share_of
from offboarding.dashboard.measures.periods import as_utc, in_period
from offboarding.dashboard.measures.targets import TARGETS
from offboarding.feedback.themes import CHURNED


def save_rate(
    save_attempts: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    """Share of cases with a save attempt (first one in the period) that were saved."""
    low, high = TARGETS["save_rate"]
    sa = save_attempts[save_attempts["at"].notna() & (save_attempts["at"] <= as_utc(as_of))]
    first = sa.groupby("case_id")["at"].min()
    attempted = first.index[in_period(first, since, as_of).to_numpy()]
    sa = sa[sa["case_id"].isin(attempted)]
    saved_cases = set(sa.loc[sa["outcome"] == "saved", "case_id"])
    last = sa.sort_values(["case_id", "number"]).drop_duplicates("case_id", keep="last")
    final = last["outcome"].where(~last["case_id"].isin(saved_cases), "saved")
    counts = final.value_counts()
    n = int(len(attempted))
    rate = share_of(len(saved_cases), n)
    return {
        "attempted": n,
        "saved": int(counts.get("saved", 0)),
        "not_saved": int(counts.get("not_saved", 0)),
        "declined_conversation": int(counts.get("declined_conversation", 0)),
        "conversations": int(len(sa)),
        "save_rate": rate,
        "target": f"{low:.0%}–{high:.0%}",
        **judged(rate, None if rate is None else rate >= low, f"≥ {low:.0%} of attempts saved"),
    }


def _add_months(ts: pd.Series, months: int) -> pd.Series:
    """Calendar months, day clipped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    return ts + pd.DateOffset(months=months)


def winback_rates(
    cases: pd.DataFrame,
    returns: pd.DataFrame,
    as_of: datetime,
    horizons: tuple[int, ...] = TARGETS["winback_months"],
) -> dict[str, Any]:
    """Returns within each horizon, of the cases closed at least that long ago."""
    now = as_utc(as_of)
    churned = cases[cases["status"].isin(CHURNED)][["case_id", "account_id", "closed_on"]]
    churned = churned.assign(
        churn_at=churned["closed_on"].fillna(
            cases.loc[churned.index, "completed_at"].dt.normalize()
        )
    )
    churned = churned[churned["churn_at"].notna() & (churned["churn_at"] <= now)]
    ret = returns[returns["returned_on"].notna() & (returns["returned_on"] <= now)]
    pairs = churned.merge(ret[["account_id", "returned_on"]], on="account_id", how="inner")
    pairs = pairs[pairs["returned_on"] >= pairs["churn_at"]]
    first_return = pairs.groupby("case_id")["returned_on"].min()
    churned = churned.merge(
        first_return.rename("returned_on"), left_on="case_id", right_index=True, how="left"
    )
    out = []
    for months in horizons:
        limit = _add_months(churned["churn_at"], months)
        eligible = churned[limit <= now]
        lim = limit[limit <= now]
        back = eligible["returned_on"].notna() & (eligible["returned_on"] <= lim)
        n = int(len(eligible))
        out.append(
            {
                "months": months,
                "eligible": n,
                "returned": int(back.sum()),
                "rate": share_of(int(back.sum()), n),
            }
        )
    returned_ever = int(churned["returned_on"].notna().sum())
    return {"horizons": out, "churned": int(len(churned)), "returned_so_far": returned_ever}


def reengagement_candidates(
    cases: pd.DataFrame,
    signals: pd.DataFrame,
    as_of: datetime,
    due_within_days: int = 30,
    limit: int = 20,
) -> dict[str, Any]:
    """Win-back candidates by reminder date, flagging those due soon or with a shipped gap."""
    now = as_utc(as_of)
    cand = cases[
        cases["status"].isin(CHURNED) & cases["winback_candidate"].fillna(False).astype(bool)
    ]
    due = cand["winback_remind_on"].notna() & (
        cand["winback_remind_on"] <= now + pd.Timedelta(days=due_within_days)
    )
    sig_accounts = set(signals["account_id"].dropna()) if len(signals) else set()
    top = cand.assign(due=due).sort_values(["winback_remind_on", "case_id"], na_position="last")
    rows = [
        {
            "case_id": r.case_id,
            "account_id": r.account_id,
            "account_name": r.account_name,
            "segment": r.segment,
            "arr": rounded(r.arr),
            "reason": r.reason_category,
            "remind_on": (
                iso_or_none(r.winback_remind_on)[:10] if pd.notna(r.winback_remind_on) else None
            ),
            "due": bool(r.due),
            "feature_shipped_signal": r.account_id in sig_accounts,
        }
        for r in top.head(limit).itertuples()
    ]
    return {
        "candidates": int(len(cand)),
        "due_within_30_days": int(due.sum()),
        "signalled_accounts": len(sig_accounts),
        "rows": rows,
    }
