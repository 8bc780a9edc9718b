"""The §13 success measures as pure functions over plain tables (pandas DataFrames).

Every measure says what it counts (`DEFINITIONS`, also in the README and on the page) and is
judged against the playbook's target. Pure: no database, no Prefect, no clock — `as_of` is
always passed in, so a test with a fixed dataset knows every figure by hand. Vectorised, so
100 k cases and 1 M messages compute in seconds (see benchmarks/dashboard_bench.py).

Input frames (columns; datetimes are UTC-aware, missing values are NaT/NaN/None):
- cases: case_id, account_id, account_name, segment, arr, strategic, status, requested_at,
  acknowledged_at, completed_at, closed_on, reason_category, reason_detail, product_gap,
  preventable, missed_warning_signs, winback_candidate, winback_remind_on, waiting_for,
  decision_due
- save_attempts: case_id, number, outcome, at
- messages: case_id, kind, sent_at (+ message_id, subject, location when known)
- exports: export_id, case_id, requested_at, delivered_at
- steps: case_id, step
- feedback: response_id, case_id, status, responded_at, satisfaction, recommend_score,
  main_reason, could_do_better, recommend_why, product_gap, service_issue
- interviews: case_id, status, facilitator, facilitator_neutral, held_at, notes
- returns: account_id, returned_on (a former customer's return date)
- signals: account_id, kind, source_key, observed_at (pending win-back signals)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from offboarding.messages import CUSTOMER_KINDS

__all__ = [
    "CHURNED",
    "DEFINITIONS",
    "DashboardData",
    "OPEN",
    "TARGETS",
    "acknowledgement_time",
    "compute_dashboard",
    "empty_data",
    "export_delivery",
    "feedback_response",
    "nps",
    "open_requests",
    "process_audit",
    "processing_time",
    "reason_analytics",
    "reengagement_candidates",
    "satisfaction",
    "save_rate",
    "spot_check_sample",
    "theme_summary",
    "winback_rates",
]

#: A case counts as churned once its account is closed (purged cases were closed first).
CHURNED = ("closed", "purged")
#: Open requests: not finished yet (the playbook's waiting statuses, received, offboarding).
OPEN = (
    "received",
    "awaiting_verification",
    "awaiting_save_outcome",
    "awaiting_approval",
    "escalated",
    "offboarding",
)

#: §13 targets. Ranges are (low, high); the judgement of each measure says which end matters.
TARGETS: dict[str, Any] = {
    "processing_days": (7, 14),
    "acknowledgement_hours": 24,
    "export_hours": (48, 72),
    "feedback_rate": (0.40, 0.60),
    "save_rate": (0.20, 0.30),
    "satisfaction": 7.0,
    "winback_months": (12, 24, 36),
}

DEFINITIONS: dict[str, str] = {
    "open_requests": (
        "Cases not finished at the snapshot (received, awaiting verification, save outcome or "
        "approval, escalated, offboarding), by status; with the oldest open request, decisions "
        "past their deadline and requests still unacknowledged after the 24 h target."
    ),
    "processing_time": (
        "Days from the request to completion (the account closed) for cases closed or purged, "
        "completed in the period. Median and 90th percentile (linear interpolation); target "
        "7–14 days: met when the median is at most 14 days; also the share done within 14."
    ),
    "acknowledgement_time": (
        "Hours from the request to the acknowledgement for cases requested in the period and "
        "acknowledged. Median, 90th percentile and the share within the 24 h target, where "
        "requests still unacknowledged after 24 h count as late; met when that share is at "
        "least 95 %."
    ),
    "export_delivery": (
        "Hours from the export request to the delivery of its links, for exports requested in "
        "the period and delivered. Median, 90th percentile, share within 48 h and within 72 h "
        "(target 48–72 h: met when the 90th percentile is at most 72 h); exports still pending "
        "after 72 h are shown beside it."
    ),
    "feedback_response": (
        "Of churned cases (closed or purged, completed in the period), the share whose latest "
        "exit-survey record is an answer. A recorded 'no' counts as declined, not as missing. "
        "Target 40–60 % answered."
    ),
    "save_rate": (
        "Of cases with at least one recorded save attempt (first attempt in the period; a "
        "declined conversation is an attempt the customer ended), the share saved. "
        "Target 20–30 %."
    ),
    "satisfaction": (
        "Offboarding satisfaction 0–10 from the latest answered survey of each case (responses "
        "in the period): mean, median and share at 7 or more. Target: mean 7+."
    ),
    "winback": (
        "Share of churned cases whose account returned within 12 / 24 / 36 months of closure. "
        "Only cases closed at least that long ago count (a younger cohort cannot be judged yet)."
    ),
    "nps": (
        "Net Promoter Score of former customers: from the latest answered 'likelihood to "
        "recommend' (0–10) of each account, % promoters (9–10) minus % detractors (0–6)."
    ),
    "reengagement": (
        "Churned cases tagged as win-back candidates at close-out, with their reminder date "
        "(due within 30 days are flagged), and accounts with a pending 'feature shipped' "
        "win-back signal from a fixed churn pattern."
    ),
    "reasons": (
        "Churned cases in the period by §2 reason category: by segment, by month, churned ARR "
        "per reason, the share judged preventable (of those judged) and the early-warning "
        "signs we missed."
    ),
    "spot_check": (
        "Weekly: a random sample (stable for the ISO week) of customer messages sent in the "
        "7 days before the snapshot, for a person to read and check tone and facts."
    ),
    "themes": (
        "Monthly: reason categories, product gaps, service issues and recurring words of exit "
        "feedback and interviews in the month so far, with a few verbatim answers."
    ),
    "audit": (
        "Quarterly: cases finished this quarter (so far) with a required step or message "
        "missing from the record (see REQUIRED_STEPS / REQUIRED_MESSAGES in offboarding/kpi.py)."
    ),
}

#: What the record must hold for a finished case, by final status (the quarterly audit).
_CLOSED_STEPS = (
    "intake",
    "acknowledge",
    "save_decision",
    "plan",
    "export_delivered",
    "access_reduction",
    "internal_closeout",
)
REQUIRED_STEPS: dict[str, tuple[str, ...]] = {
    "closed": _CLOSED_STEPS,
    "purged": (*_CLOSED_STEPS, "deactivation", "purge"),
    "saved": ("intake", "acknowledge", "save_decision"),
    "not_a_cancellation": ("intake", "acknowledge"),
}
_CLOSURE_MESSAGES = (
    "acknowledgement",
    "offboarding_plan",
    "export_ready",
    "exit_survey_invitation",
    "closure_confirmation",
)
REQUIRED_MESSAGES: dict[str, tuple[str, ...]] = {
    "closed": _CLOSURE_MESSAGES,
    "purged": _CLOSURE_MESSAGES,
    "saved": ("acknowledgement",),
    "not_a_cancellation": ("acknowledgement", "back_to_support"),
}
#: Strategic accounts also get a note from an executive (§9).
STRATEGIC_MESSAGES = ("executive_note",)

#: The acknowledgement target is met when this share of requests (late unacknowledged ones
#: included) got their acknowledgement within the target hours.
ACK_MET_SHARE = 0.95

PROCESSING_BINS = (0, 3, 7, 10, 14, 21, 30, np.inf)

_COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": (
        "case_id",
        "account_id",
        "account_name",
        "segment",
        "arr",
        "strategic",
        "status",
        "requested_at",
        "acknowledged_at",
        "completed_at",
        "closed_on",
        "reason_category",
        "reason_detail",
        "product_gap",
        "preventable",
        "missed_warning_signs",
        "winback_candidate",
        "winback_remind_on",
        "waiting_for",
        "decision_due",
    ),
    "save_attempts": ("case_id", "number", "outcome", "at"),
    "messages": ("case_id", "kind", "sent_at"),
    "exports": ("export_id", "case_id", "requested_at", "delivered_at"),
    "steps": ("case_id", "step"),
    "feedback": (
        "response_id",
        "case_id",
        "status",
        "responded_at",
        "satisfaction",
        "recommend_score",
        "main_reason",
        "could_do_better",
        "recommend_why",
        "product_gap",
        "service_issue",
    ),
    "interviews": ("case_id", "status", "facilitator", "facilitator_neutral", "held_at", "notes"),
    "returns": ("account_id", "returned_on"),
    "signals": ("account_id", "kind", "source_key", "observed_at"),
}
_DATETIMES = {
    "requested_at",
    "acknowledged_at",
    "completed_at",
    "decision_due",
    "at",
    "sent_at",
    "delivered_at",
    "responded_at",
    "held_at",
    "observed_at",
    "returned_on",
    "closed_on",
    "winback_remind_on",
}


@dataclass
class DashboardData:
    """Everything the measures read, as plain tables; `notes` say where a figure came from."""

    cases: pd.DataFrame
    save_attempts: pd.DataFrame
    messages: pd.DataFrame
    exports: pd.DataFrame
    steps: pd.DataFrame
    feedback: pd.DataFrame
    interviews: pd.DataFrame
    returns: pd.DataFrame
    signals: pd.DataFrame
    patterns: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_records(cls, **tables: Any) -> DashboardData:
        """Build from lists of dicts (or frames); missing tables and columns become empty."""
        frames = {}
        for name, cols in _COLUMNS.items():
            frames[name] = _frame(tables.get(name), cols)
        return cls(
            **frames,
            patterns=list(tables.get("patterns") or []),
            notes=dict(tables.get("notes") or {}),
        )


def empty_data() -> DashboardData:
    return DashboardData.from_records()


def _frame(data: Any, cols: tuple[str, ...]) -> pd.DataFrame:
    df = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data or []))
    for c in cols:
        if c not in df.columns:
            df[c] = pd.Series([None] * len(df), dtype=object)
    for c in df.columns:
        if c in _DATETIMES and not isinstance(df[c].dtype, pd.DatetimeTZDtype):
            df[c] = pd.to_datetime(df[c], utc=True, errors="coerce", format="ISO8601")
    return df


# -- small helpers -------------------------------------------------------------------------


def _num(x: Any, digits: int = 2) -> float | None:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return round(float(x), digits)


def _pct(values: pd.Series, q: float) -> float | None:
    v = values.dropna().to_numpy(dtype=float)
    return None if v.size == 0 else _num(np.percentile(v, q))


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _ts(x: datetime | date) -> pd.Timestamp:
    t = pd.Timestamp(x)
    return t.tz_localize(UTC) if t.tzinfo is None else t.tz_convert(UTC)


def _in_period(col: pd.Series, since: datetime | None, as_of: datetime) -> pd.Series:
    mask = col.notna() & (col <= _ts(as_of))
    if since is not None:
        mask &= col >= _ts(since)
    return mask


def _judge(value: float | None, ok: bool | None, why: str) -> dict[str, Any]:
    if value is None or ok is None:
        return {"status": "no data", "why": "nothing to measure yet"}
    return {"status": "met" if ok else "missed", "why": why}


def _iso(x: Any) -> str | None:
    if x is None or x is pd.NaT or (isinstance(x, float) and np.isnan(x)):
        return None
    if isinstance(x, pd.Timestamp):
        return None if pd.isna(x) else x.isoformat()
    return x.isoformat() if hasattr(x, "isoformat") else str(x)


def _latest(df: pd.DataFrame, key: str, by: str) -> pd.DataFrame:
    """The last row per key by `by` (ties broken by input order)."""
    if df.empty:
        return df
    return df.sort_values(by, kind="stable").drop_duplicates(key, keep="last")


def churned_cases(cases: pd.DataFrame, since: datetime | None, as_of: datetime) -> pd.DataFrame:
    return cases[cases["status"].isin(CHURNED) & _in_period(cases["completed_at"], since, as_of)]


# -- §13 lagging measures --------------------------------------------------------------------


def open_requests(cases: pd.DataFrame, as_of: datetime, ack_target_hours: float = 24) -> dict:
    now = _ts(as_of)
    op = cases[cases["status"].isin(OPEN)]
    counts = op["status"].value_counts()
    by_status = {s: int(counts.get(s, 0)) for s in OPEN}
    age = (now - op["requested_at"]).dt.total_seconds() / 86400
    overdue = op["waiting_for"].notna() & op["decision_due"].notna() & (op["decision_due"] < now)
    late_ack = op["acknowledged_at"].isna() & (
        op["requested_at"] < now - pd.Timedelta(hours=ack_target_hours)
    )
    return {
        "total": int(len(op)),
        "by_status": by_status,
        "oldest_days": _num(age.max()) if len(op) else None,
        "overdue_decisions": int(overdue.sum()),
        "unacknowledged_over_target": int(late_ack.sum()),
    }


def processing_time(
    cases: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    low, high = TARGETS["processing_days"]
    done = churned_cases(cases, since, as_of)
    days = ((done["completed_at"] - done["requested_at"]).dt.total_seconds() / 86400).dropna()
    n = int(days.size)
    median = _pct(days, 50)
    labels = [
        f"{int(a)}–{int(b)}" if np.isfinite(b) else f"{int(a)}+"
        for a, b in zip(PROCESSING_BINS[:-1], PROCESSING_BINS[1:], strict=True)
    ]
    hist = pd.cut(days, list(PROCESSING_BINS), right=False, labels=labels).value_counts()
    return {
        "n": n,
        "median_days": median,
        "p90_days": _pct(days, 90),
        "within_target_share": _share(int((days <= high).sum()), n),
        "target": f"{low}–{high} days",
        "histogram": [{"bin": b, "count": int(hist.get(b, 0))} for b in labels],
        **_judge(median, None if median is None else median <= high, f"median ≤ {high} days"),
    }


def acknowledgement_time(
    cases: pd.DataFrame, as_of: datetime, since: datetime | None = None, target_hours: float = 24
) -> dict[str, Any]:
    now = _ts(as_of)
    req = cases[_in_period(cases["requested_at"], since, as_of)]
    ack_at = req["acknowledged_at"].where(req["acknowledged_at"] <= now)  # later: not yet
    hours = ((ack_at - req["requested_at"]).dt.total_seconds() / 3600).dropna()
    n = int(hours.size)
    met = int((hours <= target_hours).sum())
    late_open = int(
        (ack_at.isna() & (req["requested_at"] < now - pd.Timedelta(hours=target_hours))).sum()
    )
    share = _share(met, n + late_open)
    ok = None if share is None else share >= ACK_MET_SHARE
    return {
        "n": n,
        "median_hours": _pct(hours, 50),
        "p90_hours": _pct(hours, 90),
        "within_target_share": share,
        "unacknowledged_over_target": late_open,
        "target": f"≥ {ACK_MET_SHARE:.0%} within {target_hours:g} h",
        **_judge(share, ok, f"≥ {ACK_MET_SHARE:.0%} acknowledged within {target_hours:g} h"),
    }


def export_delivery(
    exports: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    low, high = TARGETS["export_hours"]
    now = _ts(as_of)
    ex = exports[_in_period(exports["requested_at"], since, as_of)]
    delivered = ex["delivered_at"].notna() & (ex["delivered_at"] <= now)
    done, pending = ex[delivered], ex[~delivered]
    hours = (done["delivered_at"] - done["requested_at"]).dt.total_seconds() / 3600
    pending_late = int((pending["requested_at"] < now - pd.Timedelta(hours=high)).sum())
    n = int(hours.size)
    p90 = _pct(hours, 90)
    return {
        "n": n,
        "median_hours": _pct(hours, 50),
        "p90_hours": p90,
        "within_48h_share": _share(int((hours <= low).sum()), n),
        "within_72h_share": _share(int((hours <= high).sum()), n),
        "pending": int(len(pending)),
        "pending_over_72h": pending_late,
        "target": f"{low}–{high} h",
        **_judge(p90, None if p90 is None else p90 <= high, f"90th percentile ≤ {high} h"),
    }


def feedback_response(
    cases: pd.DataFrame, feedback: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    low, high = TARGETS["feedback_rate"]
    churned = churned_cases(cases, since, as_of)[["case_id"]]
    fb = feedback[feedback["responded_at"].notna() & (feedback["responded_at"] <= _ts(as_of))]
    latest = _latest(fb[["case_id", "status", "responded_at"]], "case_id", "responded_at")
    joined = churned.merge(latest[["case_id", "status"]], on="case_id", how="left")
    n = int(len(joined))
    answered = int((joined["status"] == "answered").sum())
    declined = int((joined["status"] == "declined").sum())
    rate = _share(answered, n)
    return {
        "churned": n,
        "answered": answered,
        "declined": declined,
        "no_answer": n - answered - declined,
        "response_rate": rate,
        "declined_rate": _share(declined, n),
        "target": f"{low:.0%}–{high:.0%}",
        **_judge(rate, None if rate is None else rate >= low, f"≥ {low:.0%} answered"),
    }


def save_rate(
    save_attempts: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    low, high = TARGETS["save_rate"]
    sa = save_attempts[save_attempts["at"].notna() & (save_attempts["at"] <= _ts(as_of))]
    first = sa.groupby("case_id")["at"].min()
    in_period = first.index[_in_period(first, since, as_of).to_numpy()]
    sa = sa[sa["case_id"].isin(in_period)]
    saved_cases = set(sa.loc[sa["outcome"] == "saved", "case_id"])
    last = sa.sort_values(["case_id", "number"]).drop_duplicates("case_id", keep="last")
    final = last["outcome"].where(~last["case_id"].isin(saved_cases), "saved")
    counts = final.value_counts()
    n = int(len(in_period))
    rate = _share(len(saved_cases), n)
    return {
        "attempted": n,
        "saved": int(counts.get("saved", 0)),
        "not_saved": int(counts.get("not_saved", 0)),
        "declined_conversation": int(counts.get("declined_conversation", 0)),
        "conversations": int(len(sa)),
        "save_rate": rate,
        "target": f"{low:.0%}–{high:.0%}",
        **_judge(rate, None if rate is None else rate >= low, f"≥ {low:.0%} of attempts saved"),
    }


def _answered(feedback: pd.DataFrame, as_of: datetime, since: datetime | None) -> pd.DataFrame:
    fb = feedback[_in_period(feedback["responded_at"], since, as_of)]
    return fb[fb["status"] == "answered"]


def satisfaction(
    feedback: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    target = TARGETS["satisfaction"]
    fb = _answered(feedback, as_of, since)
    fb = fb[fb["satisfaction"].notna()]
    scores = _latest(fb, "case_id", "responded_at")["satisfaction"].astype(float)
    n = int(scores.size)
    mean = _num(scores.mean()) if n else None
    return {
        "n": n,
        "mean": mean,
        "median": _pct(scores, 50),
        "share_7_plus": _share(int((scores >= 7).sum()), n),
        "target": f"{target:g}+ of 10",
        **_judge(mean, None if mean is None else mean >= target, f"mean ≥ {target:g}"),
    }


def nps(
    feedback: pd.DataFrame,
    cases: pd.DataFrame,
    as_of: datetime,
    since: datetime | None = None,
) -> dict[str, Any]:
    fb = _answered(feedback, as_of, since)
    fb = fb[fb["recommend_score"].notna()][["case_id", "recommend_score", "responded_at"]]
    fb = fb.merge(cases[["case_id", "account_id"]], on="case_id", how="left")
    fb["account_id"] = fb["account_id"].fillna(fb["case_id"])
    scores = _latest(fb, "account_id", "responded_at")["recommend_score"].astype(float)
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
        **_judge(value, None if value is None else value > 0, "more promoters than detractors"),
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
    now = _ts(as_of)
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
                "rate": _share(int(back.sum()), n),
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
    now = _ts(as_of)
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
            "arr": _num(r.arr),
            "reason": r.reason_category,
            "remind_on": _iso(r.winback_remind_on)[:10] if pd.notna(r.winback_remind_on) else None,
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


# -- reasons ---------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    """a an and are as at be been but by can could did do for from had has have if in into is it
    its just more much not of on or our so than that the their them then there they this to too
    was we were what when which who will with would you your us any all very also get got
    about after before only out over some such no yes""".split()
)


def as_text(values: pd.Series) -> pd.Series:
    """Free text with missing values as "" (an all-missing column may arrive as floats)."""
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def normalise_text(text: Any) -> str:
    """Lower-case words in a stable order, so 'SAML SSO' and 'sso (saml)' are one theme."""
    if not isinstance(text, str):
        return ""
    return " ".join(sorted(set(_WORD.findall(text.lower())) - _STOP))


def _top_terms(texts: pd.Series, k: int = 10) -> list[dict[str, Any]]:
    """Words of 4+ letters counted once per answer: what many people say, not one long rant."""
    counter: Counter[str] = Counter()
    for t in texts.dropna():
        counter.update({w for w in _WORD.findall(str(t).lower()) if len(w) >= 4} - _STOP)
    return [{"term": w, "count": c} for w, c in counter.most_common(k)]


def _top_labels(values: pd.Series, k: int = 10) -> list[dict[str, Any]]:
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
    return ts.dt.strftime("%Y-%m")


def reason_analytics(
    cases: pd.DataFrame, as_of: datetime, since: datetime | None = None, months: int = 12
) -> dict[str, Any]:
    churned = churned_cases(cases, since, as_of)
    cat = churned["reason_category"].fillna("unrecorded")
    seg = churned["segment"].fillna("unknown")
    by_category = cat.value_counts()
    by_segment = pd.crosstab(cat, seg) if len(churned) else pd.DataFrame()
    arr = churned["arr"].astype(float).groupby(cat).sum().sort_values(ascending=False)
    # by month: the last `months` calendar months up to as_of
    now = _ts(as_of)
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
            "share": _share(yes, int(judged.sum())),
        },
        "missed_warning_signs": {
            "cases": int((signs != "").sum()),
            "share": _share(int((signs != "").sum()), int(len(churned))),
            "top": _top_labels(signs[signs != ""], 8),
        },
    }


# -- leading indicators ----------------------------------------------------------------------


def spot_check_sample(messages: pd.DataFrame, as_of: datetime, k: int = 10) -> dict[str, Any]:
    """A random sample of last week's customer messages, the same all week (seeded by ISO week)."""
    now = _ts(as_of)
    week = messages[
        messages["kind"].isin(CUSTOMER_KINDS)
        & (messages["sent_at"] > now - pd.Timedelta(days=7))
        & (messages["sent_at"] <= now)
    ]
    order = ["message_id"] if "message_id" in week.columns else ["sent_at", "case_id", "kind"]
    week = week.sort_values(order, kind="stable")
    iso = now.isocalendar()
    seed = iso[0] * 100 + iso[1]
    take = min(k, len(week))
    idx = np.sort(np.random.default_rng(seed).choice(len(week), size=take, replace=False))
    sample = week.iloc[idx]
    rows = []
    for r in sample.to_dict("records"):
        rows.append(
            {
                "case_id": r["case_id"],
                "kind": r["kind"],
                "sent_at": _iso(r["sent_at"]),
                "subject": r.get("subject") or "",
                "location": r.get("location") or "",
            }
        )
    return {"week": f"{iso[0]}-W{iso[1]:02d}", "sent_this_week": int(len(week)), "sample": rows}


