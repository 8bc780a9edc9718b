"""Exit feedback and churn patterns (issue 6).

offboard feedback CASE --satisfaction 8 --recommend 9 ...   # or --declined
offboard feedback CASE --interview-notes "..." --facilitator x@example.com
offboard feedback import responses.csv                      # or .json; by response id
offboard patterns [--mark-fixed PAT-XXXX --by you@example.com --note "..."]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from offboard.cli.options import JsonOpt, parse_time
from offboard.cli.output import console, err, print_result, run_or_fail
from offboard.service.feedback import (
    churn_patterns,
    import_feedback,
    record_feedback,
    survey_response,
)
from offboarding.cases.store import OffboardingError


class _CaseOrSubcommand(TyperGroup):
    """`offboard feedback CASE ...` records; `offboard feedback import FILE` imports."""

    def resolve_command(self, ctx, args):  # noqa: ANN001, ANN201 - click's signature
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["record", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_CaseOrSubcommand,
    help="Exit feedback (§8): `feedback CASE ...` records one; `feedback import FILE` imports.",
    no_args_is_help=True,
)


@app.command("record")
def feedback_record(
    case: str = typer.Argument(..., help="Case id, e.g. C-1234ABCD"),
    by: str = typer.Option("staff@example.com", "--by", help="Who records it (email)"),
    declined: bool = typer.Option(False, "--declined", help="The customer declined the survey"),
    main_reason: str = typer.Option("", "--main-reason", help="Main reason, in their words"),
    category: str = typer.Option(None, "--reason-category", help="§2 category of that reason"),
    could_do_better: str = typer.Option("", "--could-do-better", help="What we could improve"),
    rating: int = typer.Option(None, "--rating", help="Overall experience 1–5"),
    use_again: bool = typer.Option(None, "--use-again/--not-use-again", help="Would use us again"),
    recommend: int = typer.Option(None, "--recommend", help="Likelihood to recommend 0–10"),
    recommend_why: str = typer.Option("", "--recommend-why", help="Why that score"),
    satisfaction: int = typer.Option(None, "--satisfaction", help="Offboarding satisfaction 0–10"),
    product_gap: str = typer.Option(None, "--product-gap", help="Feature they missed"),
    service_issue: str = typer.Option(None, "--service-issue", help="Service problem they named"),
    responded_at: str = typer.Option(None, "--responded-at", help="When they answered (ISO)"),
    response_id: str = typer.Option(None, "--response-id", help="Default: CASE-staff-DATE"),
    interview_notes: str = typer.Option(None, "--interview-notes", help="Exit interview notes"),
    interview_declined: bool = typer.Option(False, "--interview-declined"),
    facilitator: str = typer.Option(None, "--facilitator", help="Who held the interview"),
    held_at: str = typer.Option(None, "--held-at", help="When the interview was held (ISO)"),
    as_json: bool = JsonOpt,
) -> None:
    """Record exit survey answers (or --declined) and/or a strategic account's exit interview."""
    answers = {
        "main_reason": main_reason,
        "main_reason_category": category,
        "could_do_better": could_do_better,
        "overall_rating": rating,
        "would_use_again": use_again,
        "recommend_score": recommend,
        "recommend_why": recommend_why,
        "satisfaction": satisfaction,
        "product_gap": product_gap,
        "service_issue": service_issue,
    }

    def body() -> dict[str, Any]:
        answered = any(v not in (None, "") for v in answers.values())
        interviewing = interview_notes is not None or interview_declined
        if not (answered or declined or interviewing):
            raise OffboardingError(
                "nothing to record: give survey answers, --declined, or --interview-notes"
            )
        when = parse_time(responded_at, "--responded-at")
        survey = None
        if answered or declined:
            survey = survey_response(
                case, answers, declined=declined, responded_at=when, response_id=response_id
            )
        interview = None
        if interviewing:
            if not facilitator:
                raise OffboardingError("an exit interview needs --facilitator (email)")
            interview = {
                "case_id": case,
                "facilitator": facilitator,
                "declined": interview_declined,
                "notes": interview_notes or "",
                "held_at": parse_time(held_at, "--held-at"),
            }
        return record_feedback(case, survey, interview, by)

    result = run_or_fail(body, as_json)

    def render(d: dict[str, Any]) -> None:
        if "survey" in d:
            sv = d["survey"]
            console.print(
                f"{d['case_id']}: survey {sv['status']} "
                f"({'recorded' if sv['new'] else 'already recorded'}, {sv['response_id']})"
            )
        if "interview" in d:
            iv = d["interview"]
            console.print(
                f"{d['case_id']}: exit interview {iv['status']} with {iv['facilitator']}"
                f" ({'neutral facilitator' if iv['neutral'] else 'their CSM'})"
                f"{'' if iv['changed'] else ', unchanged'}"
            )

    print_result(result, as_json, render)


