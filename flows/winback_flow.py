"""The nightly win-back scan (§10–§11): trigger signals against every churned account.

Loads the candidates and tonight's signals, applies the rules vectorised over the whole
population, records one outreach per selected account with the reason and the signal that
justify it, sends the win-back message through the communications layer (strategic
accounts wait for their owner's review first; a champion who moved becomes a lead), and
publishes tonight's outreach as a table artifact. The night is the idempotency key: a rerun
the same night selects nothing new and only finishes sending what is still due.
"""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.runtime import flow_run

from tasks.winback import evaluate_night, publish_outreach, send_outreach, tonight


def _run_name() -> str:
    return f"winback-{flow_run.parameters.get('on') or tonight()}"


@flow(name="winback-reminders", flow_run_name=_run_name)
def winback_flow(on: date | None = None) -> dict:
    night = on or tonight()
    evaluated = evaluate_night(night)
    delivery = send_outreach()
    rows = publish_outreach(night, delivery["failed"])
    if delivery["failed"]:
        first = delivery["failed"][0]
        raise RuntimeError(
            f"{len(delivery['failed'])} win-back message(s) not sent (they stay due and go "
            f"on the next run); first: {first['outreach_id']}: {first['error']}"
        )
    return {
        "night": night.isoformat(),
        "created": evaluated["created"],
        "already_recorded": evaluated["already_recorded"],
        "sent": len(delivery["sent"]),
        "outreach": len(rows),
    }
