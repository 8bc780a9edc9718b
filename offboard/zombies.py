"""Prefect's documented "zombie" automation for the production topology: a flow run that stops
sending heartbeats (its worker's machine died) is marked Crashed, and our run recovery then
restarts it on a live worker. Paused and Suspended runs send no heartbeats by design, so those
states (and a run rescheduled and waiting in the queue) count as expected, not as death."""

from __future__ import annotations

from datetime import timedelta

NAME = "offboarding: crash zombie flow runs"
#: Heartbeats every 30 s (PREFECT_FLOWS_HEARTBEAT_FREQUENCY); three missed ones mean death.
WITHIN = timedelta(seconds=90)
EXPECTED = {
    "prefect.flow-run.heartbeat",
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.Cancelled",
    "prefect.flow-run.Crashed",
    "prefect.flow-run.Paused",
    "prefect.flow-run.Suspended",
    "prefect.flow-run.Scheduled",
    "prefect.flow-run.Pending",
}


def install_zombie_automation() -> str:
    """Create the automation once (an existing one of the same name is kept); its id."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    try:
        return str(Automation.read(name=NAME).id)
    except ValueError:
        pass
    automation = Automation(
        name=NAME,
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect=EXPECTED,
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=WITHIN,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message="No heartbeat for 90 s: its worker is gone; run recovery restarts it.",
            )
        ],
    ).create()
    return str(automation.id)