def theme_summary(
    cases: pd.DataFrame,
    feedback: pd.DataFrame,
    interviews: pd.DataFrame,
    as_of: datetime,
) -> dict[str, Any]:
    """The month so far: what departing customers said, grouped so a person reviews themes."""
    now = _ts(as_of)
    start = now.normalize().replace(day=1)
    fb = feedback[_in_period(feedback["responded_at"], start, now)]
    answered = fb[fb["status"] == "answered"]
    churned = churned_cases(cases, start, now)
    iv = interviews[_in_period(interviews["held_at"], start, now)]
    held = iv[iv["status"] == "held"]
    gaps = pd.concat([churned["product_gap"], answered["product_gap"]], ignore_index=True)
    issues = pd.concat(
        [
            churned.loc[churned["reason_category"] == "experience", "reason_detail"],
            answered["service_issue"],
        ],
        ignore_index=True,
    )
    texts = pd.concat(
        [
            answered["main_reason"],
            answered["could_do_better"],
            answered["recommend_why"],
            held["notes"],
        ],
        ignore_index=True,
    )
    quotes = answered[as_text(answered["could_do_better"]) != ""]
    quotes = quotes.sort_values("responded_at", ascending=False).head(3)
    return {
        "month": start.strftime("%Y-%m"),
        "responses": int(len(answered)),
        "declined": int((fb["status"] == "declined").sum()),
        "interviews_held": int(len(held)),
        "reason_categories": {
            k: int(v)
            for k, v in churned["reason_category"].fillna("unrecorded").value_counts().items()
        },
        "product_gaps": _top_labels(gaps, 5),
        "service_issues": _top_labels(issues, 5),
        "recurring_terms": _top_terms(texts, 10),
        "quotes": [
            {"case_id": q["case_id"], "text": str(q["could_do_better"])}
            for q in quotes.to_dict("records")
        ],
    }


