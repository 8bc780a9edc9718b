"""What the CLI, the demo and the tests do to the system, one module per concern."""

from offboard.service.accounts import import_accounts, load_accounts
from offboard.service.case_runs import (
    VERBS,
    decide,
    failed_runs,
    start_case_run,
    submit_request,
    wait_for,
    wait_for_decision,
)
from offboard.service.case_views import case_view, list_cases
from offboard.service.pause_delivery import _wait_until_paused

__all__ = [
    "VERBS",
    "_wait_until_paused",
    "case_view",
    "decide",
    "failed_runs",
    "import_accounts",
    "list_cases",
    "load_accounts",
    "start_case_run",
    "submit_request",
    "wait_for",
    "wait_for_decision",
]
