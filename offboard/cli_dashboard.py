"""CLI of issue 6: exit feedback, churn patterns and the dashboard. Registered by offboard/cli.py.

offboard feedback CASE --satisfaction 8 --recommend 9 ...   # or --declined
offboard feedback CASE --interview-notes "..." --facilitator x@example.com
offboard feedback import responses.csv                      # or .json; by response id
offboard patterns [--mark-fixed PAT-XXXX --by you@example.com --note "..."]
offboard dashboard [--json] [--html PATH]
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from offboarding.cases import OffboardingError


class _CaseOrSubcommand(TyperGroup):
    """`offboard feedback CASE ...` records; `offboard feedback import FILE` imports."""

    def resolve_command(self, ctx, args):  # noqa: ANN001, ANN201 - click's signature
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["record", *args]
        return super().resolve_command(ctx, args)


feedback_app = typer.Typer(
    cls=_CaseOrSubcommand,
    help="Exit feedback (§8): `feedback CASE ...` records one; `feedback import FILE` imports.",
    no_args_is_help=True,
)


def _session():  # noqa: ANN202
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope

    return session_scope(get_settings().db_url)


def _parse_when(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError as exc:
        raise OffboardingError(f"{option} {value!r} is not an ISO date/time: {exc}") from exc
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def record_feedback(case: str, survey: dict[str, Any] | None, interview: dict | None, by: str):
    """Both parts in one transaction: either is optional, at least one is given."""
    from offboarding.domain import check_email
    from offboarding.feedback import InterviewNotes, SurveyResponse, record_interview, record_survey

    check_email(by)
    out: dict[str, Any] = {"case_id": case}
    with _session() as s:
        if survey is not None:
            row, created = record_survey(
                s, SurveyResponse.model_validate(survey), "staff", by.lower()
            )
            out["survey"] = {"response_id": row.response_id, "status": row.status, "new": created}
        if interview is not None:
            irow, changed = record_interview(
                s, InterviewNotes.model_validate(interview), by.lower()
            )
            out["interview"] = {
                "status": irow.status,
                "facilitator": irow.facilitator,
                "neutral": irow.facilitator_neutral,
                "changed": changed,
            }
    return out


@feedback_app.command("record")
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
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Record exit survey answers (or --declined) and/or a strategic account's exit interview."""
    from offboard.cli import _guard, _out, console
    from offboarding.feedback import staff_response_id

    def body() -> dict[str, Any]:
        answered = any(
            v not in (None, "")
            for v in (
                main_reason,
                category,
                could_do_better,
                rating,
                use_again,
                recommend,
                recommend_why,
                satisfaction,
                product_gap,
                service_issue,
            )
        )
        interviewing = interview_notes is not None or interview_declined
        if not (answered or declined or interviewing):
            raise OffboardingError(
                "nothing to record: give survey answers, --declined, or --interview-notes"
            )
        when = _parse_when(responded_at, "--responded-at")
        survey = None
        if answered or declined:
            survey = {
                "response_id": response_id or staff_response_id(case, when),
                "case_id": case,
                "declined": declined,
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
                "responded_at": when,
            }
        interview = None
        if interviewing:
            if not facilitator:
                raise OffboardingError("an exit interview needs --facilitator (email)")
            interview = {
                "case_id": case,
                "facilitator": facilitator,
                "declined": interview_declined,
                "notes": interview_notes or "",
                "held_at": _parse_when(held_at, "--held-at"),
            }
        return record_feedback(case, survey, interview, by)

    result = _guard(body, as_json)

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

    _out(result, as_json, render)


