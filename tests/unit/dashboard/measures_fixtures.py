"""A small fixed dataset for the §13 measures; every expected figure is worked out by hand in
tests/unit/test_kpi.py. As of Thursday 2025-03-20 12:00 UTC (ISO week 2025-W12, Q1)."""

from __future__ import annotations

from datetime import UTC, datetime

from offboarding.dashboard.measures import REQUIRED_MESSAGES, REQUIRED_STEPS, DashboardData

AS_OF = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)


def t(s: str) -> datetime:
    """'2025-03-01 09:00' -> an aware UTC datetime."""
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


ACCOUNTS = {
    # account: (name, segment, arr, strategic)
    "A1": ("Alpha", "enterprise", 120_000.0, True),
    "A2": ("Bravo", "mid-market", 20_000.0, False),
    "A3": ("Charlie", "smb", 3_000.0, False),
    "A4": ("Delta", "mid-market", 40_000.0, False),
    "A5": ("Echo", "smb", 1_000.0, False),
    "A6": ("Foxtrot", "enterprise", 200_000.0, True),
    "A7": ("Golf", "mid-market", 30_000.0, False),
    "A8": ("Hotel", "smb", 4_000.0, False),
    "A9": ("India", "enterprise", 150_000.0, True),
    "A10": ("Juliet", "smb", 2_000.0, False),
}


def _case(case_id: str, account: str, status: str, requested: str, **kw) -> dict:
    name, segment, arr, strategic = ACCOUNTS[account]
    row = {
        "case_id": case_id,
        "account_id": account,
        "account_name": name,
        "segment": segment,
        "arr": arr,
        "strategic": strategic,
        "status": status,
        "requested_at": t(requested),
        "acknowledged_at": None,
        "completed_at": None,
        "closed_on": None,
        "reason_category": None,
        "reason_detail": "",
        "product_gap": None,
        "preventable": None,
        "missed_warning_signs": "",
        "winback_candidate": False,
        "winback_remind_on": None,
        "waiting_for": None,
        "decision_due": None,
    }
    for k, v in kw.items():
        row[k] = t(v) if k in {"acknowledged_at", "completed_at", "decision_due"} and v else v
    return row


CASES = [
    # closed in 10 days, acknowledged in 3 h; SSO gap; preventable
    _case(
        "C1",
        "A1",
        "closed",
        "2025-03-01 09:00",
        acknowledged_at="2025-03-01 12:00",
        completed_at="2025-03-11 09:00",
        closed_on="2025-03-11",
        reason_category="product_gap",
        product_gap="SAML SSO",
        preventable=True,
        missed_warning_signs="champion stopped logging in",
        winback_candidate=True,
        winback_remind_on="2025-09-11",
    ),
    # purged; 20 days; acknowledged late (30 h)
    _case(
        "C2",
        "A2",
        "purged",
        "2025-01-10 00:00",
        acknowledged_at="2025-01-11 06:00",
        completed_at="2025-01-30 00:00",
        closed_on="2025-01-30",
        reason_category="cost",
        preventable=False,
        winback_candidate=True,
        winback_remind_on="2025-04-10",
    ),
    # closed in 7 days; the same gap in other words; preventable not judged
    _case(
        "C3",
        "A3",
        "closed",
        "2025-02-01 00:00",
        acknowledged_at="2025-02-01 01:00",
        completed_at="2025-02-08 00:00",
        closed_on="2025-02-08",
        reason_category="product_gap",
        product_gap="sso (SAML)",
        missed_warning_signs="usage fell",
    ),
    _case(
        "C4",
        "A4",
        "saved",
        "2025-03-05 00:00",
        acknowledged_at="2025-03-05 02:00",
        completed_at="2025-03-07 00:00",
        reason_category="cost",
    ),
    _case(
        "C5",
        "A5",
        "not_a_cancellation",
        "2025-03-10 00:00",
        acknowledged_at="2025-03-10 00:30",
        completed_at="2025-03-10 05:00",
        reason_category="not_a_cancellation",
    ),
    # open: waiting for a manager since before its deadline (2025-03-17)
    _case(
        "C6",
        "A6",
        "awaiting_approval",
        "2025-03-15 00:00",
        acknowledged_at="2025-03-15 04:00",
        reason_category="competitor",
        waiting_for="approval-manager",
        decision_due="2025-03-17 00:00",
    ),
    # open and never acknowledged: 60 h late at AS_OF
    _case("C7", "A7", "received", "2025-03-18 00:00"),
    _case(
        "C8",
        "A8",
        "offboarding",
        "2025-03-19 00:00",
        acknowledged_at="2025-03-19 10:00",
        reason_category="experience",
        reason_detail="support unreachable",
    ),
    # churned over a year ago, back after 9 months
    _case(
        "C9",
        "A9",
        "closed",
        "2024-01-05 00:00",
        acknowledged_at="2024-01-05 05:00",
        completed_at="2024-01-20 00:00",
        closed_on="2024-01-20",
        reason_category="competitor",
        preventable=True,
        missed_warning_signs="Champion stopped logging in.",
        winback_candidate=True,
        winback_remind_on="2024-07-20",
    ),
    # churned three years ago, back after 29 months
    _case(
        "C10",
        "A10",
        "purged",
        "2022-01-01 00:00",
        acknowledged_at="2022-01-01 08:00",
        completed_at="2022-01-13 00:00",
        closed_on="2022-01-13",
        reason_category="bankruptcy",
        preventable=False,
    ),
]

