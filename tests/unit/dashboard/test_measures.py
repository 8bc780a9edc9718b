"""Each §13 measure against figures worked out by hand on the fixed dataset of measures_fixtures.

The comments show the arithmetic, so a reader can check the expectation without the code.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from offboarding.dashboard import measures as kpi
from offboarding.dashboard.measures import DashboardData, compute_dashboard, empty_data
from tests.unit.dashboard.measures_fixtures import AS_OF, CASES, dataset, t


@pytest.fixture(scope="module")
def d() -> DashboardData:
    return dataset()


def test_open_requests(d: DashboardData) -> None:
    r = kpi.open_requests(d.cases, AS_OF)
    assert r["total"] == 3
    assert {k: v for k, v in r["by_status"].items() if v} == {
        "received": 1,
        "awaiting_approval": 1,
        "offboarding": 1,
    }
    assert r["oldest_days"] == 5.5  # C6: 2025-03-15 00:00 -> 2025-03-20 12:00
    assert r["overdue_decisions"] == 1  # C6 was due 2025-03-17
    assert r["unacknowledged_over_target"] == 1  # C7, requested 60 h ago


def test_processing_time(d: DashboardData) -> None:
    r = kpi.processing_time(d.cases, AS_OF)
    # churned: C3 7 d, C1 10 d, C10 12 d, C9 15 d, C2 20 d (saved / misrouted / open excluded)
    assert r["n"] == 5
    assert r["median_days"] == 12.0
    assert r["p90_days"] == 18.0  # position 0.9 * 4 = 3.6: 15 + 0.6 * (20 - 15)
    assert r["within_target_share"] == 0.6  # 7, 10, 12 of 5
    assert r["status"] == "met"  # median 12 <= 14
    counts = {h["bin"]: h["count"] for h in r["histogram"]}
    assert counts == {"0–3": 0, "3–7": 0, "7–10": 1, "10–14": 2, "14–21": 2, "21–30": 0, "30+": 0}


def test_processing_time_in_a_period(d: DashboardData) -> None:
    r = kpi.processing_time(d.cases, AS_OF, since=t("2025-01-01 00:00"))
    assert (r["n"], r["median_days"], r["p90_days"]) == (3, 10.0, 18.0)  # 7, 10, 20


def test_acknowledgement_time(d: DashboardData) -> None:
    r = kpi.acknowledgement_time(d.cases, AS_OF)
    # hours: 0.5 1 2 3 4 5 8 10 30 (C7 never acknowledged)
    assert r["n"] == 9
    assert r["median_hours"] == 4.0
    assert r["p90_hours"] == 14.0  # position 7.2: 10 + 0.2 * (30 - 10)
    assert r["unacknowledged_over_target"] == 1
    assert r["within_target_share"] == 0.8  # 8 within 24 h of 9 acknowledged + 1 late open
    assert r["status"] == "missed"  # below 95 %


def test_export_delivery(d: DashboardData) -> None:
    r = kpi.export_delivery(d.exports, AS_OF)
    # delivered after 24, 36, 72, 96 h
    assert r["n"] == 4
    assert r["median_hours"] == 54.0
    assert r["p90_hours"] == 88.8  # position 2.7: 72 + 0.7 * 24
    assert r["within_48h_share"] == 0.5
    assert r["within_72h_share"] == 0.75
    assert r["pending"] == 2
    assert r["pending_over_72h"] == 1  # E5 waits 10.5 days; E4 only 24 h
    assert r["status"] == "missed"


def test_feedback_response_counts_declines_apart(d: DashboardData) -> None:
    r = kpi.feedback_response(d.cases, d.feedback, AS_OF)
    # churned C1 C2 C3 C9 C10: answered C1 C3 C9 (C9 declined first, answered later),
    # declined C2, nothing from C10
    assert (r["churned"], r["answered"], r["declined"], r["no_answer"]) == (5, 3, 1, 1)
    assert r["response_rate"] == 0.6
    assert r["declined_rate"] == 0.2
    assert r["status"] == "met"


def test_feedback_response_in_a_period(d: DashboardData) -> None:
    r = kpi.feedback_response(d.cases, d.feedback, AS_OF, since=t("2025-01-01 00:00"))
    assert (r["churned"], r["answered"], r["declined"]) == (3, 2, 1)
    assert r["response_rate"] == 0.6667


def test_save_rate(d: DashboardData) -> None:
    r = kpi.save_rate(d.save_attempts, AS_OF)
    # attempted C2 (not saved), C4 (saved), C6 (declined the conversation), C9 (two, not saved)
    assert (r["attempted"], r["saved"], r["not_saved"], r["declined_conversation"]) == (4, 1, 2, 1)
    assert r["conversations"] == 5
    assert r["save_rate"] == 0.25
    assert r["status"] == "met"
    later = kpi.save_rate(d.save_attempts, AS_OF, since=t("2025-01-01 00:00"))
    assert (later["attempted"], later["save_rate"]) == (3, 0.3333)


def test_satisfaction(d: DashboardData) -> None:
    r = kpi.satisfaction(d.feedback, AS_OF)
    assert r["n"] == 3  # 8, 6, 9
    assert r["mean"] == 7.67
    assert r["median"] == 8.0
    assert r["share_7_plus"] == 0.6667
    assert r["status"] == "met"


def test_nps_of_former_customers(d: DashboardData) -> None:
    r = kpi.nps(d.feedback, d.cases, AS_OF)
    # A1 9 (promoter), A3 5 (detractor), A9 10 (promoter): 100 * (2 - 1) / 3
    assert (r["n"], r["promoters"], r["passives"], r["detractors"]) == (3, 2, 0, 1)
    assert r["nps"] == 33.3


def test_winback_rates(d: DashboardData) -> None:
    r = kpi.winback_rates(d.cases, d.returns, AS_OF)
    by = {h["months"]: h for h in r["horizons"]}
    # 12: C9 (closed 2024-01-20, back 2024-11-01) and C10 (closed 2022-01-13, back 2024-06-01)
    assert (by[12]["eligible"], by[12]["returned"], by[12]["rate"]) == (2, 1, 0.5)
    # 24: only C10 is old enough, back after 29 months
    assert (by[24]["eligible"], by[24]["returned"], by[24]["rate"]) == (1, 0, 0.0)
    # 36: C10 again, back within 36 months
    assert (by[36]["eligible"], by[36]["returned"], by[36]["rate"]) == (1, 1, 1.0)
    assert r["churned"] == 5
    assert r["returned_so_far"] == 2  # A2's "return" predates its churn: not counted


def test_winback_month_ends_and_same_day_return() -> None:
    cases = [
        {**CASES[0], "case_id": "X", "account_id": "A", "closed_on": "2024-01-31"},
    ]
    returns = [{"account_id": "A", "returned_on": "2025-01-31"}]
    data = DashboardData.from_records(cases=cases, returns=returns)
    r = kpi.winback_rates(data.cases, data.returns, t("2025-02-01 00:00"))
    assert r["horizons"][0] == {"months": 12, "eligible": 1, "returned": 1, "rate": 1.0}
    same_day = DashboardData.from_records(
        cases=cases, returns=[{"account_id": "A", "returned_on": "2024-01-31"}]
    )
    r = kpi.winback_rates(same_day.cases, same_day.returns, t("2025-02-01 00:00"))
    assert r["horizons"][0]["returned"] == 1


def test_reengagement_candidates(d: DashboardData) -> None:
    r = kpi.reengagement_candidates(d.cases, d.signals, AS_OF)
    assert (r["candidates"], r["due_within_30_days"], r["signalled_accounts"]) == (3, 2, 1)
    assert [x["case_id"] for x in r["rows"]] == ["C9", "C2", "C1"]  # by reminder date
    assert [x["due"] for x in r["rows"]] == [True, True, False]
    assert r["rows"][2]["feature_shipped_signal"] is True


def test_reason_analytics(d: DashboardData) -> None:
    r = kpi.reason_analytics(d.cases, AS_OF)
    assert r["churned"] == 5
    assert r["by_category"] == {"product_gap": 2, "cost": 1, "competitor": 1, "bankruptcy": 1}
    assert r["by_segment"]["product_gap"] == {"enterprise": 1, "mid-market": 0, "smb": 1}
    assert r["by_segment"]["competitor"]["enterprise"] == 1
    assert r["churned_arr_by_reason"] == {
        "competitor": 150_000.0,
        "product_gap": 123_000.0,
        "cost": 20_000.0,
        "bankruptcy": 2_000.0,
    }
    assert r["churned_arr"] == 295_000.0
    assert r["preventable"] == {"judged": 4, "preventable": 2, "unknown": 1, "share": 0.5}
    signs = r["missed_warning_signs"]
    assert (signs["cases"], signs["share"]) == (3, 0.6)
    # "champion stopped logging in" and "Champion stopped logging in." are one sign
    assert [(s["key"], s["count"]) for s in signs["top"]] == [
        ("champion logging stopped", 2),
        ("fell usage", 1),
    ]
    months = {m["month"]: m["counts"] for m in r["by_month"]}
    assert len(months) == 12 and min(months) == "2024-04" and max(months) == "2025-03"
    assert months["2025-01"] == {"cost": 1}
    assert months["2025-02"] == {"product_gap": 1}
    assert months["2025-03"] == {"product_gap": 1}
    assert sum(len(c) for c in months.values()) == 3  # C9 and C10 are older than 12 months


def test_spot_check_sample_is_last_weeks_customer_messages(d: DashboardData) -> None:
    r = kpi.spot_check_sample(d.messages, AS_OF)
    assert r["week"] == "2025-W12"
    # C6 and C8 acknowledgements and C8's plan; not the internal escalation nor tomorrow's
    assert r["sent_this_week"] == 3
    assert sorted((m["case_id"], m["kind"]) for m in r["sample"]) == [
        ("C6", "acknowledgement"),
        ("C8", "acknowledgement"),
        ("C8", "offboarding_plan"),
    ]
    two = kpi.spot_check_sample(d.messages, AS_OF, k=2)
    assert len(two["sample"]) == 2
    # the same sample all week long, so reviewers can share the work
    later = kpi.spot_check_sample(d.messages, t("2025-03-20 12:30"), k=2)
    assert later["sample"] == two["sample"]


def test_theme_summary(d: DashboardData) -> None:
    r = kpi.theme_summary(d.cases, d.feedback, d.interviews, AS_OF)
    assert r["month"] == "2025-03"
    assert (r["responses"], r["declined"], r["interviews_held"]) == (1, 0, 1)
    assert r["reason_categories"] == {"product_gap": 1}
    # the case's reason and the survey answer both name the gap
    assert [(g["label"], g["count"]) for g in r["product_gaps"]] == [("SAML SSO", 2)]
    assert r["service_issues"] == []
    # "saml" in the survey answer and the interview notes; once per answer
    assert r["recurring_terms"][0] == {"term": "saml", "count": 2}
    assert {x["term"] for x in r["recurring_terms"]} >= {"needed", "ship", "blocker"}
    assert r["quotes"] == [{"case_id": "C1", "text": "Ship SAML single sign-on sooner"}]


def test_process_audit_lists_cases_with_a_missing_step(d: DashboardData) -> None:
    r = kpi.process_audit(d.cases, d.steps, d.messages, AS_OF)
    assert r["quarter"] == "2025-Q1"
    assert r["audited"] == 5  # C1 C2 C3 C4 C5 finished this quarter
    assert r["with_missing"] == 3
    assert r["complete_share"] == 0.4
    assert [(x["case_id"], x["missing"]) for x in r["rows"]] == [
        ("C2", ["step:purge"]),
        ("C5", ["message:back_to_support"]),
        ("C1", ["message:executive_note"]),  # strategic account: the executive note
    ]


def test_compute_dashboard_has_every_measure_with_its_definition(d: DashboardData) -> None:
    out = compute_dashboard(d, AS_OF)
    for key in (
        "open_requests",
        "processing_time",
        "acknowledgement_time",
        "export_delivery",
        "feedback_response",
        "save_rate",
        "satisfaction",
        "winback",
        "nps",
        "reengagement",
        "reasons",
        "spot_check",
        "themes",
        "audit",
    ):
        assert key in out
    assert set(kpi.DEFINITIONS) >= {
        "processing_time",
        "feedback_response",
        "save_rate",
        "winback",
        "nps",
        "spot_check",
        "themes",
        "audit",
    }
    assert out["save_rate"]["save_rate"] == 0.25
    import json

    json.dumps(out)  # JSON-ready: the CLI and the artifacts print it as is


# -- edge cases ------------------------------------------------------------------------------


def test_no_cases_at_all() -> None:
    out = compute_dashboard(empty_data(), AS_OF)
    assert out["open_requests"]["total"] == 0
    assert out["open_requests"]["oldest_days"] is None
    for key, value in (
        ("processing_time", "median_days"),
        ("acknowledgement_time", "median_hours"),
        ("export_delivery", "p90_hours"),
        ("feedback_response", "response_rate"),
        ("save_rate", "save_rate"),
        ("satisfaction", "mean"),
        ("nps", "nps"),
    ):
        assert out[key][value] is None, key
        assert out[key]["status"] == "no data", key
    assert all(h["rate"] is None for h in out["winback"]["horizons"])
    assert out["reasons"]["churned"] == 0
    assert out["reasons"]["preventable"]["share"] is None
    assert out["spot_check"]["sample"] == []
    assert out["audit"]["audited"] == 0 and out["audit"]["complete_share"] is None
    assert out["reengagement"]["candidates"] == 0


def _closed(case_id: str, account: str) -> dict:
    return {
        **CASES[0],
        "case_id": case_id,
        "account_id": account,
        "status": "closed",
        "winback_candidate": False,
    }


def test_all_declined() -> None:
    data = DashboardData.from_records(
        cases=[_closed("K1", "A1"), _closed("K2", "A2")],
        feedback=[
            {
                "response_id": "d1",
                "case_id": "K1",
                "status": "declined",
                "responded_at": t("2025-03-12"),
            },
            {
                "response_id": "d2",
                "case_id": "K2",
                "status": "declined",
                "responded_at": t("2025-03-13"),
            },
        ],  # fmt: skip
        save_attempts=[
            {
                "case_id": "K1",
                "number": 1,
                "outcome": "declined_conversation",
                "at": t("2025-03-02"),
            },
            {
                "case_id": "K2",
                "number": 1,
                "outcome": "declined_conversation",
                "at": t("2025-03-02"),
            },
        ],  # fmt: skip
    )
    out = compute_dashboard(data, AS_OF)
    fb = out["feedback_response"]
    assert (fb["churned"], fb["answered"], fb["declined"], fb["no_answer"]) == (2, 0, 2, 0)
    assert fb["response_rate"] == 0.0 and fb["declined_rate"] == 1.0
    assert fb["status"] == "missed"
    assert out["satisfaction"]["n"] == 0 and out["satisfaction"]["status"] == "no data"
    assert out["nps"]["nps"] is None
    assert out["save_rate"]["save_rate"] == 0.0
    assert out["save_rate"]["declined_conversation"] == 2
    assert out["themes"]["declined"] == 2 and out["themes"]["responses"] == 0


def test_cases_still_open() -> None:
    data = DashboardData.from_records(
        cases=[c for c in CASES if c["case_id"] in {"C6", "C7", "C8"}]
    )
    out = compute_dashboard(data, AS_OF)
    assert out["open_requests"]["total"] == 3
    assert out["processing_time"]["n"] == 0 and out["processing_time"]["median_days"] is None
    assert out["feedback_response"]["churned"] == 0
    assert out["feedback_response"]["response_rate"] is None
    assert out["reasons"]["churned"] == 0
    assert out["audit"]["audited"] == 0
    assert out["winback"]["churned"] == 0
    # their acknowledgements still count: C6 4 h, C8 10 h, C7 late
    ack = out["acknowledgement_time"]
    assert (ack["n"], ack["unacknowledged_over_target"], ack["within_target_share"]) == (
        2,
        1,
        0.6667,
    )


def test_rows_after_as_of_are_ignored(d: DashboardData) -> None:
    before = compute_dashboard(d, datetime(2025, 1, 31, tzinfo=UTC))
    # on 2025-01-31 only C9, C10 (long ago) and C2 (01-30) had closed
    assert before["processing_time"]["n"] == 3
    assert before["feedback_response"]["answered"] == 1  # C9's; C1 and C3 answered later
    assert before["acknowledgement_time"]["n"] == 3  # C10, C9, C2
    assert before["export_delivery"]["n"] == 2  # E6, E2
    # C2 asked at 00:00 on 2025-01-10 and was acknowledged the next day: not yet at noon
    noon = compute_dashboard(d, datetime(2025, 1, 10, 12, tzinfo=UTC))
    assert noon["acknowledgement_time"]["n"] == 2
    assert noon["acknowledgement_time"]["unacknowledged_over_target"] == 0  # only 12 h old
    e2_pending = compute_dashboard(d, datetime(2025, 1, 12, tzinfo=UTC))["export_delivery"]
    assert (e2_pending["n"], e2_pending["pending"]) == (1, 1)
