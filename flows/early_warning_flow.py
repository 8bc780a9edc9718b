"""The daily early-warning scan (§14): before they ask to leave.

Reads the product tables through the catalogue, applies the rules vectorised over the whole
population (usage drop against the account's own baseline, failed-login bursts, a champion
gone quiet, tickets piling up on one feature, health falling to yellow or red, a feature
abandoned), opens one at-risk episode per account and cause with its evidence and priority,
tells each owner once, and publishes the at-risk queue as a table artifact. An open episode
is the idempotency key: a rerun opens nothing new and tells no one again.
"""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.runtime import flow_run

from tasks.early_warning import alert_owners, publish_queue, scan_accounts, today


def _run_name() -> str:
    return f"early-warning-{flow_run.parameters.get('on') or today()}"


@flow(name="early-warning", flow_run_name=_run_name)
def early_warning_flow(on: date | None = None) -> dict:
    day = on or today()
    scanned = scan_accounts(day)
    alerts = alert_owners()
    rows = publish_queue(day, alerts["failed"])
    if alerts["failed"]:
        first = alerts["failed"][0]
        raise RuntimeError(
            f"{len(alerts['failed'])} at-risk alert(s) not sent (they stay due and go on the "
            f"next run); first: {first['episode_id']}: {first['error']}"
        )
    return {
        "day": day.isoformat(),
        "population": scanned["population"],
        "findings": scanned["findings"],
        "opened": len(scanned["opened"]),
        "still_open": scanned["still_open"],
        "alerted": len(alerts["sent"]),
        "open_episodes": len(rows),
        "stale": scanned["stale"],
    }
