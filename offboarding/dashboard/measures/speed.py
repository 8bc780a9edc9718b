"""How fast we serve a departing customer (§13 lagging measures): open requests, processing
time, acknowledgement time and export delivery. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from offboarding.dashboard.measures.figures import judged, percentile, rounded, share_of
from offboarding.dashboard.measures.periods import as_utc, churned_cases, in_period
from offboarding.dashboard.measures.targets import ACK_MET_SHARE, TARGETS

#: Open requests: not finished yet (the playbook's waiting statuses, received, offboarding).
OPEN = (
    "received",
    "awaiting_requester_confirmation",
    "awaiting_verification",
    "awaiting_save_outcome",
    "awaiting_approval",
    "escalated",
    "offboarding",
)

#: Day bins of the processing-time histogram; the target 7–14 days spans two of them.
PROCESSING_BINS = (0, 3, 7, 10, 14, 21, 30, np.inf)


def open_requests(cases: pd.DataFrame, as_of: datetime, ack_target_hours: float = 24) -> dict:
    """The queue now: what is stuck, overdue or still unacknowledged past the target."""
    now = as_utc(as_of)
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
        "oldest_days": rounded(age.max()) if len(op) else None,
        "overdue_decisions": int(overdue.sum()),
        "unacknowledged_over_target": int(late_ack.sum()),
    }


def processing_time(
    cases: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    """Days from request to closure of churned cases, judged on the median (target 7–14)."""
    low, high = TARGETS["processing_days"]
    done = churned_cases(cases, since, as_of)
    days = ((done["completed_at"] - done["requested_at"]).dt.total_seconds() / 86400).dropna()
    n = int(days.size)
    median = percentile(days, 50)
    labels = [
        f"{int(a)}–{int(b)}" if np.isfinite(b) else f"{int(a)}+"
        for a, b in zip(PROCESSING_BINS[:-1], PROCESSING_BINS[1:], strict=True)
    ]
    hist = pd.cut(days, list(PROCESSING_BINS), right=False, labels=labels).value_counts()
    return {
        "n": n,
        "median_days": median,
        "p90_days": percentile(days, 90),
        "within_target_share": share_of(int((days <= high).sum()), n),
        "target": f"{low}–{high} days",
        "histogram": [{"bin": b, "count": int(hist.get(b, 0))} for b in labels],
        **judged(median, None if median is None else median <= high, f"median ≤ {high} days"),
    }


def acknowledgement_time(
    cases: pd.DataFrame, as_of: datetime, since: datetime | None = None, target_hours: float = 24
) -> dict[str, Any]:
    """Hours to acknowledge; requests still unacknowledged past the target count as late."""
    now = as_utc(as_of)
    req = cases[in_period(cases["requested_at"], since, as_of)]
    ack_at = req["acknowledged_at"].where(req["acknowledged_at"] <= now)  # later: not yet
    hours = ((ack_at - req["requested_at"]).dt.total_seconds() / 3600).dropna()
    n = int(hours.size)
    met = int((hours <= target_hours).sum())
    late_open = int(
        (ack_at.isna() & (req["requested_at"] < now - pd.Timedelta(hours=target_hours))).sum()
    )
    share = share_of(met, n + late_open)
    ok = None if share is None else share >= ACK_MET_SHARE
    return {
        "n": n,
        "median_hours": percentile(hours, 50),
        "p90_hours": percentile(hours, 90),
        "within_target_share": share,
        "unacknowledged_over_target": late_open,
        "target": f"≥ {ACK_MET_SHARE:.0%} within {target_hours:g} h",
        **judged(share, ok, f"≥ {ACK_MET_SHARE:.0%} acknowledged within {target_hours:g} h"),
    }


def export_delivery(
    exports: pd.DataFrame, as_of: datetime, since: datetime | None = None
) -> dict[str, Any]:
    """Hours from export request to delivered links, judged on the 90th percentile (≤ 72 h)."""
    low, high = TARGETS["export_hours"]
    now = as_utc(as_of)
    ex = exports[in_period(exports["requested_at"], since, as_of)]
    delivered = ex["delivered_at"].notna() & (ex["delivered_at"] <= now)
    done, pending = ex[delivered], ex[~delivered]
    hours = (done["delivered_at"] - done["requested_at"]).dt.total_seconds() / 3600
    pending_late = int((pending["requested_at"] < now - pd.Timedelta(hours=high)).sum())
    n = int(hours.size)
    p90 = percentile(hours, 90)
    return {
        "n": n,
        "median_hours": percentile(hours, 50),
        "p90_hours": p90,
        "within_48h_share": share_of(int((hours <= low).sum()), n),
        "within_72h_share": share_of(int((hours <= high).sum()), n),
        "pending": int(len(pending)),
        "pending_over_72h": pending_late,
        "target": f"{low}–{high} h",
        **judged(p90, None if p90 is None else p90 <= high, f"90th percentile ≤ {high} h"),
    }
