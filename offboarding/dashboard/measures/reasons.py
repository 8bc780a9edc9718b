"""Why customers leave (§2 reason categories): by segment, month and churned ARR, how many were
preventable, and the free-text grouping the monthly themes reuse. Pure."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pandas as pd

from offboarding.dashboard.measures.figures import share_of
from offboarding.dashboard.measures.periods import as_utc, churned_cases
from offboarding.feedback.themes import STOP_WORDS, WORD, as_text, normalise_text


def top_terms(texts: pd.Series, k: int = 10) -> list[dict[str, Any]]:
    """Words of 4+ letters counted once per answer: what many people say, not one long rant."""
    counter: Counter[str] = Counter()
    for t in texts.dropna():
        counter.update({w for w in WORD.findall(str(t).lower()) if len(w) >= 4} - STOP_WORDS)
    return [{"term": w, "count": c} for w, c in counter.most_common(k)]


def top_labels(values: pd.Series, k: int = 10) -> list[dict[str, Any]]:
    """Group free text by its normalised form; show the most common original wording."""
    v = values.dropna()
    v = v[v.astype(str).str.strip() != ""].astype(str)
    if v.empty:
        return []
    keys = v.map(normalise_text)
    out = []
    for key, grp in v.groupby(keys):
        out.append({"label": grp.value_counts().index[0], "key": key, "count": int(len(grp))})
    out.sort(key=lambda x: (-x["count"], x["key"]))
    return out[:k]


def _month_label(ts: pd.Series) -> pd.Series:
    """'YYYY-MM', which sorts as text in calendar order."""
    return ts.dt.strftime("%Y-%m")


def reason_analytics(
    cases: pd.DataFrame, as_of: datetime, since: datetime | None = None, months: int = 12
) -> dict[str, Any]:
    """Churned cases in the period by reason, segment, month and ARR, and what was missed."""
    churned = churned_cases(cases, since, as_of)
    cat = churned["reason_category"].fillna("unrecorded")
    seg = churned["segment"].fillna("unknown")
    by_category = cat.value_counts()
    by_segment = pd.crosstab(cat, seg) if len(churned) else pd.DataFrame()
    arr = churned["arr"].astype(float).groupby(cat).sum().sort_values(ascending=False)
    # by month: the last `months` calendar months up to as_of
    now = as_utc(as_of)
    first = (now.normalize().replace(day=1) - pd.DateOffset(months=months - 1)).strftime("%Y-%m")
    month = _month_label(churned["completed_at"])
    recent = month >= first
    by_month = pd.crosstab(month[recent], cat[recent]) if recent.any() else pd.DataFrame()
    all_months = pd.period_range(first, now.strftime("%Y-%m"), freq="M").strftime("%Y-%m")
    prev = churned["preventable"]
    judged = prev.notna()
    yes = int(prev[judged].astype(bool).sum())
    signs = as_text(churned["missed_warning_signs"])
    return {
        "churned": int(len(churned)),
        "by_category": {k: int(v) for k, v in by_category.items()},
        "by_segment": {
            c: {s: int(by_segment.loc[c, s]) for s in by_segment.columns} for c in by_segment.index
        },
        "by_month": [
            {
                "month": m,
                "counts": (
                    {c: int(by_month.loc[m, c]) for c in by_month.columns if by_month.loc[m, c]}
                    if m in by_month.index
                    else {}
                ),
            }
            for m in all_months
        ],
        "churned_arr_by_reason": {k: round(float(v), 2) for k, v in arr.items()},
        "churned_arr": round(float(churned["arr"].astype(float).sum()), 2),
        "preventable": {
            "judged": int(judged.sum()),
            "preventable": yes,
            "unknown": int((~judged).sum()),
            "share": share_of(yes, int(judged.sum())),
        },
        "missed_warning_signs": {
            "cases": int((signs != "").sum()),
            "share": share_of(int((signs != "").sum()), int(len(churned))),
            "top": top_labels(signs[signs != ""], 8),
        },
    }
