"""§14 on the dashboard: the at-risk queue, and churned accounts flagged before they asked
(and how many days before), worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from offboarding.dashboard.measures import DashboardData, compute_dashboard, empty_data
from offboarding.dashboard.page import render_page

AS_OF = datetime(2026, 6, 30, 12, tzinfo=UTC)


def _case(case_id: str, account: str, status: str, requested: str, completed: str | None):
    return {"case_id": case_id, "account_id": account, "status": status,
            "requested_at": requested, "completed_at": completed}  # fmt: skip


def _episode(account: str, cause: str, opened: str, level="high", resolved=None, told=True):
    return {"account_id": account, "cause": cause, "level": level, "opened_on": opened,
            "respond_by": f"{opened}T12:00:00+00:00", "resolved_at": resolved,
            "notified_at": f"{opened}T07:00:00+00:00" if told else None,
            "latest_evidence": f"{cause} evidence"}  # fmt: skip


def data() -> DashboardData:
    return DashboardData.from_records(
        cases=[
            # flagged 30 days before asking (the earliest of two episodes counts)
            _case("C1", "A", "closed", "2026-05-31T09:00:00+00:00", "2026-06-15T09:00:00+00:00"),
            # flagged, but 200 days before: too long ago to count as its warning
            _case("C2", "B", "purged", "2026-06-01T09:00:00+00:00", "2026-06-16T09:00:00+00:00"),
            # never flagged
            _case("C3", "C", "closed", "2026-06-02T09:00:00+00:00", "2026-06-17T09:00:00+00:00"),
            # flagged only after it asked: not "before"
            _case("C4", "D", "closed", "2026-06-03T09:00:00+00:00", "2026-06-18T09:00:00+00:00"),
            # saved: not churned
            _case("C5", "E", "saved", "2026-06-04T09:00:00+00:00", None),
        ],
        episodes=[
            _episode("A", "usage_drop", "2026-05-01", resolved="2026-05-20T00:00:00+00:00"),
            _episode("A", "champion_inactive", "2026-05-10", level="medium"),
            _episode("B", "health_decline", "2025-11-13"),
            _episode("D", "ticket_cluster", "2026-06-10"),
            _episode("E", "failed_login_burst", "2026-06-29", level="critical", told=False),
        ],
    )


def test_flagged_before_asking_and_how_many_days_before():
    f = compute_dashboard(data(), AS_OF)["flagged_before_asking"]
    assert (f["churned"], f["flagged"], f["share"]) == (4, 1, 0.25)
    assert f["median_days_before"] == 30
    assert f["rows"] == [
        {"case_id": "C1", "account_id": "A", "first_cause": "usage_drop", "days_before": 30}
    ]


def test_at_risk_queue_at_the_snapshot():
    r = compute_dashboard(data(), AS_OF)["at_risk"]
    assert (r["open"], r["accounts"], r["resolved"]) == (4, 4, 1)
    assert r["by_priority"] == {"critical": 1, "high": 2, "medium": 1, "low": 0}
    assert r["owners_told"] == 3 and r["past_response_target"] == 4
    assert [x["account_id"] for x in r["rows"]][0] == "E"  # the critical one first


def test_no_episodes_no_data_and_the_page_shows_the_section():
    empty = compute_dashboard(empty_data(), AS_OF)
    assert empty["flagged_before_asking"]["status"] == "no data"
    assert empty["at_risk"]["open"] == 0
    html = render_page(compute_dashboard(data(), AS_OF))
    assert 'id="at-risk"' in html and 'id="flagged-before-asking"' in html
    assert 'data-figure="flagged-share">25' in html
