"""§10 close-out as HubSpot and Slack see it: the properties, the note, the task, the texts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from offboarding.domain import Reason, ReasonCategory
from offboarding.integrations.closeout_rules import (
    carries_key,
    carries_slack_key,
    churn_text,
    closeout_facts,
    company_properties,
    escalation_text,
    headline,
    long_date,
    note_body,
    note_properties,
    slack_metadata,
    task_properties,
)
from tests.unit.conftest import make_account

KEY = "offboarding-C-1A2B3C4D-hubspot-closeout_note"
PLAN = {"closure_on": "2025-03-31", "deactivation_on": "2025-04-01", "purge_on": "2025-06-29"}


def recorded(tags: list[str], candidate: bool = True, remind: str | None = "2025-09-30") -> dict:
    return {
        "crm": {"status": "churned", "reason_tags": tags},
        "revenue": {"arr_closed": 20000.0, "mrr_closed": 1666.67, "currency": "USD"},
        "learnings": {"preventable": None, "missed_warning_signs": ""},
        "winback": {
            "candidate": candidate,
            "remind_on": remind if candidate else None,
            "why": "good candidate" if candidate else "structural churn (bankruptcy)",
        },
    }


def facts(reason: Reason, tags: list[str] | None = None, strategic: bool = False, **kw):
    account = make_account(strategic=strategic)
    return closeout_facts(
        "C-1A2B3C4D", account, reason, recorded(tags or [str(reason.category)], **kw), PLAN, None
    )


COMPETITOR = Reason(category=ReasonCategory.competitor, competitor_name="Rival & Co")
GAP = Reason(category=ReasonCategory.product_gap, detail="no SSO", product_gap="SSO")
CLOSURE = Reason(category=ReasonCategory.business_closure)


@pytest.mark.parametrize(
    "reason, expected",
    [
        (
            COMPETITOR,
            "Customer Acme Widgets churned on 31 March 2025. Reason: competitor. "
            "Moving to Rival & Co.",
        ),
        (
            GAP,
            "Customer Acme Widgets churned on 31 March 2025. Reason: product_gap (no SSO). "
            "No competitor named.",
        ),
        (
            CLOSURE,
            "Customer Acme Widgets churned on 31 March 2025. Reason: business_closure. "
            "No competitor named.",
        ),
    ],
)
def test_the_headline_is_the_playbook_sentence(reason: Reason, expected: str) -> None:
    assert headline(facts(reason)) == expected


@pytest.mark.parametrize(
    "d, text", [(date(2025, 3, 31), "31 March 2025"), (date(2026, 12, 1), "1 December 2026")]
)
def test_long_dates_do_not_depend_on_the_process_locale(d: date, text: str) -> None:
    assert long_date(d) == text


def test_company_properties_mark_churned_with_tags_date_and_revenue() -> None:
    props = company_properties(facts(COMPETITOR, ["competitor", "competitor:Rival & Co"]))
    assert props == {
        "offboarding_status": "churned",
        "offboarding_churn_reason": "competitor",
        "offboarding_churn_tags": "competitor;competitor:Rival & Co",
        "offboarding_churn_date": "2025-03-31",
        "offboarding_arr_closed": "20000",
        "offboarding_mrr_closed": "1666.67",
        "offboarding_currency": "USD",
        "offboarding_case_id": "C-1A2B3C4D",
        "offboarding_winback_candidate": "true",
        "offboarding_competitor": "Rival & Co",
        "offboarding_winback_remind_on": "2025-09-30",
    }
    assert all(isinstance(v, str) for v in props.values())


@pytest.mark.parametrize(
    "reason, candidate, absent",
    [
        (GAP, True, {"offboarding_competitor"}),
        (CLOSURE, False, {"offboarding_competitor", "offboarding_winback_remind_on"}),
    ],
)
def test_only_known_facts_are_sent(reason: Reason, candidate: bool, absent: set[str]) -> None:
    props = company_properties(facts(reason, candidate=candidate))
    assert not absent & set(props)
    assert props["offboarding_winback_candidate"] == ("true" if candidate else "false")


def test_the_note_says_why_and_what_happens_next_and_carries_the_key() -> None:
    body = note_body(facts(COMPETITOR), KEY)
    assert "Moving to Rival &amp; Co." in body, "HTML-escaped: hs_note_body is HTML"
    assert "access revoked everywhere on 1 April 2025" in body
    assert "deleted after retention on 29 June 2025" in body
    assert "win-back candidate, reminder on 30 September 2025" in body
    assert carries_key(body, KEY)
    props = note_properties(facts(COMPETITOR), KEY, datetime(2025, 3, 31, 9, 30, tzinfo=UTC))
    assert props["hs_timestamp"] == "2025-03-31T09:30:00.000Z"


@pytest.mark.parametrize(
    "text, key, found",
    [
        (f"<p>x offboarding key: {KEY}</p>", KEY, True),
        (f"offboarding key: {KEY}", KEY, True),
        (f"offboarding key: {KEY}-2", KEY, False),  # another step's key that starts the same
        (f"offboarding key: {KEY}", KEY + "x", False),
        ("no marker here", KEY, False),
        (None, KEY, False),
    ],
)
def test_a_body_carries_exactly_its_own_key(text: str | None, key: str, found: bool) -> None:
    assert carries_key(text, key) is found


@pytest.mark.parametrize(
    "strategic, owner, priority", [(False, "501", "MEDIUM"), (True, None, "HIGH")]
)
def test_the_winback_task_is_due_on_the_remind_date_for_the_owner(
    strategic: bool, owner: str | None, priority: str
) -> None:
    props = task_properties(facts(GAP, strategic=strategic), KEY, owner)
    assert props["hs_timestamp"] == "2025-09-30T12:00:00Z"
    assert props["hs_task_subject"] == "Win-back check-in: Acme Widgets"
    assert props["hs_task_status"] == "NOT_STARTED" and props["hs_task_type"] == "TODO"
    assert props["hs_task_priority"] == priority
    assert props.get("hubspot_owner_id") == owner
    assert carries_key(props["hs_task_body"], KEY)


def test_the_slack_churn_text_escapes_mrkdwn() -> None:
    text = churn_text(facts(COMPETITOR))
    first, second = text.split("\n")
    assert first == (
        "Customer Acme Widgets churned on 31 March 2025. Reason: competitor. "
        "Moving to Rival &amp; Co."
    )
    assert "ARR closed USD 20,000.00" in second and "reminder on 30 September 2025" in second
    assert "Case C-1A2B3C4D, owner Casey CSM." in second


def test_a_non_candidate_says_why() -> None:
    text = churn_text(facts(CLOSURE, candidate=False))
    assert "not a win-back candidate (structural churn (bankruptcy))" in text


@pytest.mark.parametrize(
    "escalation, contains",
    [
        (
            {"why": "finance rejected the plan", "waiting_for": "approval-finance",
             "comment": "refund <too> high", "command": "approve"},
            ["case C-1 for Acme is escalated: finance rejected the plan",
             'waits for "approval-finance"', "Last comment: refund &lt;too&gt; high",
             "`offboard approve C-1 --by YOUR_EMAIL`", "Owner: Casey CSM."],
        ),
        (
            {"why": "no decision on verification in time", "waiting_for": "verification",
             "command": "decide"},
            ["`offboard decide C-1 --by YOUR_EMAIL`"],
        ),
    ],
)  # fmt: skip
def test_the_escalation_text(escalation: dict, contains: list[str]) -> None:
    text = escalation_text("Acme", "C-1", "Casey CSM", escalation)
    for part in contains:
        assert part in text
    assert ("Last comment" in text) is bool(escalation.get("comment"))


def test_the_slack_key_rides_in_message_metadata() -> None:
    meta = slack_metadata(KEY)
    assert meta == {"event_type": "offboarding_notice", "event_payload": {"key": KEY}}
    assert carries_slack_key({"text": "x", "metadata": meta}, KEY)
    assert not carries_slack_key({"text": "x", "metadata": slack_metadata(KEY + "-2")}, KEY)
    assert not carries_slack_key({"text": KEY}, KEY), "the text is not the key's place"
    other = {"event_type": "something_else", "event_payload": {"key": KEY}}
    assert not carries_slack_key({"metadata": other}, KEY)