@feedback_app.command("import")
def feedback_import(
    path: Path = typer.Argument(..., help="Survey-tool export: .json or .csv"),
    by: str = typer.Option("survey-import@example.com", "--by", help="Who imports (email)"),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Import survey-tool responses: known response ids skipped, bad rows listed, good kept."""
    from offboard.cli import _guard, _out, console, err
    from offboarding.feedback import import_responses

    def body() -> dict[str, Any]:
        with _session() as s:
            return import_responses(s, path, by).to_dict()

    result = _guard(body, as_json)

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

    _out(result, as_json, render)
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
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Churn patterns: the same product gap or service issue cited by several customers."""
    from offboard.cli import _guard, _out, console
    from offboarding.patterns import PATTERN_THRESHOLD, PATTERN_WINDOW_DAYS, list_patterns
    from offboarding.patterns import mark_fixed as fix

    def body() -> dict[str, Any]:
        n = PATTERN_THRESHOLD if threshold is None else threshold
        days = PATTERN_WINDOW_DAYS if window_days is None else window_days
        if n < 1 or days < 1:
            raise OffboardingError("--threshold and --window-days must be at least 1")
        if status not in (None, "open", "fixed"):
            raise OffboardingError(f"--status {status!r}: use open or fixed")
        out: dict[str, Any] = {}
        if mark_fixed:
            if not by:
                raise OffboardingError("--mark-fixed needs --by (who marks it fixed)")
            from offboarding.domain import check_email

            with _session() as s:
                out["fixed"] = fix(s, mark_fixed, check_email(by), note)
        elif refresh:
            from tasks.dashboard import notify_patterns_now, refresh_patterns_now

            out["refresh"] = refresh_patterns_now(n, days)
            out["notified"] = notify_patterns_now()
        with _session() as s:
            out["patterns"] = list_patterns(s, status)
        return out

    result = _guard(body, as_json)

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

    _out(result, as_json, render)


def dashboard(
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    html: Path = typer.Option(None, "--html", help="Also write the HTML page to this path"),
    since_days: int = typer.Option(None, "--since-days", help="Only the last N days"),
    as_of: str = typer.Option(None, "--as-of", help="Measure as of this ISO time (default now)"),
) -> None:
    """Every §13 measure from the store: rich tables, --json, or the HTML page with --html."""
    from offboard.cli import _guard, _out

    def body() -> dict[str, Any]:
        if since_days is not None and since_days < 1:
            raise OffboardingError("--since-days must be at least 1")
        from tasks.dashboard import dashboard_now, write_local

        d = dashboard_now(_parse_when(as_of, "--as-of"), since_days)
        if html is not None:
            from offboarding.dashboard_page import render_page

            d["page"] = str(write_local(render_page(d), html))
        return d

    result = _guard(body, as_json)
    _out(result, as_json, render_dashboard)


def render_dashboard(d: dict[str, Any]) -> None:
    from offboard.cli import console
    from tasks.dashboard import measure_rows

    colours = {"met": "green", "missed": "red", "no data": "dim", "info": "cyan"}
    t = Table(
        "measure", "value", "target", "status", "detail", title=f"Offboarding · {d['as_of'][:16]}"
    )
    for m in measure_rows(d):
        c = colours.get(m["status"], "white")
        t.add_row(m["measure"], m["value"], m["target"], f"[{c}]{m['status']}[/{c}]", m["detail"])
    console.print(t)
    op = d["open_requests"]
    t = Table("status", "open", title=f"Open requests ({op['total']})")
    for s, n in op["by_status"].items():
        if n:
            t.add_row(s, str(n))
    console.print(t)
    r = d["reasons"]
    t = Table("reason", "churned", "ARR", title=f"Churn reasons ({r['churned']})")
    for k, n in r["by_category"].items():
        t.add_row(k, str(n), f"{r['churned_arr_by_reason'].get(k, 0):,.0f}")
    console.print(t)
    p = r["preventable"]
    console.print(
        f"preventable: {p['preventable']} of {p['judged']} judged · missed warning signs in "
        f"{r['missed_warning_signs']['cases']} cases"
    )
    if d["patterns"]:
        t = Table("pattern", "gap / issue", "customers", "status", title="Patterns")
        for x in d["patterns"]:
            t.add_row(x["pattern_id"], x["label"], str(x["customers"]), x["status"])
        console.print(t)
    a = d["audit"]
    console.print(
        f"audit {a['quarter']}: {a['with_missing']} of {a['audited']} cases with a step missing; "
        f"spot check {d['spot_check']['week']}: {len(d['spot_check']['sample'])} messages to read"
    )
    if d.get("page"):
        console.print(f"page: {d['page']}")


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")
    app.command("patterns")(patterns)
    app.command("dashboard")(dashboard)
