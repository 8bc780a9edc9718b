"""Every deployment, with its schedule, in one place; `python -m deployments.serve` serves
them from this process (the embedded stack's worker). For a work pool, see the README."""

from __future__ import annotations

import os

from prefect import serve
from prefect.schedules import Cron

from deployments import FLOW_MODULES
from flows.dashboard_flow import dashboard_flow
from flows.early_warning_flow import early_warning_flow
from flows.escalation_flow import escalation_flow
from flows.export_flow import export_flow
from flows.offboarding_flow import offboarding_flow
from flows.recovery_flow import recovery_flow
from flows.stages_flow import stages_flow
from flows.sweeper_flow import sweeper_flow
from flows.webhook_flow import webhook_flow
from flows.winback_flow import winback_flow
from offboarding.adapters.warm_start.runner_hook import start_warm_server
from offboarding.settings import get_settings

TIMEZONE = os.environ.get("OFFBOARDING_TIMEZONE", "UTC")
SWEEPER_CRON = os.environ.get("OFFBOARDING_SWEEPER_CRON", "0 6 * * *")
DASHBOARD_CRON = os.environ.get("OFFBOARDING_DASHBOARD_CRON", "0 7 * * *")
#: Outbound webhooks: deliver the outbox every minute; "" turns the schedule off.
WEBHOOK_CRON = os.environ.get("OFFBOARDING_WEBHOOK_CRON", "* * * * *")


def _webhooks_on() -> bool:
    """Scheduled only when endpoints are configured: no empty runs every minute otherwise."""
    from offboarding.integrations.settings import integration_settings

    s = integration_settings()
    return bool(s.webhooks or s.webhooks_file)


def deployments() -> list:
    return [
        offboarding_flow.to_deployment(
            "offboarding",
            tags=["offboarding"],
            description="One run per cancellation (PLAYBOOK §1–§10).",
        ),
        stages_flow.to_deployment(
            "offboarding-stages",
            tags=["offboarding"],
            description="One run per slot: the later stages (access reduction, closure, "
            "deactivation, purge) of every case due in it.",
        ),
        escalation_flow.to_deployment(
            "offboarding-escalation",
            tags=["offboarding"],
            description="At a decision's deadline: escalate when still waiting.",
        ),
        sweeper_flow.to_deployment(
            "daily-sweeper",
            tags=["offboarding"],
            schedules=[Cron(SWEEPER_CRON, TIMEZONE)],
            description="Runs due-and-missed stages, escalates overdue decisions, recovers runs.",
        ),
        recovery_flow.to_deployment(
            "run-recovery",
            tags=["offboarding"],
            schedules=[Cron(cron, TIMEZONE)] if (cron := get_settings().recovery_cron) else [],
            description="Every few minutes: restart failed runs, reschedule orphaned ones, "
            "start cases that have none; hand a case to people when restarts are spent.",
        ),
        webhook_flow.to_deployment(
            "webhook-delivery",
            tags=["integrations"],
            schedules=[Cron(WEBHOOK_CRON, TIMEZONE)] if WEBHOOK_CRON and _webhooks_on() else [],
            description="Every minute: signed POSTs of the webhook outbox (new events, due "
            "retries) to the configured endpoints; at-least-once, one event id.",
        ),
        export_flow.to_deployment(
            "offboarding-export",
            tags=["offboarding", "export"],
            description="Export an account's data to S3 (also standalone for portability).",
        ),
        winback_flow.to_deployment(
            "winback-nightly",
            tags=["winback"],
            schedules=[Cron(get_settings().winback_cron, get_settings().winback_timezone)],
            description="Nightly win-back scan: trigger signals against every churned account "
            "(PLAYBOOK §10–§11).",
        ),
        dashboard_flow.to_deployment(
            "dashboard-refresh",
            tags=["dashboard"],
            schedules=[Cron(DASHBOARD_CRON, TIMEZONE)],
            description="§13 measures: Prefect artifacts and the HTML page (local and S3).",
        ),
        early_warning_flow.to_deployment(
            "early-warning-daily",
            tags=["early-warning"],
            schedules=[
                Cron(get_settings().early_warning_cron, get_settings().early_warning_timezone)
            ],
            description="Daily at-risk scan before they ask to leave: episodes, owner alerts, "
            "the at-risk queue (PLAYBOOK §14).",
        ),
    ]


DEPLOYMENT_NAMES = {
    "offboarding",
    "offboarding-stages",
    "offboarding-escalation",
    "daily-sweeper",
    "run-recovery",
    "webhook-delivery",
    "offboarding-export",
    "winback-nightly",
    "dashboard-refresh",
    "early-warning-daily",
}


def main() -> None:
    start_warm_server(FLOW_MODULES)
    serve(*deployments(), limit=int(os.environ.get("OFFBOARDING_RUNNER_LIMIT", "8")))


if __name__ == "__main__":
    main()
