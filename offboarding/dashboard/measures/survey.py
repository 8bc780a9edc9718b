"""What departing customers tell us in the exit survey (§13): response rate, satisfaction and
the NPS of former customers. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from offboarding.dashboard.measures.figures import (
    judged,
    latest_per,
    percentile,
    rounded,
    share_of,
)
from offboarding.dashboard.measures.periods import as_utc, churned_cases, in_period
from offboarding.dashboard.measures.targets import TARGETS


def feedback_response(
    cases: pd.DataFrame, feedback: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    """Share of churned cases whose latest survey record is an answer; a 'no' is declined."""
    low, high = TARGETS["feedback_rate"]
    churned = churned_cases(cases, since, as_of)[["case_id"]]
    fb = feedback[feedback["responded_at"].notna() & (feedback["responded_at"] <= as_utc(as_of))]
    latest = latest_per(fb[["case_id", "status", "responded_at"]], "case_id", "responded_at")
    joined = churned.merge(latest[["case_id", "status"]], on="case_id", how="left")
    n = int(len(joined))
    answered = int((joined["status"] == "answered").sum())
    declined = int((joined["status"] == "declined").sum())
    rate = share_of(answered, n)
    return {
        "churned": n,
        "answered": answered,
        "declined": declined,
        "no_answer": n - answered - declined,
        "response_rate": rate,
        "declined_rate": share_of(declined, n),
        "target": f"{low:.0%}–{high:.0%}",
        **judged(rate, None if rate is None else rate >= low, f"≥ {low:.0%} answered"),
    }


def _answered(feedback: pd.DataFrame, as_of: datetime, since: datetime | None) -> pd.DataFrame:
    """Survey answers (not declines) given in the period."""
    fb = feedback[in_period(feedback["responded_at"], since, as_of)]
    return fb[fb["status"] == "answered"]


def satisfaction(
    feedback: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    """Offboarding satisfaction 0–10 from each case's latest answer, judged on the mean."""
    target = TARGETS["satisfaction"]
    fb = _answered(feedback, as_of, since)
    fb = fb[fb["satisfaction"].notna()]
    scores = latest_per(fb, "case_id", "responded_at")["satisfaction"].astype(float)
    n = int(scores.size)
    mean = rounded(scores.mean()) if n else None
    return {
        "n": n,
        "mean": mean,
        "median": percentile(scores, 50),
        "share_7_plus": share_of(int((scores >= 7).sum()), n),
        "target": f"{target:g}+ of 10",
        **judged(mean, None if mean is None else mean >= target, f"mean ≥ {target:g}"),
    }


def nps(
    feedback: pd.DataFrame,
    cases: pd.DataFrame,
    as_of: datetime,
    since: datetime | None = None,
) -> dict[str, Any]:
    """Net Promoter Score per former account (its latest answer), not per survey."""
    fb = _answered(feedback, as_of, since)
    fb = fb[fb["recommend_score"].notna()][["case_id", "recommend_score", "responded_at"]]
    fb = fb.merge(cases[["case_id", "account_id"]], on="case_id", how="left")
    fb["account_id"] = fb["account_id"].fillna(fb["case_id"])
    scores = latest_per(fb, "account_id", "responded_at")["recommend_score"].astype(float)
    n = int(scores.size)
    promoters = int((scores >= 9).sum())
    detractors = int((scores <= 6).sum())
    value = None if n == 0 else round(100 * (promoters - detractors) / n, 1)
    return {
        "n": n,
        "promoters": promoters,
        "passives": n - promoters - detractors,
        "detractors": detractors,
        "nps": value,
        "target": "above 0 and rising",
        **judged(value, None if value is None else value > 0, "more promoters than detractors"),
    }
