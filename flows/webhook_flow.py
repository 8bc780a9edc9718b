"""Outbound webhooks: every minute, deliver what the outbox holds (new events, due retries).

The events were written in the same transaction as their changes, so a lost worker loses no
event; this flow is what turns the outbox into signed POSTs (at-least-once, one event id).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.webhooks import deliver_webhooks


@flow(name="webhook-delivery", flow_run_name="webhook-delivery")
def webhook_flow() -> dict[str, Any]:
    return deliver_webhooks()
