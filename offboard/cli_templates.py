"""CLI commands of issue 4: review message templates, and decide on messages that could not be
sent. Registered by `offboard/cli.py`.

    offboard templates list
    offboard templates preview KIND --locale ja [--case CASE] [--out DIR]
    offboard messages list CASE
    offboard messages release CASE KIND [--seq N] --by EMAIL (--delivered | --send-again)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from offboard.cli import JsonOpt, _guard, _out, console
from offboarding.cases import OffboardingError

SAMPLE_ACCOUNTS = Path(__file__).resolve().parent.parent / "offboarding" / "sample_data"
#: The sample account each locale is previewed with when no case is given.
PREVIEW_ACCOUNT = {"en": "ACME-SMB", "ja": "SAKURA-JP", "ms": "KAMPUNG-MY"}

templates_app = typer.Typer(help="Message templates: list them, preview one.", no_args_is_help=True)
messages_app = typer.Typer(
    help="Messages of a case: what went, and decide on refused or unknown ones.",
    no_args_is_help=True,
)


def _check_kind(kind: str) -> None:
    from offboarding.messages import KINDS

    if kind not in KINDS:
        raise OffboardingError(f"unknown message kind {kind!r}; known: {', '.join(KINDS)}")


def _sample_account(locale: str) -> dict[str, Any]:
    accounts = json.loads((SAMPLE_ACCOUNTS / "accounts.json").read_text(encoding="utf-8"))
    wanted = PREVIEW_ACCOUNT.get(locale, "ACME-SMB")
    return next(a for a in accounts if a["account_id"] == wanted)


def _case_context(case_id: str) -> tuple[dict[str, Any], str]:
    """The real context of a case, with sample extras for what only a live send would have
    (export links, a win-back signal...), so every kind can be previewed for any case."""
    from offboarding.cases import get_account, get_case
    from offboarding.messages import sample_context
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope
    from tasks.messaging import message_context

    with session_scope(get_settings().db_url) as s:
        account = get_account(s, get_case(s, case_id).account_id)
        ctx = message_context(s, case_id)
    sample = sample_context(account)
    ctx["extra"] = {**sample["extra"], **ctx["extra"]}
    ctx["export"] = ctx["export"] or sample["export"]
    return ctx, account.locale


def preview_message(
    kind: str, locale: str | None, case_id: str | None, out: Path | None
) -> dict[str, Any]:
    from offboarding.messages import locales_of, render, sample_context
    from offboarding.settings import get_settings

    _check_kind(kind)
    if case_id:
        ctx, account_locale = _case_context(case_id)
        locale = locale or account_locale
    else:
        locale = locale or "en"
        ctx = sample_context(_sample_account(locale))
    have = locales_of(kind)
    if locale not in have:
        raise OffboardingError(
            f"no {kind} template for locale {locale!r} (have: {', '.join(have)})"
        )
    try:
        msg = render(kind, ctx, locale)
    except Exception as exc:  # noqa: BLE001 - a template error becomes one clear line
        raise OffboardingError(f"{kind}.{locale} does not render for this case: {exc}") from exc
    folder = out or get_settings().state_dir / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{case_id or 'sample'}-{kind}.{msg.locale}"
    html_path, text_path = folder / f"{stem}.html", folder / f"{stem}.txt"
    html_path.write_text(msg.html, encoding="utf-8")
    text_path.write_text(f"Subject: {msg.subject}\n\n{msg.text}", encoding="utf-8")
    return {
        "kind": kind,
        "locale": msg.locale,
        "case_id": case_id,
        "subject": msg.subject,
        "text": msg.text,
        "html_file": str(html_path),
        "text_file": str(text_path),
    }


def templates_list(as_json: bool = JsonOpt) -> None:
    """Every message of the playbook, who reads it, and its locales."""
    from offboarding.messages import KINDS, locales_of

    rows = [
        {
            "kind": k.name,
            "audience": k.audience,
            "purpose": k.purpose,
            "locales": locales_of(k.name),
        }
        for k in KINDS.values()
    ]

    def render(rows: list[dict[str, Any]]) -> None:
        t = Table("kind", "audience", "locales", "purpose", title="Message templates")
        for r in rows:
            t.add_row(r["kind"], r["audience"], ", ".join(r["locales"]), r["purpose"])
        console.print(t)

    _out(rows, as_json, render)


def templates_preview(
    kind: str = typer.Argument(..., help="Message kind, see `offboard templates list`"),
    locale: str = typer.Option(None, "--locale", help="en, ja or ms (default: the account's)"),
    case: str = typer.Option(None, "--case", help="Render with this case's data"),
    out: Path = typer.Option(None, "--out", help="Folder for the .html and .txt"),
    as_json: bool = JsonOpt,
) -> None:
    """Render one message to HTML and text for review (sample data unless --case)."""
    result = _guard(lambda: preview_message(kind, locale, case, out), as_json)

    def render(d: dict[str, Any]) -> None:
        console.print(f"[bold]Subject:[/bold] {escape(d['subject'])}\n")
        console.print(escape(d["text"]))
        console.print(f"HTML: {d['html_file']}\ntext: {d['text_file']}")

    _out(result, as_json, render)


def _message_rows(case_id: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from offboarding.cases import get_case
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope
    from offboarding.storage.models import MessageRow

    with session_scope(get_settings().db_url) as s:
        get_case(s, case_id)
        rows = s.scalars(
            select(MessageRow).where(MessageRow.case_id == case_id).order_by(MessageRow.id)
        )
        return [
            {
                "kind": m.kind,
                "seq": m.seq,
                "status": m.status,
                "locale": m.locale,
                "to": m.to_addr,
                "subject": m.subject,
                "sent_at": m.sent_at and m.sent_at.isoformat(),
                "attempts": m.attempts,
                "provider": m.provider,
                "key": m.idempotency_key,
                "location": m.location,
                "error": m.last_error if m.status != "sent" else None,
            }
            for m in rows
        ]


def messages_list(case: str, as_json: bool = JsonOpt) -> None:
    """The messages of a case with their status, attempts and any error."""
    rows = _guard(lambda: _message_rows(case), as_json)

    def render(rows: list[dict[str, Any]]) -> None:
        t = Table("kind", "seq", "status", "locale", "attempts", "subject", "error")
        for r in rows:
            t.add_row(
                r["kind"],
                str(r["seq"]),
                r["status"],
                r["locale"],
                str(r["attempts"]),
                escape(r["subject"][:60]),
                escape((r["error"] or "")[:80]),
            )
        console.print(t)

    _out(rows, as_json, render)


def _release(case_id: str, kind: str, seq: int, by: str, delivered: bool) -> dict[str, Any]:
    from offboarding import mailer_ledger as ledger
    from offboarding.cases import audit, get_case
    from offboarding.domain import check_email
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope

    _check_kind(kind)
    who = check_email(by)
    with session_scope(get_settings().db_url) as s:
        get_case(s, case_id)
        try:
            row = ledger.release(s, case_id, kind, seq, delivered=delivered, by=who)
        except LookupError as exc:
            raise OffboardingError(str(exc)) from exc
        audit(
            s,
            case_id,
            who,
            "message_released",
            f"{kind} #{seq}",
            "confirmed delivered" if delivered else "send again",
        )
        return {"case_id": case_id, "kind": kind, "seq": seq, "status": row.status}


def messages_release(
    case: str,
    kind: str,
    seq: int = typer.Option(1, "--seq", help="Sequence number of the message"),
    by: str = typer.Option(..., "--by", help="Your email (recorded in the audit log)"),
    delivered: bool = typer.Option(
        None,
        "--delivered/--send-again",
        help="It did arrive (mark sent) / it did not: send it again on the next run",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Decide on a refused (4xx) or unknown-outcome message; the automation never resends
    those by itself."""
    if delivered is None:
        _guard(lambda: _need_choice(), as_json)
    result = _guard(lambda: _release(case, kind, seq, by, bool(delivered)), as_json)
    _out(
        result,
        as_json,
        lambda d: console.print(f"{d['case_id']}: {d['kind']} #{d['seq']} is now {d['status']}"),
    )


def _need_choice() -> None:
    raise OffboardingError("say what happened: --delivered or --send-again")


def register(app: typer.Typer) -> None:
    templates_app.command("list")(templates_list)
    templates_app.command("preview")(templates_preview)
    messages_app.command("list")(messages_list)
    messages_app.command("release")(messages_release)
    app.add_typer(templates_app, name="templates")
    app.add_typer(messages_app, name="messages")
