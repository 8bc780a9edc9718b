"""The §13 success measures by family, re-exported here; pure (no database, Prefect or clock)."""

from offboarding.dashboard.measures.periods import (
    churned_cases,
    default_as_of,
    period_start,
    quarter_start,
)
from offboarding.dashboard.measures.reasons import reason_analytics
from offboarding.dashboard.measures.retention import (
    reengagement_candidates,
    save_rate,
    winback_rates,
)
from offboarding.dashboard.measures.reviews import (
    REQUIRED_MESSAGES,
    REQUIRED_STEPS,
    STRATEGIC_MESSAGES,
    process_audit,
    spot_check_sample,
    theme_summary,
)
from offboarding.dashboard.measures.snapshot import compute_dashboard
from offboarding.dashboard.measures.speed import (
    OPEN,
    PROCESSING_BINS,
    acknowledgement_time,
    export_delivery,
    open_requests,
    processing_time,
)
from offboarding.dashboard.measures.survey import feedback_response, nps, satisfaction
from offboarding.dashboard.measures.tables import DashboardData, empty_data
from offboarding.dashboard.measures.targets import ACK_MET_SHARE, DEFINITIONS, TARGETS
from offboarding.feedback.themes import CHURNED

__all__ = [
    "ACK_MET_SHARE",
    "CHURNED",
    "DEFINITIONS",
    "DashboardData",
    "OPEN",
    "PROCESSING_BINS",
    "REQUIRED_MESSAGES",
    "REQUIRED_STEPS",
    "STRATEGIC_MESSAGES",
    "TARGETS",
    "acknowledgement_time",
    "churned_cases",
    "compute_dashboard",
    "default_as_of",
    "empty_data",
    "export_delivery",
    "feedback_response",
    "nps",
    "open_requests",
    "period_start",
    "process_audit",
    "processing_time",
    "quarter_start",
    "reason_analytics",
    "reengagement_candidates",
    "satisfaction",
    "save_rate",
    "spot_check_sample",
    "theme_summary",
    "winback_rates",
]
