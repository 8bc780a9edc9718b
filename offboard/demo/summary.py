"""What the demo prints at the end: the cases and the path each took, the exit-survey replies,
where the Japanese account's export report is, the dashboard, and the exact commands that
show the demo's cases afterwards.

The demo keeps its state in its own folder (`.state/demo`), not in `.state`, so a bare
`offboard cases` shows none of its cases: the CLI finds its database through
OFFBOARDING_STATE_DIR (default `.state`). The printed commands set it, and name the
virtualenv's `offboard`, so they work as given without activating anything.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from offboard.service.run_links import flow_run_link

#: Print a command as it must be typed: one line, no markup, emoji codes or highlighting.
AS_TYPED: dict[str, bool] = {"soft_wrap": True, "markup": False, "emoji": False, "highlight": False}


def _as_typed(path: Path, cwd: Path) -> str:
    """The path relative to cwd when it is under it (`.state/demo`), else absolute."""
    path = path.absolute()
    try:
        return str(path.relative_to(cwd.absolute())) or "."
    except ValueError:
        return str(path)


def offboard_program(cwd: Path, bin_dir: Path | None = None) -> str:
    """This virtualenv's `offboard` (`.venv/bin/offboard` from the repository root), or a bare
    `offboard` when this Python has no such script next to it."""
    script = (bin_dir or Path(sys.executable).parent) / "offboard"
    return shlex.quote(_as_typed(script, cwd)) if script.exists() else "offboard"


def state_command(
    state_dir: Path, *args: str, cwd: Path | None = None, program: str | None = None
) -> str:
    """A shell command running `offboard ARGS` against the state folder of a stack (its
    database), from cwd: `OFFBOARDING_STATE_DIR=.state/demo .venv/bin/offboard cases`."""
    cwd = Path.cwd() if cwd is None else cwd
    program = offboard_program(cwd) if program is None else program
    folder = shlex.quote(_as_typed(state_dir, cwd))
    return " ".join([f"OFFBOARDING_STATE_DIR={folder}", program, *map(shlex.quote, args)])


def survey_line(surveys: dict[str, list[str]]) -> str:
    """`exit survey: 3 answered, 1 declined, 1 no reply` (and what could not be recorded)."""
    line = (
        f"exit survey: {len(surveys['answered'])} answered, {len(surveys['declined'])} "
        f"declined, {len(surveys['no_reply'])} no reply"
    )
    return line + "".join(f"; not recorded: {why}" for why in surveys["failed"])


def export_reports(rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Account -> the local copy of its export report the demo kept (path, S3 URI, SHA-256)."""
    return {r["account_id"]: r["report"] for r in rows if r.get("report")}


def print_summary(
    rows: list[dict[str, Any]],
    surveys: dict[str, list[str]],
    stack: Any,
    console: Console,
    as_json: bool,
) -> None:
    """The cases table, where the UI and the outbox are, and the commands to look again."""
    if as_json:
        print(
            json.dumps(
                {
                    "cases": rows,
                    "ui": stack.ui_url,
                    "exit_surveys": surveys,
                    "export_reports": export_reports(rows),
                },
                indent=2,
                default=str,
            )
        )
        return
    console.width = max(console.width, 170)
    t = Table(
        "case",
        "account",
        "scenario",
        "path taken",
        "final status",
        "elapsed s",
        title="Demo cancellations",
    )
    for r in rows:
        style = "green" if r["ok"] else "red"
        t.add_row(
            r["case_id"],
            r["account_id"],
            r["title"],
            r["path"],
            f"[{style}]{r['status']}[/{style}]",
            str(r["elapsed"]),
        )
    console.print(t)
    console.print(survey_line(surveys), **AS_TYPED)
    console.print(f"Prefect UI (while the demo ran): {stack.ui_url}")
    console.print(f"Messages written to the outbox: {stack.state_dir / 'outbox'}")
    for account, kept in export_reports(rows).items():
        console.print(
            f"Export report of {account}, in the customer's language with its fonts embedded: "
            f"{_as_typed(Path(kept['path']), Path.cwd())} (a copy of {kept['s3_uri']}, "
            "which the purge deletes at retention end)",
            **AS_TYPED,
        )
    case = next((r["case_id"] for r in rows if r["ok"]), "CASE")
    console.print(f"The demo's cases: {state_command(stack.state_dir, 'cases')}", **AS_TYPED)
    console.print(f"Case details: {state_command(stack.state_dir, 'show', case)}", **AS_TYPED)


def early_warning_line(warned: dict[str, Any]) -> str:
    """`early warning: 7 at-risk episodes opened before any cancellation, 7 owners told once`."""
    if "error" in warned:
        return f"early warning: not run ({warned['error']})"
    return (
        f"early warning: {warned.get('opened', 0)} at-risk episodes opened before any "
        f"cancellation, {warned.get('alerted', 0)} owners told once"
        + (f"; alert: {warned['alert']}" if warned.get("alert") else "")
    )


def print_early_warning(
    warned: dict[str, Any], stack: Any, console: Console, as_json: bool
) -> None:
    """§14: what the early-warning step did, and the commands to see its queue and a karte."""
    say = Console(stderr=True).print if as_json else console.print
    say(early_warning_line(warned), **AS_TYPED)
    say(f"At-risk queue: {state_command(stack.state_dir, 'risk', 'list')}", **AS_TYPED)
    if account := warned.get("karte_account"):
        say(f"Retention karte: {state_command(stack.state_dir, 'karte', account)}", **AS_TYPED)


def print_dashboard(stack: Any, console: Console, as_json: bool) -> None:
    """Issue 6: the dashboard of what the demo just did, and where its page and artifacts are."""
    from flows.dashboard_flow import dashboard_flow

    state = dashboard_flow(return_state=True)
    out, run_id = state.result(), state.state_details.flow_run_id
    keys = ", ".join(out["artifact_keys"].values())
    say = Console(stderr=True).print if as_json else console.print
    say(f"Dashboard page: [bold]{out['page']['local_path']}[/bold] (also {out['page']['s3_uri']})")
    say(f"Dashboard artifacts ({keys}): {flow_run_link(stack.ui_url, str(run_id))}")
