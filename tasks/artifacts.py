"""Prefect artifacts that let an engineer read a case from the UI without a database shell."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact

from offboarding.cases import get_case, steps_of
from tasks.common import RETRYING, db


@task(name="publish-case-summary", **RETRYING)
def publish_case_summary(case_id: str, headline: str) -> str:
    """A markdown artifact: status, plan, decisions so far; keyed per case so it updates."""
    with db() as s:
        case = get_case(s, case_id)
        steps = [f"- `{x.step}` at {x.done_at:%Y-%m-%d %H:%M:%S}" for x in steps_of(s, case_id)]
        plan = case.plan or {}
        lines = [
            f"# {case.account_id} · {case_id}",
            f"**{headline}** — status `{case.status}`",
            "",
            "| milestone | date |",
            "|---|---|",
            *(
                f"| {k.replace('_', ' ')} | {v} |"
                for k, v in plan.items()
                if k.endswith("_on") or k.endswith("_due")
            ),
            "",
            "## Steps done",
            *steps,
        ]
    key = f"case-{case_id.lower()}"
    return str(
        create_markdown_artifact(
            "\n".join(lines), key=key, description=f"Case {case_id}: {headline}"
        )
    )
