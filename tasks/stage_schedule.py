"""When the later stages (§5–§10) run: due times in our database, shared slot runs in Prefect.

A case's stages are attached to the run of the slot that holds their due time (see
`offboarding.cases.stage_slots`); that run does every stage attached to it, for all cases.
The runs are visible as upcoming in the UI (`stages-<slot end>`), and the daily sweeper runs any
stage that is due and not done whose run is gone or over.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from prefect import task
from sqlalchemy import select

from offboarding.cases.stage_slots import next_slot, slot_end, slot_name, slot_seconds
from offboarding.cases.store import get_case, record_step, step_result
from offboarding.settings import get_settings
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import StageRow, StepRow
from tasks.common import RETRYING, current_flow_run_id, db
from tasks.stages import STAGES

#: a slot whose run already started is skipped for the next; this bounds a pathological loop
MAX_HOPS = 50


def due_times(plan: dict[str, str], base, day_seconds: float) -> dict[str, Any]:  # noqa: ANN001
    """Calendar days of the plan mapped onto wall-clock time with the configured day length."""
    confirmed = date.fromisoformat(plan["confirmed_on"])
    keys = {
        "access_reduction": "access_reduction_on",
        "closure": "closure_on",
        "deactivation": "deactivation_on",
        "purge": "purge_on",
    }
    return {
        stage: base
        + timedelta(seconds=(date.fromisoformat(plan[k]) - confirmed).days * day_seconds)
        for stage, k in keys.items()
    }


def _slot_run(end: datetime) -> Any:  # noqa: ANN401 - Prefect's FlowRun
    """The one run of the slot ending at `end` (created once: the slot is its idempotency key)."""
    from prefect.deployments import run_deployment

    from tasks.deployment_names import STAGES as DEPLOYMENT

    name = slot_name(end)
    return run_deployment(
        DEPLOYMENT,
        parameters={"slot": name},
        scheduled_time=end,
        timeout=0,
        as_subflow=False,
        idempotency_key=f"stages-{name}",
        flow_run_name=f"stages-{name}",  # named before it starts: the UI's upcoming list
        tags=["offboarding", "stages"],
    )


def _attach(client: Any, case_id: str, stage: str, due: datetime, length: float) -> str:  # noqa: ANN401
    """Attach the stage to a slot run that has not started yet, and return that run's id.

    The id is written first and the run's state read after: a run still Scheduled then will
    read its stages when it starts, so it sees this one; a run that already started may have
    read them, so the stage moves on to the next slot.
    """
    from prefect.client.schemas.objects import StateType

    end = slot_end(due, length)
    for _ in range(MAX_HOPS):
        run = _slot_run(end)
        with db() as s:
            row = s.scalar(
                select(StageRow).where(StageRow.case_id == case_id, StageRow.stage == stage)
            )
            row.flow_run_id = str(run.id)
        now = client.read_flow_run(run.id)
        if now.state is not None and now.state.type == StateType.SCHEDULED:
            return str(run.id)
        end = max(next_slot(end, length), slot_end(utcnow(), length))
    raise RuntimeError(f"case {case_id}: no slot run for {stage} would wait for it")


@task(name="schedule-stages", **RETRYING)
def schedule_stages(case_id: str) -> dict[str, str]:
    """Record each later stage's due time (once) and attach it to its slot's run."""
    from prefect.client.orchestration import get_client

    settings = get_settings()
    length = slot_seconds(settings.day_seconds, settings.stage_slot_seconds)
    with db() as s:
        case = get_case(s, case_id)
        plan_step = s.scalar(
            select(StepRow).where(StepRow.case_id == case_id, StepRow.step == "plan")
        )
        dues = due_times(case.plan, as_utc(plan_step.done_at), settings.day_seconds)
        status = {}
        for stage, due in dues.items():
            row = s.scalar(
                select(StageRow).where(StageRow.case_id == case_id, StageRow.stage == stage)
            )
            if row is None:
                row = StageRow(case_id=case_id, stage=stage, due_at=due, status="scheduled")
                s.add(row)
            status[stage] = row.status
    out = {}
    with get_client(sync_client=True) as client:
        for stage, due in dues.items():
            out[stage] = due.isoformat()
            if status[stage] != "done":
                _attach(client, case_id, stage, due, length)
    with db() as s:
        if step_result(s, case_id, "stages_scheduled") is None:
            record_step(s, case_id, "stages_scheduled", out)
    return out


@task(name="attached-stages", **RETRYING)
def attached_stages() -> list[tuple[str, str]]:
    """The stages this slot run is to do, not done yet, in due order (then the playbook's)."""
    run_id = current_flow_run_id()
    with db() as s:
        rows = s.scalars(
            select(StageRow).where(StageRow.flow_run_id == run_id, StageRow.status != "done")
        ).all()
        rows = sorted(rows, key=lambda r: (as_utc(r.due_at), STAGES.index(r.stage)))
        return [(r.case_id, r.stage) for r in rows]


@task(name="upcoming-stages", **RETRYING)
def upcoming_stages(limit: int = 200) -> list[dict[str, str]]:
    """The next stages not done, for the UI's table: case, stage, due, slot run."""
    with db() as s:
        rows = s.scalars(
            select(StageRow).where(StageRow.status != "done").order_by(StageRow.due_at).limit(limit)
        ).all()
        return [
            {
                "case": r.case_id,
                "stage": r.stage,
                "due": as_utc(r.due_at).isoformat(timespec="seconds"),
                "run": r.flow_run_id or "",
            }
            for r in rows
        ]
