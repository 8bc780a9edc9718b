"""`offboard webhooks ...`: the outbound webhook deliveries, and sending one again."""

from __future__ import annotations

import typer

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service import webhooks as service

app = typer.Typer(help="Outbound webhooks: deliveries and redelivery.", no_args_is_help=True)


@app.command("list")
def list_deliveries(
    status: str = typer.Option(None, help="pending, delivering, delivered or failed"),
    endpoint: str = typer.Option(None, help="Only this endpoint (its name in the settings)"),
    case: str = typer.Option(None, help="Only the events of this case"),
    as_json: bool = JsonOpt,
) -> None:
    """Deliveries, newest first: event, endpoint, status, tries, last answer."""
    rows = run_or_fail(lambda: service.list_deliveries(status, endpoint, case), as_json)
    print_result(
        rows,
        as_json,
        lambda d: [
            console.print(
                f"{r['delivery_id']}  {r['type']}  {r['case_id'] or '-'}  → {r['endpoint']}  "
                f"{r['status']}  tries {r['attempts']}  last {r['last_status_code'] or '-'}"
                + (f"  ({r['last_error']})" if r["last_error"] else "")
            )
            for r in d
        ],
    )


@app.command("redeliver")
def redeliver(delivery_id: int, as_json: bool = JsonOpt) -> None:
    """Send a delivery again (same event id, so the receiver can dedupe)."""
    result = run_or_fail(lambda: service.redeliver(delivery_id), as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(f"delivery {d['delivery_id']} ({d['event_id']}) queued again"),
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="webhooks")
