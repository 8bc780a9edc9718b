"""`offboard`: the command line for ops staff, approvers and engineers, one module per group."""

# Every command has --json. Bad input exits non-zero with a one-line reason and changes nothing
# (offboard/cli/output.py). A command parses its options, calls offboard.service, and prints.

from __future__ import annotations

import typer

from offboard.cli import (
    accounts,
    audit,
    cases,
    dashboard,
    decisions,
    export,
    feedback,
    inbox,
    integrations,
    karte,
    messages,
    receipts,
    risk,
    signals,
    stack,
    templates,
    tokens,
    webhooks,
    winback,
)

app = typer.Typer(
    help="Customer cancellations as orchestrated, auditable workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """Customer cancellations as orchestrated, auditable workflows."""
    from offboard.stack import load_stack_env

    if load_stack_env():
        from offboarding.settings import get_settings

        get_settings.cache_clear()


#: Each module registers its commands and sub-groups; `--help` lists the top-level commands,
#: then the sub-groups, each in this order.
COMMAND_MODULES = (
    accounts,
    cases,
    decisions,
    stack,
    export,
    templates,
    messages,
    signals,
    winback,
    risk,
    karte,
    feedback,
    dashboard,
    tokens,
    receipts,
    audit,
    inbox,
    integrations,
    webhooks,
)
for module in COMMAND_MODULES:
    module.register(app)

__all__ = ["app"]
