"""Team notices in Slack, each posted exactly once through the vendor-call ledger.

- `churn_notice` (§10, at internal_closeout) to OFFBOARDING_SLACK_CHANNEL.
- `escalation-<input key>` (§4, at notify_escalation) to OFFBOARDING_SLACK_ESCALATION_CHANNEL,
  only when that is set.
A post is not replay-safe: after a lost worker the channel's history is searched for our key
(in the message metadata) first. When Slack is off nothing here runs; the team is told by the
internal email, which goes either way.
"""

from __future__ import annotations

from typing import Any

from offboarding.cases.store import get_account, get_case
from offboarding.integrations.closeout_rules import churn_text, escalation_text
from offboarding.integrations.settings import integration_settings
from offboarding.integrations.slack_notice import VENDOR, SlackNotice
from tasks.common import db
from tasks.integrations import call_once
from tasks.vendor_crm import closeout_of


def _post_once(case_id: str, step: str, channel: str, text: str, kind: str) -> dict[str, Any]:
    notice = SlackNotice.from_settings()
    return call_once(
        case_id,
        VENDOR,
        step,
        {"channel": channel, "kind": kind, "chars": len(text)},
        lambda key: notice.post(channel, text, key),
        replay_safe=False,
        reconcile=lambda key: notice.find(channel, key),
    )


def post_churn_notice(case_id: str, recorded: dict[str, Any]) -> dict[str, Any] | None:
    """§10 "Customer X churned on [date]. Reason: …": None when Slack is off.

    `recorded` is internal_closeout's step result. Raises CallBlocked when Slack refused
    (the case is then `needs_attention` with Slack's error)."""
    settings = integration_settings()
    if not settings.slack_on:
        return None
    facts, _ = closeout_of(case_id, recorded)
    return _post_once(case_id, "churn_notice", settings.slack_channel, churn_text(facts), "churn")


def post_escalation(case_id: str, escalation: dict[str, Any]) -> dict[str, Any] | None:
    """§4 escalation to the managers' channel; None when Slack or that channel is not set.

    `escalation` is notify_escalation's step result (why, waiting_for, comment, command)."""
    settings = integration_settings()
    if not (settings.slack_on and settings.slack_escalation_channel):
        return None
    with db() as s:
        account = get_account(s, get_case(s, case_id).account_id)
        text = escalation_text(account.name, case_id, account.owner.name, escalation)
    step = f"escalation-{escalation.get('waiting_for', '')}"[:120]
    return _post_once(case_id, step, settings.slack_escalation_channel, text, "escalation")
