"""The demo's integrations: every adapter on against local endpoints that speak each vendor's
API, and a table of what each system now holds about each departed customer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from offboard.vendor_sandbox.bundle import Sandboxes


def integration_rows(sb: Sandboxes, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per demo case: what Stripe, HubSpot, the SCIM directory and Slack hold for its account."""
    out = []
    for row in rows:
        held = sb.of_account(row["account_id"])
        when = [datetime.fromtimestamp(t, UTC).date().isoformat() for t in held["stripe_cancel_at"]
                if t]  # fmt: skip
        out.append({"case_id": row["case_id"], "account_id": row["account_id"],
                    "status": row["status"], **held, "stripe_cancel_on": when})  # fmt: skip
    return out


def print_integrations(
    sb: Sandboxes, rows: list[dict[str, Any]], console: Console, as_json: bool
) -> dict[str, Any]:
    """Deliver the webhook outbox, then show each system's side of every case."""
    from offboard.service.integrations import call_rows
    from offboarding.integrations.settings import integration_settings
    from tasks.webhooks import deliver_pending

    integration_settings.cache_clear()
    delivered = deliver_pending()
    table = integration_rows(sb, rows)
    calls = call_rows()
    summary = {
        "accounts": table,
        "vendor_calls": {
            s: sum(1 for c in calls if c["status"] == s)
            for s in sorted({c["status"] for c in calls})
        },  # fmt: skip
        "webhook_events_received": len(sb.webhooks.events),
        "webhook_delivery": delivered,
    }
    if as_json:
        print(json.dumps({"integrations": summary}, indent=2, default=str))
        return summary
    t = Table("case", "account", "status", "Stripe cancels on", "refunds", "CRM", "notes/tasks",
              "directory users deleted", "Slack",
              title="Integrations (local vendor endpoints)")  # fmt: skip
    for r in table:
        cancels = ", ".join(r["stripe_cancel_on"]) or "-"
        t.add_row(r["case_id"], r["account_id"], r["status"], cancels, str(r["stripe_refunds"]),
                  r["crm_status"] or "-", f"{r['crm_notes']}/{r['crm_tasks']}",
                  f"{r['scim_deleted']} of {r['scim_users']}",
                  str(r["slack_messages"]))  # fmt: skip
    console.print(t)
    console.print(
        f"Vendor calls by status: {summary['vendor_calls']} "
        f"(`offboard integrations list`); webhook events received: "
        f"{summary['webhook_events_received']} (`offboard webhooks list`)"
    )
    return summary