@app.command("import")
def feedback_import(
    path: Path = typer.Argument(..., help="Survey-tool export: .json or .csv"),
    by: str = typer.Option("survey-import@example.com", "--by", help="Who imports (email)"),
    as_json: bool = JsonOpt,
) -> None:
    """Import survey-tool responses: known response ids skipped, bad rows listed, good kept."""
    result = run_or_fail(lambda: import_feedback(path, by), as_json)

    def render(d: dict[str, Any]) -> None:
        console.print(
            f"{d['file']}: {d['rows']} rows · {d['recorded']} recorded · "
            f"{d['already_recorded']} already recorded · {len(d['errors'])} rejected"
        )
        if d["errors"]:
            t = Table(
                "row",
                "response",
                "why rejected",
                title="Rejected rows (nothing lost: fix and import again)",
            )
            for e in d["errors"]:
                t.add_row(str(e["row"]), e["response_id"] or "", e["error"])
            err.print(t)

    print_result(result, as_json, render)
    if result["errors"]:
        raise typer.Exit(1)


def patterns(
    mark_fixed: str = typer.Option(None, "--mark-fixed", help="Pattern id that is now fixed"),
    by: str = typer.Option(None, "--by", help="Who marks it fixed (email)"),
    note: str = typer.Option("", "--note", help="What shipped"),
    refresh: bool = typer.Option(
        True, "--refresh/--no-refresh", help="Detect new patterns and notify product first"
    ),
    threshold: int = typer.Option(None, "--threshold", help="Customers for a pattern (3)"),
    window_days: int = typer.Option(None, "--window-days", help="Within this many days (90)"),
    status: str = typer.Option(None, "--status", help="Only open or fixed"),
    as_json: bool = JsonOpt,
) -> None:
    """Churn patterns: the same product gap or service issue cited by several customers."""
    from offboarding.feedback.patterns import PATTERN_THRESHOLD, PATTERN_WINDOW_DAYS

    def body() -> dict[str, Any]:
        n = PATTERN_THRESHOLD if threshold is None else threshold
        days = PATTERN_WINDOW_DAYS if window_days is None else window_days
        if n < 1 or days < 1:
            raise OffboardingError("--threshold and --window-days must be at least 1")
        if status not in (None, "open", "fixed"):
            raise OffboardingError(f"--status {status!r}: use open or fixed")
        if mark_fixed and not by:
            raise OffboardingError("--mark-fixed needs --by (who marks it fixed)")
        return churn_patterns(n, days, status, mark_fixed, by, note, refresh)

    result = run_or_fail(body, as_json)

    def render(d: dict[str, Any]) -> None:
        if "fixed" in d:
            f = d["fixed"]
            console.print(
                f"{f['pattern']['pattern_id']} marked fixed; win-back signals: "
                + (", ".join(f"{x['account_id']} ({x['table']})" for x in f["signals"]) or "none")
            )
            for x in f["skipped"]:
                console.print(f"  no signal for {x['case_id']}: {x['why']}")
        for n in d.get("notified", []):
            console.print(f"new pattern {n['pattern_id']} sent to {', '.join(n['to'])}")
        t = Table("pattern", "kind", "gap / issue", "customers", "accounts", "status", "notified")
        for p in d["patterns"]:
            t.add_row(
                p["pattern_id"],
                p["kind"],
                p["label"],
                str(p["customers"]),
                ", ".join(p["accounts"]),
                p["status"] + (f" {p['fixed_at'][:10]}" if p["fixed_at"] else ""),
                (p["notified_at"] or "")[:10] or (p["notice"] or ""),
            )
        console.print(t if d["patterns"] else "no churn pattern recorded")

    print_result(result, as_json, render)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="feedback")
    root.command("patterns")(patterns)
