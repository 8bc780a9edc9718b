"""What every command prints: its result as text or --json, a refusal, or bad input as one
line with exit code 2 (and nothing changed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from offboard.service.errors import validation_message
from offboarding.cases.store import OffboardingError

T = TypeVar("T")

console = Console()
err = Console(stderr=True)


def print_result(data: Any, as_json: bool, render: Callable[[Any], None] | None = None) -> None:
    """JSON when asked (or when there is no text rendering), else the command's own text."""
    if as_json or render is None:
        print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        render(data)


def fail(message: str, as_json: bool = False) -> NoReturn:
    """Bad input: one line (`{"error": ...}` with --json) and exit code 2."""
    if as_json:
        print(json.dumps({"error": message}, ensure_ascii=False))
    else:
        # One line whatever the width (no wrapping), and the message is text, not markup.
        err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(2)


def run_or_fail(body: Callable[[], T], as_json: bool) -> T:
    """Run a command body, turning our errors into a clear message and exit code 2."""
    try:
        return body()
    except (OffboardingError, ValidationError, ValueError, FileNotFoundError) as exc:
        msg = str(exc)
        if isinstance(exc, ValidationError):
            msg = f"invalid input: {validation_message(exc)}"
        fail(msg, as_json)
    except Exception as exc:  # noqa: BLE001 - only outages get a plain message; the rest raise
        if not _is_outage(exc):
            raise
        fail(
            f"a service did not answer after retries ({type(exc).__name__}: {exc}). Nothing "
            "done so far is lost: steps already finished are kept; run the same command again "
            "(an export with its --export-id) once the service is back",
            as_json,
        )


def _is_outage(exc: BaseException) -> bool:
    """S3 or the Prefect API unreachable (connection refused, timeouts) after the retries."""
    import httpx
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    return isinstance(exc, EndpointConnectionError | ConnectionClosedError | httpx.TransportError)


def print_refusal(result: dict[str, Any], as_json: bool) -> NoReturn:
    """A well-formed request the rules refused (wrong approver, retention date not reached...):
    the reason on stderr, exit code 3."""
    print_result(result, as_json, lambda d: err.print(f"[red]refused:[/red] {d['why']}"))
    raise typer.Exit(3)
