"""The demo's early-warning step (§14): before any cancellation, the daily scan over the sample
accounts' product data (patterns planted at four of them), one owner's alert as it went out,
and that account's retention karte."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

from rich.console import Console


def run_early_warning(console: Console, as_json: bool) -> dict[str, Any]:
    """Scan now, then show the most pressing episode's alert and its account's karte."""
    from flows.early_warning_flow import early_warning_flow
    from offboard.cli.karte import render_karte
    from offboard.service.risk import karte, queue

    say = Console(stderr=True) if as_json else console
    result = early_warning_flow()
    episodes = queue()
    out = {**result, "alert": None, "karte_account": None}
    if not episodes:
        say.print("early warning: no account at risk")
        return out
    top = episodes[0]
    text = alert_text(top.get("message"))
    say.print(
        f"[bold]Early warning[/bold], before any cancellation: {len(episodes)} at-risk "
        f"episodes on {len({e['account_id'] for e in episodes})} accounts, each owner told once"
    )
    say.print(f"[bold]Alert to {top['owner']}[/bold] ({top['message']}):", soft_wrap=True)
    say.print(text, markup=False, highlight=False)
    if not as_json:
        render_karte(karte(top["account_id"]))
    return {**out, "alert": top["message"], "karte_account": top["account_id"]}


def alert_text(location: str | None) -> str:
    """The plain text of an alert the file outbox wrote (subject first)."""
    if not location or not Path(location).is_file():
        return f"(no copy in the outbox: {location})"
    msg = email.message_from_bytes(Path(location).read_bytes(), policy=email.policy.default)
    body = msg.get_body(("plain",))
    return f"Subject: {msg['Subject']}\n\n" + (body.get_content() if body else "").strip()