def quarter_start(as_of: datetime) -> pd.Timestamp:
    now = _ts(as_of)
    return pd.Timestamp(year=now.year, month=3 * ((now.month - 1) // 3) + 1, day=1, tz=UTC)


def process_audit(
    cases: pd.DataFrame,
    steps: pd.DataFrame,
    messages: pd.DataFrame,
    as_of: datetime,
    limit: int = 50,
) -> dict[str, Any]:
    """Cases finished this quarter whose record lacks a required step or message."""
    now = _ts(as_of)
    start = quarter_start(now)
    done = cases[
        cases["status"].isin(list(REQUIRED_STEPS)) & _in_period(cases["completed_at"], start, now)
    ][["case_id", "account_id", "status", "completed_at", "strategic"]]
    need = []
    for status, names in REQUIRED_STEPS.items():
        ids = done.loc[done["status"] == status, "case_id"]
        need.append(
            pd.DataFrame(
                {
                    "case_id": np.repeat(ids.to_numpy(), len(names)),
                    "item": np.tile([f"step:{n}" for n in names], len(ids)),
                }
            )
        )
    for status, names in REQUIRED_MESSAGES.items():
        ids = done.loc[done["status"] == status, "case_id"]
        need.append(
            pd.DataFrame(
                {
                    "case_id": np.repeat(ids.to_numpy(), len(names)),
                    "item": np.tile([f"message:{n}" for n in names], len(ids)),
                }
            )
        )
    strategic = done[done["status"].isin(CHURNED) & done["strategic"].fillna(False).astype(bool)][
        "case_id"
    ]
    need.append(
        pd.DataFrame(
            {
                "case_id": np.repeat(strategic.to_numpy(), len(STRATEGIC_MESSAGES)),
                "item": np.tile([f"message:{n}" for n in STRATEGIC_MESSAGES], len(strategic)),
            }
        )
    )
    need_df = pd.concat(need, ignore_index=True)
    scope = set(done["case_id"])
    have_steps = steps[steps["case_id"].isin(scope)]
    have_msgs = messages[messages["case_id"].isin(scope)]
    have = pd.concat(
        [
            pd.DataFrame({"case_id": have_steps["case_id"], "item": "step:" + have_steps["step"]}),
            pd.DataFrame({"case_id": have_msgs["case_id"], "item": "message:" + have_msgs["kind"]}),
        ],
        ignore_index=True,
    ).drop_duplicates()
    missing = need_df.merge(have, on=["case_id", "item"], how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    grouped = missing.groupby("case_id")["item"].agg(list)
    flagged = done[done["case_id"].isin(grouped.index)].sort_values(["completed_at", "case_id"])
    rows = [
        {
            "case_id": r.case_id,
            "account_id": r.account_id,
            "status": r.status,
            "completed_at": _iso(r.completed_at),
            "missing": sorted(grouped[r.case_id]),
        }
        for r in flagged.head(limit).itertuples()
    ]
    item_counts = missing["item"].value_counts()
    return {
        "quarter": f"{start.year}-Q{(start.month - 1) // 3 + 1}",
        "audited": int(len(done)),
        "with_missing": int(len(flagged)),
        "complete_share": _share(int(len(done) - len(flagged)), int(len(done))),
        "missing_by_item": {k: int(v) for k, v in item_counts.items()},
        "rows": rows,
    }


# -- everything ------------------------------------------------------------------------------


def compute_dashboard(
    data: DashboardData,
    as_of: datetime,
    since: datetime | None = None,
    ack_target_hours: float = 24,
) -> dict[str, Any]:
    """Every §13 measure and leading indicator, as one JSON-ready dict."""
    c = data.cases
    return {
        "as_of": _ts(as_of).isoformat(),
        "since": _ts(since).isoformat() if since is not None else None,
        "open_requests": open_requests(c, as_of, ack_target_hours),
        "processing_time": processing_time(c, as_of, since),
        "acknowledgement_time": acknowledgement_time(c, as_of, since, ack_target_hours),
        "export_delivery": export_delivery(data.exports, as_of, since),
        "feedback_response": feedback_response(c, data.feedback, as_of, since),
        "save_rate": save_rate(data.save_attempts, as_of, since),
        "satisfaction": satisfaction(data.feedback, as_of, since),
        "winback": winback_rates(c, data.returns, as_of),
        "nps": nps(data.feedback, c, as_of, since),
        "reengagement": reengagement_candidates(c, data.signals, as_of),
        "reasons": reason_analytics(c, as_of, since),
        "patterns": data.patterns,
        "spot_check": spot_check_sample(data.messages, as_of),
        "themes": theme_summary(c, data.feedback, data.interviews, as_of),
        "audit": process_audit(c, data.steps, data.messages, as_of),
        "definitions": DEFINITIONS,
        "notes": data.notes,
    }


def default_as_of() -> datetime:
    """Only the callers at the edge read the clock; the measures never do."""
    return datetime.now(UTC)


def period_start(as_of: datetime, days: int | None) -> datetime | None:
    return None if not days else _ts(as_of).to_pydatetime() - timedelta(days=days)
