"""Every §13 measure and leading indicator at one moment, as the JSON-ready dict the page,
the Prefect artifacts and the CLI show. Pure, and vectorised so 100 k cases and 1 M messages
compute in seconds (see benchmarks/dashboard_bench.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from offboarding.dashboard.measures.early_warning import at_risk, flagged_before_asking
from offboarding.dashboard.measures.periods import as_utc
from offboarding.dashboard.measures.reasons import reason_analytics
from offboarding.dashboard.measures.retention import (
    reengagement_candidates,
    save_rate,
    winback_rates,
)
from offboarding.dashboard.measures.reviews import (
    process_audit,
    spot_check_sample,
    theme_summary,
)
from offboarding.dashboard.measures.speed import (
    acknowledgement_time,
    export_delivery,
    open_requests,
    processing_time,
)
from offboarding.dashboard.measures.survey import feedback_response, nps, satisfaction
from offboarding.dashboard.measures.tables import DashboardData
from offboarding.dashboard.measures.targets import DEFINITIONS


def compute_dashboard(
    data: DashboardData,
    as_of: datetime,
    since: datetime | None = None,
    ack_target_hours: float = 24,
) -> dict[str, Any]:
    """Every §13 measure and leading indicator, as one JSON-ready dict."""
    c = data.cases
    return {
        "as_of": as_utc(as_of).isoformat(),
        "since": as_utc(since).isoformat() if since is not None else None,
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
        "at_risk": at_risk(data.episodes, as_of),
        "flagged_before_asking": flagged_before_asking(c, data.episodes, as_of, since),
        "definitions": DEFINITIONS,
        "notes": data.notes,
    }
