"""Prefect artifacts that let an engineer read a case from the UI without a database shell."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task
from prefect.artifacts import create_markdown_artifact

from offboarding.cases.store import get_case, steps_of
from offboarding.trust.store import brief_of
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


def publish_decision_brief(
    case_id: str, input_key: str, what: str, karte: Sequence[Sequence[str]] = ()
) -> str:
    """The case in front of a decider in the Prefect UI (whose resume dialog shows only the
    form): a markdown artifact on the run, keyed per case, with what the decision causes and,
    for a verification or save, the account's retention karte. Called inside the step that
    sends the decision requests: no task run of its own."""
    with db() as s:
        rows = brief_of(s, get_case(s, case_id), input_key, karte)
    table = ["| | |", "|---|---|", *(f"| {k} | {str(v).replace('|', '/')} |" for k, v in rows)]
    body = "\n".join([f"# Decision waiting: {what}", "", *table, "",
                      "Enter your email and the one-time code from your decision email in the "
                      "form, or use the link in that email."])  # fmt: skip
    key = f"decision-{case_id.lower()}"
    return str(create_markdown_artifact(body, key=key, description=f"{case_id}: {what}"))
