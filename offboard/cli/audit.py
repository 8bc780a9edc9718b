"""`offboard audit verify [CASE]`: is the audit log's hash chain intact, and if not, where."""

from __future__ import annotations

import typer

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_refusal, print_result, run_or_fail
from offboard.service.audit import verify_audit

app = typer.Typer(help="The audit log: append-only and hash-chained per case.")


@app.command("verify")
def verify(
    case: str = typer.Argument(None, help="One case; default: every case"),
    as_json: bool = JsonOpt,
) -> None:
    """Check every link of the chain; name the first row that was changed or removed."""
    result = run_or_fail(lambda: verify_audit(case), as_json)
    if not result["intact"]:
        print_refusal(
            {
                **result,
                "accepted": False,
                "why": f"audit row {result['audit_id']} of case {result['broken_case']}: "
                f"{result['why']}",
            },
            as_json,
        )
    print_result(result, as_json, lambda d: console.print("audit chain intact"))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")
