"""A case with every integration on, against local endpoints that speak each vendor's API
(Stripe, HubSpot, a SCIM directory, Slack, a webhook receiver): the request arrives by email
through SendGrid Inbound Parse, and the close-out reaches every system once, even though the
worker is killed in the middle of it. A helpdesk ticket becomes one case too; calls that do
not prove their sender change nothing."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from offboard.service import case_view, wait_for
from offboarding.integrations.billing_rules import cancel_at
from offboarding.integrations.settings import integration_settings
from tests.e2e.conftest import (
    HELPDESK_SECRET,
    PARSE_CREDENTIALS,
    budget,
    decide,
    restart_runner,
    verify_payload,
    wait_waiting,
)
from tests.e2e.test_offboarding_flow import _recover, stage_done
from tests.e2e.test_trust_boundary import trust_account
from tests.integration.test_inbound_web import email, ticket, zendesk

APPROVERS = {"manager": "maya.manager@example.com", "legal": "lena.legal@example.com"}
USERS = ["ada@vendorx.example", "vic@vendorx.example", "uma@vendorx.example"]


@pytest.fixture
def vendors(stack) -> Iterator:  # noqa: ANN001
    """Every adapter on in the runner's flow runs (and in this process), pointed at the local
    endpoints; the stack is given back as it was afterwards."""
    from offboard.vendor_sandbox.bundle import Sandboxes

    saved = dict(stack.extra_env)
    with Sandboxes() as sb:
        env = sb.env() | {"OFFBOARDING_WEBHOOK_CRON": ""}  # this test delivers the outbox
        restart_runner(stack, **env, OFFBOARDING_CHAOS_HOLD="closeout_slack:900")
        integration_settings.cache_clear()
        try:
            yield sb
        finally:
            stack.kill_runner()
            stack.extra_env = saved
            for k in env:
                os.environ.pop(k, None)
            stack.apply_env()
            stack.start_runner()
            integration_settings.cache_clear()


def seed(sb, account_id: str) -> dict[str, str]:  # noqa: ANN001
    from offboard.vendor_sandbox.scim import seed_users

    ids = sb.stripe.add_subscription(account_id, amount=70000)
    sb.companies[account_id] = sb.hubspot.add_company(
        "Vendorx Ltd", offboarding_account_id=account_id
    )
    sb.hubspot.add_owner("dana.lee@example.com", "Dana", "Lee")
    sb.scim.users.update(seed_users({account_id: USERS}))
    return ids


def _offboarding_or_approval(case) -> bool:  # noqa: ANN001
    return case.status == "offboarding" or (case.waiting_for or "").startswith("approval")


def approve_until_offboarding(case_id: str) -> None:
    """Give each approval the plan asks for, as the role's holder, until the case offboards."""
    deadline = time.monotonic() + budget(runs=5)
    while time.monotonic() < deadline:
        case = wait_for(case_id, _offboarding_or_approval, budget(runs=4))
        if case.status == "offboarding":
            return
        role = case.waiting_for.split("-")[1]
        decide(case_id, "approve", {"decided_by": APPROVERS[role], "decision": "approve"})
        wait_for(case_id, lambda c, k=case.waiting_for: c.waiting_for != k, budget(runs=4))
    raise TimeoutError(f"case {case_id} did not start offboarding")