SAVE_ATTEMPTS = [
    {"case_id": "C4", "number": 1, "outcome": "saved", "at": t("2025-03-06 00:00")},
    {"case_id": "C2", "number": 1, "outcome": "not_saved", "at": t("2025-01-12 00:00")},
    {"case_id": "C6", "number": 1, "outcome": "declined_conversation", "at": t("2025-03-16 00:00")},
    {"case_id": "C9", "number": 1, "outcome": "not_saved", "at": t("2024-01-08 00:00")},
    {"case_id": "C9", "number": 2, "outcome": "not_saved", "at": t("2024-01-10 00:00")},
]

EXPORTS = [
    {"export_id": "E1", "case_id": "C1", "requested_at": t("2025-03-02 00:00"),
     "delivered_at": t("2025-03-03 12:00")},  # 36 h
    {"export_id": "E2", "case_id": "C2", "requested_at": t("2025-01-11 00:00"),
     "delivered_at": t("2025-01-14 00:00")},  # 72 h
    {"export_id": "E3", "case_id": "C3", "requested_at": t("2025-02-02 00:00"),
     "delivered_at": t("2025-02-03 00:00")},  # 24 h
    {"export_id": "E4", "case_id": "C8", "requested_at": t("2025-03-19 12:00"),
     "delivered_at": None},  # pending 24 h
    {"export_id": "E5", "case_id": None, "requested_at": t("2025-03-10 00:00"),
     "delivered_at": None},  # standalone, pending 10.5 days
    {"export_id": "E6", "case_id": "C9", "requested_at": t("2024-01-06 00:00"),
     "delivered_at": t("2024-01-10 00:00")},  # 96 h
]  # fmt: skip

FEEDBACK = [
    {
        "response_id": "R1",
        "case_id": "C1",
        "status": "answered",
        "responded_at": t("2025-03-12 10:00"),
        "satisfaction": 8,
        "recommend_score": 9,
        "main_reason": "needed SSO",
        "could_do_better": "Ship SAML single sign-on sooner",
        "recommend_why": "",
        "product_gap": "SAML SSO",
        "service_issue": None,
    },
    {"response_id": "R2", "case_id": "C2", "status": "declined", "responded_at": t("2025-02-01")},
    {
        "response_id": "R3",
        "case_id": "C3",
        "status": "answered",
        "responded_at": t("2025-02-10 00:00"),
        "satisfaction": 6,
        "recommend_score": 5,
        "could_do_better": "cheaper plan for small teams",
    },
    # C9 declined first, then answered: the latest record counts
    {"response_id": "R4", "case_id": "C9", "status": "declined", "responded_at": t("2024-01-25")},
    {
        "response_id": "R5",
        "case_id": "C9",
        "status": "answered",
        "responded_at": t("2024-02-01 00:00"),
        "satisfaction": 9,
        "recommend_score": 10,
    },
]

INTERVIEWS = [
    {
        "case_id": "C1",
        "status": "held",
        "facilitator": "neutral@example.com",
        "facilitator_neutral": True,
        "held_at": t("2025-03-13 15:00"),
        "notes": "SAML was the blocker",
    }
]

RETURNS = [
    {"account_id": "A9", "returned_on": t("2024-11-01")},
    {"account_id": "A10", "returned_on": t("2024-06-01")},
    {"account_id": "A2", "returned_on": t("2024-06-01")},  # before its churn: not a return
]

SIGNALS = [
    {"account_id": "A1", "kind": "feature_shipped", "source_key": "PAT-1",
     "observed_at": t("2025-03-15")},
]  # fmt: skip

#: Cases of the quarter with something deliberately missing (see the audit test).
OMIT = {
    "C1": {"message:executive_note"},  # strategic: the executive note is required
    "C2": {"step:purge"},
    "C5": {"message:back_to_support"},
}


def _records() -> tuple[list[dict], list[dict]]:
    steps, messages = [], []
    for c in CASES:
        status = c["status"]
        omit = OMIT.get(c["case_id"], set())
        for s in REQUIRED_STEPS.get(status, ("intake", "acknowledge")):
            if f"step:{s}" not in omit:
                steps.append({"case_id": c["case_id"], "step": s})
        for k in REQUIRED_MESSAGES.get(status, ()):
            if f"message:{k}" not in omit:
                when = c["completed_at"] or c["requested_at"]
                messages.append({"case_id": c["case_id"], "kind": k, "sent_at": when})
    # last week's messages (the spot check): 3 customer messages, one internal, one future
    messages += [
        {"case_id": "C6", "kind": "acknowledgement", "sent_at": t("2025-03-15 04:00"),
         "subject": "We received your request"},
        {"case_id": "C6", "kind": "escalation_notice", "sent_at": t("2025-03-17 00:00"),
         "subject": "Approval overdue"},
        {"case_id": "C8", "kind": "acknowledgement", "sent_at": t("2025-03-19 10:00"),
         "subject": "We received your request"},
        {"case_id": "C8", "kind": "offboarding_plan", "sent_at": t("2025-03-19 12:00"),
         "subject": "Your offboarding plan"},
        {"case_id": "C8", "kind": "export_ready", "sent_at": t("2025-03-21 12:00"),
         "subject": "Your export"},
    ]  # fmt: skip
    for i, m in enumerate(messages, start=1):
        m["message_id"] = i
    return steps, messages


def dataset() -> DashboardData:
    steps, messages = _records()
    return DashboardData.from_records(
        cases=CASES,
        save_attempts=SAVE_ATTEMPTS,
        messages=messages,
        exports=EXPORTS,
        steps=steps,
        feedback=FEEDBACK,
        interviews=INTERVIEWS,
        returns=RETURNS,
        signals=SIGNALS,
    )
