"""Running the system: the embedded stack until Ctrl-C, the scripted demo, the sweeper now."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import typer

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result


def sweep(as_json: bool = JsonOpt) -> None:
    """Run the daily sweeper now (escalations, missed stages, orphaned runs)."""
    from flows.sweeper_flow import sweeper_flow
    from offboard.cli.output import run_or_fail

    print_result(run_or_fail(sweeper_flow, as_json), as_json)


def retry(
    case_id: str = typer.Argument(..., help="Case id"),
    as_json: bool = JsonOpt,
) -> None:
    """Hand a case whose run kept failing back to its flow (after fixing the cause)."""
    from offboard.cli.output import run_or_fail
    from offboard.service.case_runs import retry_case

    result = run_or_fail(lambda: retry_case(case_id), as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(f"case {d['case_id']}: run {d['flow_run_id']} rescheduled"),
    )


def up(
    state_dir: Path = typer.Option(Path(".state"), help="Project-local state folder"),
    port: int = typer.Option(4200, help="Prefect server port"),
    production: bool = typer.Option(
        False,
        "--production",
        help="PostgreSQL, Redis messaging, a process work pool and two workers (see README)",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Run the embedded stack (Prefect server, local S3, served deployments) until Ctrl-C."""
    from offboard.stack import Stack

    if production:
        from offboard.stack_production import ProductionStack

        stack: Stack = ProductionStack(state_dir, prefect_port=port)
    else:
        stack = Stack(state_dir, prefect_port=port)
    with console.status(f"starting the {'production' if production else 'embedded'} stack…"):
        stack.start()
    ready = {
        "topology": "production" if production else "embedded",
        "ui": stack.ui_url,
        "api": stack.api_url,
        "web": stack.web_url,
        "s3": stack.s3.endpoint,
        "env_file": str(stack.env_file),
    }
    print_result(
        ready,
        as_json,
        lambda d: console.print(
            f"Prefect UI: [bold]{d['ui']}[/bold]   decision pages: {d['web']}   "
            f"S3: {d['s3']}\n"
            f"`offboard` in another shell finds this stack through {d['env_file']}"
        ),
    )
    if not as_json:
        console.print("Ctrl-C to stop.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        with console.status("stopping…"):
            stack.stop()


def demo(
    state_dir: Path = typer.Option(Path(".state/demo"), help="Demo state (wiped first)"),
    day_seconds: float = typer.Option(1.0, help="Length of one playbook day in the demo"),
    port: int = typer.Option(None, help="Prefect server port (default: a free one)"),
    integrations: bool = typer.Option(
        True, help="Every integration on, against local endpoints speaking each vendor's API"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Start the stack, run the scripted cancellations to their end, print a summary, stop."""
    from offboard.demo import run_demo

    rows = run_demo(state_dir, day_seconds, port, console, as_json, integrations)
    if any(r["ok"] is False for r in rows):
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.command()(sweep)
    root.command()(retry)
    root.command()(up)
    root.command()(demo)
