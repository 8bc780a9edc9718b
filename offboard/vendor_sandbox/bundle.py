"""Every vendor's local endpoint at once, seeded with the sample accounts: `make demo` shows
the integrations against them, and the end-to-end test runs a case with every adapter on.

    with Sandboxes() as sb:
        Stack(..., extra_env=sb.env())   # each adapter on, pointed at its local endpoint
        ...
        sb.summary()                     # what each vendor now holds
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from offboard.vendor_sandbox.hubspot import HubSpotSandbox
from offboard.vendor_sandbox.scim import ScimSandbox
from offboard.vendor_sandbox.slack import SlackSandbox
from offboard.vendor_sandbox.stripe import StripeSandbox
from offboard.vendor_sandbox.webhook_receiver import WebhookReceiver

SAMPLE = Path(__file__).resolve().parents[2] / "offboarding" / "sample_data" / "accounts.json"
CHURN_CHANNEL, MANAGERS_CHANNEL = "C0CHURN", "C0MANAGERS"
#: Test and demo values for the local endpoints, never real credentials.
WEBHOOK_SECRET = "whsec_sandbox"


class Sandboxes:
    """Stripe, HubSpot, a SCIM directory, Slack and a webhook receiver on 127.0.0.1."""

    def __init__(self, accounts_file: Path = SAMPLE) -> None:
        self.accounts_file = accounts_file
        self.stripe, self.hubspot = StripeSandbox(), HubSpotSandbox()
        self.scim, self.slack = ScimSandbox(), SlackSandbox()
        self.webhooks = WebhookReceiver(secret=WEBHOOK_SECRET)
        self.companies: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.directory: dict[str, dict] = {}
        self._running = ExitStack()

    def __enter__(self) -> Sandboxes:
        from offboarding.domain import Account

        for sandbox in (self.stripe, self.hubspot, self.scim, self.slack, self.webhooks):
            self._running.enter_context(sandbox)
        self.directory = dict(self.scim.users)  # its users before any deletion
        raw = json.loads(self.accounts_file.read_text(encoding="utf-8"))
        self.stripe.seed_accounts([Account.model_validate(a) for a in raw])
        self.companies = self.hubspot.seed_accounts(raw)
        self.names = {a["account_id"]: a["name"] for a in raw}
        self.slack.add_channel(CHURN_CHANNEL, "churn")
        self.slack.add_channel(MANAGERS_CHANNEL, "cs-managers")
        return self

    def __exit__(self, *exc: object) -> None:
        self._running.close()

    def env(self) -> dict[str, str]:
        """The vendors' own settings, each pointed at its local endpoint."""
        hooks = [{"name": "sandbox", "url": self.webhooks.url, "secret": WEBHOOK_SECRET}]
        return {
            "STRIPE_API_KEY": self.stripe.api_key,
            "OFFBOARDING_STRIPE_API_BASE": self.stripe.url,
            "HUBSPOT_ACCESS_TOKEN": self.hubspot.token,
            "OFFBOARDING_HUBSPOT_API_BASE": self.hubspot.url,
            "OFFBOARDING_SCIM_URL": self.scim.url,
            "OFFBOARDING_SCIM_TOKEN": self.scim.token,
            "SLACK_BOT_TOKEN": self.slack.token,
            "OFFBOARDING_SLACK_API_URL": self.slack.url,
            "OFFBOARDING_SLACK_CHANNEL": CHURN_CHANNEL,
            "OFFBOARDING_SLACK_ESCALATION_CHANNEL": MANAGERS_CHANNEL,
            "OFFBOARDING_WEBHOOKS": json.dumps(hooks),
        }

    def of_account(self, account_id: str) -> dict[str, Any]:
        """What each vendor holds about one account: for the demo's table and the tests."""
        subs = [s for s in self.stripe.all("subscription")
                if s.get("metadata", {}).get("account_id") == account_id]  # fmt: skip
        refunds = [r for r in self.stripe.all("refund")
                   if (r.get("metadata") or {}).get("account_id") == account_id]  # fmt: skip
        company = self.companies.get(account_id)
        props = self.hubspot.company(company)["properties"] if company else {}
        notes = [n for n in self.hubspot.objects("notes") if _associated(n, company)]
        tasks = [t for t in self.hubspot.objects("tasks") if _associated(t, company)]
        owned = {uid for uid, u in self.directory.items()
                 if u["externalId"].startswith(f"{account_id}:")}  # fmt: skip
        deleted = {r.path.rsplit("/", 1)[-1] for r in self.scim.of("DELETE")} & owned
        name = self.names.get(account_id, account_id)
        return {
            "stripe_cancel_at": [s.get("cancel_at") for s in subs],
            "stripe_refunds": len(refunds),
            "crm_status": props.get("offboarding_status"),
            "crm_reason": props.get("offboarding_churn_reason"),
            "crm_notes": len(notes),
            "crm_tasks": len(tasks),
            "scim_users": len(owned),
            "scim_deleted": len(deleted),
            "slack_messages": sum(
                1 for m in self.slack.messages(CHURN_CHANNEL) if name in m.get("text", "")
            ),
        }


def _associated(obj: dict[str, Any], company_id: str | None) -> bool:
    """A HubSpot object associated with the company (as the sandbox lists associations)."""
    if company_id is None:
        return False
    found = json.dumps(obj.get("associations") or {})
    return f'"{company_id}"' in found
