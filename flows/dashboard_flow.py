"""The scheduled dashboard (§13): patterns refreshed and sent to product, every measure
computed from the store, the HTML page written locally and to the object store, and the
Prefect artifacts (a table of measures, a markdown summary, a link to the page) published."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow

from offboarding.feedback.patterns import PATTERN_THRESHOLD, PATTERN_WINDOW_DAYS
from tasks.dashboard import (
    ARTIFACT_KEYS,
    compute_measures,
    notify_patterns,
    publish_artifacts,
    publish_page,
    refresh_patterns,
)


def _run_name() -> str:
    return f"dashboard-{datetime.now(UTC):%Y-%m-%d-%H%M}"


@flow(name="offboarding-dashboard", flow_run_name=_run_name, log_prints=True)
def dashboard_flow(
    as_of: datetime | None = None,
    since_days: int | None = None,
    local_path: str | None = None,
    pattern_threshold: int = PATTERN_THRESHOLD,
    pattern_window_days: int = PATTERN_WINDOW_DAYS,
) -> dict[str, Any]:
    """`since_days` limits the lagging measures to a recent period (default: all time)."""
    as_of = as_of or datetime.now(UTC)
    patterns = refresh_patterns(pattern_threshold, pattern_window_days, as_of)
    notified = notify_patterns()
    dashboard = compute_measures(as_of, since_days)
    page = publish_page(dashboard, local_path)
    artifacts = publish_artifacts(dashboard, page)
    print(f"dashboard page: {page['local_path']} and {page['s3_uri']}")
    return {
        "as_of": dashboard["as_of"],
        "page": page,
        "artifacts": artifacts,
        "artifact_keys": ARTIFACT_KEYS,
        "patterns": patterns,
        "notified": [n["pattern_id"] for n in notified],
    }
