"""Slack team notices through the real `slack_sdk.WebClient` against the local Slack sandbox:
the §10 churn message at the internal close-out and escalations to the managers' channel,
each posted once; 429 + Retry-After, 500s, `ok: false` refusals, a lost worker and a lost
answer (reconciled through conversations.history and our key in the message metadata)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from offboard.vendor_sandbox.slack import Reply, SlackSandbox
from offboarding.domain import Reason, ReasonCategory
from offboarding.integrations import ledger, slack_notice
from offboarding.integrations.errors import CallBlocked, VendorThrottled
from offboarding.integrations.settings import integration_settings
from tasks import stages
from tasks.common import is_transient
from tasks.decisions import notify_escalation
from tasks.integrations import idempotency_key
from tests.integration.closeout_env import (
    age_claim,
    attention,
    call_row,
    closed_case,
    dies_before_done,
    outcomes,
    retried,
)
from tests.integration.comms_env import comms_env, open_test_case

pytestmark = pytest.mark.integration

CHURN, MANAGERS = "C0CHURN", "C0MANAGERS"
COMPETITOR = Reason(category=ReasonCategory.competitor, competitor_name="Rival")


@pytest.fixture
def sb() -> Iterator[SlackSandbox]:
    with SlackSandbox() as server:
        server.add_channel(CHURN, "churn")
        server.add_channel(MANAGERS, "cs-managers")
        yield server


def slack_env(tmp_path: Path, sb: SlackSandbox, **extra: str):  # noqa: ANN201
    keys = {"SLACK_BOT_TOKEN": sb.token, "OFFBOARDING_SLACK_API_URL": sb.url,
            "OFFBOARDING_SLACK_CHANNEL": CHURN, "OFFBOARDING_SLACK_ESCALATION_CHANNEL": MANAGERS,
            "HUBSPOT_ACCESS_TOKEN": "", **extra}  # fmt: skip
    return comms_env(tmp_path, f"sqlite:///{tmp_path / 'offboarding.db'}", **keys)


@pytest.fixture
def env(tmp_path: Path, sb: SlackSandbox) -> Iterator[str]:
    integration_settings.cache_clear()
    try:
        with slack_env(tmp_path, sb):
            yield f"sqlite:///{tmp_path / 'offboarding.db'}"
    finally:
        integration_settings.cache_clear()


def closeout(case_id: str) -> dict:
    return stages.internal_closeout.fn(case_id)


def posts(sb: SlackSandbox) -> list:
    return sb.calls("chat.postMessage")


def test_the_churn_notice_is_posted_once_and_reads_back(env: str, sb: SlackSandbox) -> None:
    case_id = closed_case("GLOBEX-ENT", "SL-HAPPY", COMPETITOR)
    for _ in range(2):  # a rerun or resume: the ledger answers, Slack hears nothing new
        result = closeout(case_id)
    history = WebClient(token=sb.token, base_url=sb.url).conversations_history(
        channel=CHURN, include_all_metadata=True
    )
    (message,) = history["messages"]
    assert message["text"].startswith("Customer Globex")
    assert (
        " churned on " in message["text"]
        and "Reason: competitor. Moving to Rival." in (message["text"])
    )
    assert f"Case {case_id}" in message["text"]
    assert message["metadata"] == {
        "event_type": "offboarding_notice",
        "event_payload": {"key": idempotency_key(case_id, "slack", "churn_notice")},
    }
    (post,) = posts(sb)
    assert post.headers["Authorization"] == f"Bearer {sb.token}"
    assert post.args["channel"] == CHURN and post.args["unfurl_links"] is False
    assert result["vendors"]["slack"] == {"channel": CHURN, "ts": message["ts"]}
    assert outcomes(case_id, "slack", "churn_notice") == [("accepted", None)]
    assert sb.messages(MANAGERS) == []


def test_an_escalation_goes_to_the_managers_channel_once(env: str, sb: SlackSandbox) -> None:
    case_id = open_test_case("ACME-SMB", "SL-ESC")
    for _ in range(2):
        sent = notify_escalation.fn(case_id, "approval-finance", "finance rejected the plan",
                                    "refund too high")  # fmt: skip
    assert sent["kind"] == "escalation_notice", "the escalation email goes as before"
    (message,) = sb.messages(MANAGERS)
    assert f"Escalation: case {case_id} for Acme Bakeries is escalated" in message["text"]
    assert "Last comment: refund too high" in message["text"]
    assert f"`offboard approve {case_id} --by YOUR_EMAIL`" in message["text"]
    key = idempotency_key(case_id, "slack", "escalation-approval-finance")
    assert message["metadata"]["event_payload"] == {"key": key}
    assert sb.messages(CHURN) == [] and len(posts(sb)) == 1


def test_without_an_escalation_channel_escalations_stay_email_only(
    tmp_path: Path, sb: SlackSandbox
) -> None:
    integration_settings.cache_clear()
    try:
        with slack_env(tmp_path, sb, OFFBOARDING_SLACK_ESCALATION_CHANNEL=""):
            case_id = open_test_case("ACME-SMB", "SL-ESC-OFF")
            notify_escalation.fn(case_id, "verification", "no decision on verification in time")
            assert call_row(case_id, "slack", "escalation-verification") is None
    finally:
        integration_settings.cache_clear()
    assert sb.requests == []


def test_429_waits_for_retry_after(env: str, sb: SlackSandbox) -> None:
    case_id = closed_case("ACME-SMB", "SL-429", COMPETITOR)
    sb.script([Reply.ratelimited(1, match="chat.postMessage")])
    with pytest.raises(VendorThrottled) as first:
        closeout(case_id)
    assert is_transient(first.value) and first.value.retry_after == 1
    closeout(case_id)  # the task retry: the ledger holds it back until Retry-After has passed
    assert [p.status for p in posts(sb)] == [429, 200]
    gap = posts(sb)[1].at - posts(sb)[0].at
    assert gap >= 1.0, f"retried {gap:.2f}s after a 429 asking for 1s"
    assert len(sb.messages(CHURN)) == 1
    assert outcomes(case_id, "slack", "churn_notice") == [("throttled", 429), ("accepted", None)]


def test_500_is_retried_and_posts_once(env: str, sb: SlackSandbox) -> None:
    case_id = closed_case("ACME-SMB", "SL-500", COMPETITOR)
    sb.script([Reply(500, match="chat.postMessage"),
               Reply.error("service_unavailable", match="chat.postMessage")])  # fmt: skip
    retried(lambda: closeout(case_id))
    assert [p.status for p in posts(sb)] == [500, 200, 200]
    assert len(sb.messages(CHURN)) == 1
    assert outcomes(case_id, "slack", "churn_notice") == [
        ("unavailable", 500),
        ("unavailable", 200),
        ("accepted", None),
    ]


def test_ok_false_marks_the_case_with_slacks_error_and_is_not_retried(
    tmp_path: Path, sb: SlackSandbox
) -> None:
    integration_settings.cache_clear()
    try:
        with slack_env(tmp_path, sb, OFFBOARDING_SLACK_CHANNEL="C0GONE"):
            case_id = closed_case("ACME-SMB", "SL-404", COMPETITOR)
            with pytest.raises(CallBlocked) as caught:
                retried(lambda: closeout(case_id))
            assert not is_transient(caught.value)
            assert attention(case_id) == (
                "slack churn_notice: slack refused (200): channel_not_found"
            )
            with pytest.raises(CallBlocked, match="offboard integrations release"):
                closeout(case_id)  # the sweeper's rerun: blocked until a person releases it
            assert len(posts(sb)) == 1
            assert call_row(case_id, "slack", "churn_notice").status == "failed"
    finally:
        integration_settings.cache_clear()


def test_a_refused_escalation_flags_the_case_but_the_run_goes_on(
    env: str, sb: SlackSandbox
) -> None:
    case_id = open_test_case("ACME-SMB", "SL-ESC-403")
    sb.script([Reply.error("not_in_channel", match="chat.postMessage")])
    sent = notify_escalation.fn(case_id, "verification", "no decision on verification in time")
    assert sent["kind"] == "escalation_notice", "the escalation email went all the same"
    assert "slack escalation-verification: slack refused (200): not_in_channel" in (
        attention(case_id)
    )


def test_a_lost_worker_after_the_post_is_reconciled_never_a_second_message(
    env: str, sb: SlackSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = closed_case("ACME-SMB", "SL-LOST", COMPETITOR)
    with monkeypatch.context() as mp:
        mp.setattr(ledger, "complete", dies_before_done("churn_notice"))
        with pytest.raises(SystemExit):
            closeout(case_id)
    for i in range(250):  # the channel moves on: our message is on the second page
        sb.add_message(CHURN, f"chatter {i}")
    with pytest.raises(ledger.CallInFlight):  # within the lease: maybe still going
        closeout(case_id)
    age_claim(case_id, "slack", "churn_notice")
    closeout(case_id)
    ours = [m for m in sb.messages(CHURN) if m.get("bot_id")]
    assert len(ours) == 1 and len(posts(sb)) == 1, "reconciled, not posted again"
    history = sb.calls("conversations.history")
    assert len(history) == 2 and history[1].args["cursor"] == "200"
    row = call_row(case_id, "slack", "churn_notice")
    assert row.status == "done" and row.result == {
        "channel": CHURN,
        "ts": ours[0]["ts"],
        "reconciled": True,
    }


def test_a_lost_answer_is_reconciled_after_the_lease(env: str, sb: SlackSandbox) -> None:
    case_id = closed_case("ACME-SMB", "SL-DROP", COMPETITOR)
    sb.script([Reply(act=True, drop=True, match="chat.postMessage")])
    with pytest.raises(slack_notice.OutcomeUnknown) as lost:
        closeout(case_id)
    assert is_transient(lost.value)
    assert len(sb.messages(CHURN)) == 1
    age_claim(case_id, "slack", "churn_notice")
    closeout(case_id)
    assert len(sb.messages(CHURN)) == 1 and len(posts(sb)) == 1
    assert call_row(case_id, "slack", "churn_notice").result["reconciled"] is True


def test_a_post_that_never_happened_is_made_after_the_lease(
    env: str, sb: SlackSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker died before the post left: the history has no key, so it posts, once."""
    case_id = closed_case("ACME-SMB", "SL-NEVER", COMPETITOR)

    def dies(*args: object, **kwargs: object) -> None:
        raise SystemExit("worker killed before the call")

    with monkeypatch.context() as mp:
        mp.setattr(slack_notice.SlackNotice, "post", dies)
        with pytest.raises(SystemExit):
            closeout(case_id)
    assert posts(sb) == []
    age_claim(case_id, "slack", "churn_notice")
    closeout(case_id)
    assert len(sb.messages(CHURN)) == 1
    assert [r.method for r in sb.requests] == ["conversations.history", "chat.postMessage"]


def test_check_says_who_and_where(env: str, sb: SlackSandbox) -> None:
    text = slack_notice.check()
    assert text == (
        f"Slack at {sb.url}: workspace Sandbox, bot offboarding; churn notices to {CHURN}, "
        f"escalations to {MANAGERS}"
    )
    assert [r.method for r in sb.requests] == ["auth.test"]
    sb.token = "xoxb-revoked"
    assert "NOT working" in slack_notice.check() and "invalid_auth" in slack_notice.check()
