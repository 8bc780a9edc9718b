"""`offboard tokens ...`, `offboard whoami`, `offboard unlock`: personal API tokens, the
identity the CLI acts as, and lifting a decider's lockout after too many wrong codes."""

from __future__ import annotations

from pathlib import Path

import typer

from offboard.cli.options import JsonOpt
from offboard.cli.output import console, print_result, run_or_fail
from offboard.service import tokens as service

app = typer.Typer(help="Personal API tokens: who the CLI acts as.", no_args_is_help=True)


@app.command("issue")
def issue(
    person: str = typer.Option(..., "--for", help="Whose token (their work email)"),
    save: Path = typer.Option(None, help="Write the token to this file (mode 0600) too"),
    as_json: bool = JsonOpt,
) -> None:
    """Issue a token (admins of the policy only; the very first one for an admin). Shown once."""
    result = run_or_fail(lambda: service.issue_token(person), as_json)
    if save is not None:
        from offboarding.trust.secrets import write_token_file

        write_token_file(save, result["token"])
        result["saved_to"] = str(save)
    print_result(
        result,
        as_json,
        lambda d: console.print(
            f"token {d['token_id']} for {d['person']} (issued by {d['issued_by']}):\n"
            f"{d['token']}\nIt is shown once: set OFFBOARDING_TOKEN, or keep it in a 0600 file "
            "named by OFFBOARDING_TOKEN_FILE."
        ),
    )


@app.command("list")
def list_tokens(as_json: bool = JsonOpt) -> None:
    """Active tokens: id, person, who issued them and when (never the token itself)."""
    rows = run_or_fail(service.list_tokens, as_json)
    print_result(
        rows,
        as_json,
        lambda d: [
            console.print(f"{t['token_id']}  {t['person']}  by {t['issued_by']}") for t in d
        ],
    )


@app.command("revoke")
def revoke(token_id: str, as_json: bool = JsonOpt) -> None:
    """Revoke a token at once (admins only)."""
    result = run_or_fail(lambda: service.revoke_token(token_id), as_json)
    print_result(result, as_json, lambda d: console.print(f"revoked {d['token_id']}"))


def whoami(as_json: bool = JsonOpt) -> None:
    """Who the CLI acts as: the owner of OFFBOARDING_TOKEN."""
    person = run_or_fail(service.whoami, as_json)
    print_result({"person": person}, as_json, lambda d: console.print(d["person"]))


def unlock(
    case: str,
    person: str = typer.Option(..., "--for", help="The decider who is locked out"),
    as_json: bool = JsonOpt,
) -> None:
    """Lift a decider's lockout on a case after too many wrong codes (managers only)."""
    result = run_or_fail(lambda: service.unlock(case, person), as_json)
    print_result(
        result,
        as_json,
        lambda d: console.print(f"{d['person']} may decide on {d['case_id']} again"),
    )


def register(root: typer.Typer) -> None:
    root.command("whoami")(whoami)
    root.command("unlock")(unlock)
    root.add_typer(app, name="tokens")