def test_every_system_gets_the_close_out_once_across_a_worker_kill(stack, vendors, tmp_path):
    sb = vendors
    trust_account(tmp_path, "VENDORX")
    stripe_ids = seed(sb, "VENDORX")
    company = sb.companies["VENDORX"]

    # the request arrives by email, from the account's admin, authenticated by DKIM
    fields = email(sender="Ada Admin <ada@vendorx.example>", message_id="e2e-1@vendorx.example",
                   subject="Cancel our subscription", text="Please cancel, we are moving.",
                   dkim="{@vendorx.example : pass}")  # fmt: skip
    url = f"{stack.web_url}/inbound/sendgrid"
    forged = httpx.post(url, data=fields, auth=("parse", "wrong"), timeout=60)
    assert forged.status_code == 401
    first = httpx.post(url, data=fields, auth=PARSE_CREDENTIALS, timeout=60).json()
    again = httpx.post(url, data=fields, auth=PARSE_CREDENTIALS, timeout=60).json()
    assert first["status"] == "opened" and again["case_id"] == first["case_id"]
    assert again["duplicate"] is True
    case_id = first["case_id"]

    wait_waiting(case_id, "verification")
    verified = verify_payload("dana.lee@example.com", reason="cost",
                              customer_declines_sales_conversation=True)  # fmt: skip
    decide(case_id, "verify", verified)
    approve_until_offboarding(case_id)

    def churned_in_crm(_case) -> bool:  # noqa: ANN001
        return sb.hubspot.company(company)["properties"].get("offboarding_status") == "churned"

    wait_for(
        case_id, churned_in_crm, budget(days=15, runs=5)
    )  # the close-out is now held before Slack
    time.sleep(2)
    assert sb.slack.calls("chat.postMessage") == []
    restart_runner(stack)  # kill -9 of the worker mid close-out, then a fresh one
    assert _recover(), "the held close-out run should have been recovered"
    wait_for(case_id, stage_done("closure"), budget(days=15, runs=5))
    wait_for(case_id, stage_done("deactivation"), budget(runs=5))
    wait_for(case_id, stage_done("access_reduction"), budget(runs=5))

    # Stripe: cancelled at the closure date's end of day, never before; one refund
    view = case_view(case_id)
    closure_on = date.fromisoformat(view["plan"]["closure_on"])
    sub = sb.stripe.get("subscription", stripe_ids["subscription"])
    assert sub["cancel_at"] == cancel_at(closure_on, "UTC") and sub["status"] == "active"
    assert len(sb.stripe.posts(f"/v1/subscriptions/{stripe_ids['subscription']}")) == 1
    assert len(sb.stripe.posts("/v1/refunds")) == 1
    # HubSpot: churned with its reasons, one note, each call once
    props = sb.hubspot.company(company)["properties"]
    assert props["offboarding_churn_reason"] and "cost" in props["offboarding_churn_tags"]
    assert len(sb.hubspot.calls("PATCH", f"/crm/v3/objects/companies/{company}")) == 1
    assert len(sb.hubspot.calls("POST", "/crm/v3/objects/notes")) == 1
    # Slack: one message, after the restart
    (posted,) = sb.slack.calls("chat.postMessage")
    assert "Vendorx" in json.dumps(posted.args, ensure_ascii=False)
    # SCIM: at access reduction the users lose access, except the admin, who keeps hers until
    # closure (when the kill delays that stage past the purge, her contact record is gone and
    # she is deactivated with the rest); each user is patched at most once, deleted once
    patched = [r.path for r in sb.scim.of("PATCH")]
    deleted = [r.path for r in sb.scim.of("DELETE")]
    assert 2 <= len(patched) <= 3 and len(set(patched)) == len(patched)
    assert len(set(deleted)) == len(deleted) == 3
    assert not [u for u in sb.scim.users.values() if u["externalId"].startswith("VENDORX:")]
    # every vendor call is done, none failed or unknown
    from offboard.service.integrations import call_rows

    calls = call_rows(case_id)
    assert calls and {c["status"] for c in calls} == {"done"}, calls
    # webhooks: the outbox delivered, each event once, signed
    from tasks.webhooks import deliver_pending

    deliver_pending()
    mine = [e for e in sb.webhooks.events.values() if e["data"].get("case_id") == case_id]
    types = {e["type"] for e in mine}
    assert {"case.offboarding", "case.closed"} <= types, types
    assert len(sb.webhooks.requests) == len(sb.webhooks.events)


def test_a_helpdesk_ticket_becomes_one_case_and_an_unsigned_one_nothing(stack, tmp_path):
    trust_account(tmp_path, "TICKETX")
    body = ticket("E2E-77", requester={"email": "ada@ticketx.example"},
                  organization={"external_id": "TICKETX"})  # fmt: skip
    url = f"{stack.web_url}/inbound/helpdesk/zendesk"
    bad = httpx.post(url, content=body, headers=zendesk(body, secret="not-it"), timeout=60)
    assert bad.status_code == 401
    first = httpx.post(url, content=body, headers=zendesk(body, secret=HELPDESK_SECRET), timeout=60)
    assert first.status_code == 200, first.text
    again = httpx.post(url, content=body, headers=zendesk(body, secret=HELPDESK_SECRET), timeout=60)
    assert first.json()["status"] == "opened" and again.json()["case_id"] == first.json()["case_id"]
    case = wait_waiting(first.json()["case_id"], "verification")
    assert case.channel == "support_ticket" and case.requested_by == "ada@ticketx.example"
