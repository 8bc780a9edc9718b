"""The §13 targets and the definition of each measure, shown beside it on the page and in the
README, so a reader knows exactly what a figure counts. Pure data."""

from __future__ import annotations

from typing import Any

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
        "(due within 30 days are flagged), and accounts with an open 'feature shipped' "
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
    "at_risk": (
        "§14 at-risk episodes open at the snapshot (opened by the daily early-warning scan, not "
        "yet resolved by a person), by priority and cause; owners told, and episodes past their "
        "segment's response target."
    ),
    "flagged_before_asking": (
        "§14 of churned cases (closed or purged, completed in the period), the share whose "
        "account had an at-risk episode opened before the cancellation request (at most 180 "
        "days before), and the days from the first such episode to the request: how early the "
        "early warning warned."
    ),
    "audit": (
        "Quarterly: cases finished this quarter (so far) with a required step or message "
        "missing from the record (see REQUIRED_STEPS / REQUIRED_MESSAGES in dashboard.measures)."
    ),
}

#: The acknowledgement target is met when this share of requests (late unacknowledged ones
#: included) got their acknowledgement within the target hours.
ACK_MET_SHARE = 0.95
