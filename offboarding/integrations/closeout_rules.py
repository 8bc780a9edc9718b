"""§10 close-out as the CRM and the team channel see it (pure: no I/O, no vendor SDK).

One `Closeout` is built from what `internal_closeout` recorded (reason tags, revenue closed,
win-back tag) plus the case's plan; every HubSpot property and every Slack line comes from it,
so a replay or a reconcile produces the same values and the table tests pin the wording.

HubSpot company properties we set (custom properties in an "offboarding" group; create them
once in the portal, see README "Integrations"):
  offboarding_status (enumeration: churned), offboarding_churn_reason (the §2 category),
  offboarding_churn_tags (text, ";"-separated tags), offboarding_churn_date (date),
  offboarding_arr_closed / offboarding_mrr_closed (number), offboarding_currency (text),
  offboarding_case_id (text), offboarding_competitor (text, only when named),
  offboarding_winback_candidate (booleancheckbox), offboarding_winback_remind_on (date).
`lifecyclestage` is left alone: HubSpot's stages have no "churned", and portals differ.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from offboarding.domain import Account, Reason

#: Slack message metadata (`chat.postMessage` `metadata.event_type`): our key rides in it.
SLACK_EVENT_TYPE = "offboarding_notice"
#: HubSpot-defined association types (v4 "associationTypeId"): note → company, task → company.
NOTE_TO_COMPANY = 190
TASK_TO_COMPANY = 192
#: The marker that carries our idempotency key in a note or task body (reconcile looks for it).
KEY_MARKER = "offboarding key:"

_MONTHS = (
    "January February March April May June July August September October November December"
).split()


@dataclass(frozen=True)
class Closeout:
    """Everything the close-out tells the CRM and the team, as plain values."""

    case_id: str
    account_id: str
    account_name: str
    segment: str
    strategic: bool
    owner_name: str
    owner_email: str
    closed_on: date
    reason: Reason
    reason_tags: tuple[str, ...]
    arr_closed: float
    mrr_closed: float
    currency: str
    winback_candidate: bool
    winback_remind_on: date | None
    winback_why: str
    deactivation_on: date | None = None
    purge_on: date | None = None


def closeout_facts(
    case_id: str,
    account: Account,
    reason: Reason,
    recorded: dict[str, Any],
    plan: dict[str, Any] | None,
    closed_on: date | None,
) -> Closeout:
    """`recorded` is internal_closeout's step result (crm, revenue, winback)."""
    plan = plan or {}
    crm, revenue, winback = recorded["crm"], recorded["revenue"], recorded["winback"]
    closed = closed_on or date.fromisoformat(plan["closure_on"])
    remind = winback.get("remind_on")
    return Closeout(
        case_id=case_id,
        account_id=account.account_id,
        account_name=account.name,
        segment=str(account.segment),
        strategic=account.strategic,
        owner_name=account.owner.name,
        owner_email=account.owner.email,
        closed_on=closed,
        reason=reason,
        reason_tags=tuple(crm.get("reason_tags") or [str(reason.category)]),
        arr_closed=float(revenue["arr_closed"]),
        mrr_closed=float(revenue["mrr_closed"]),
        currency=str(revenue.get("currency") or account.currency),
        winback_candidate=bool(winback.get("candidate")),
        winback_remind_on=date.fromisoformat(remind) if remind else None,
        winback_why=str(winback.get("why") or ""),
        deactivation_on=_day(plan.get("deactivation_on")),
        purge_on=_day(plan.get("purge_on")),
    )


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def long_date(d: date) -> str:
    """14 June 2026: the same in every process locale (strftime %B is not)."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def money(amount: float, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def reason_phrase(c: Closeout) -> str:
    detail = (c.reason.detail or "").strip()
    return f"{c.reason.category}" + (f" ({detail})" if detail else "")


def moving_to(c: Closeout) -> str:
    """§10 "Moving to [competitor/alternative]"; the template's wording when none is named."""
    name = c.reason.competitor_name
    return f"Moving to {name}." if name else "No competitor named."


def headline(c: Closeout) -> str:
    """§10: "Customer X churned on [date]. Reason: [...]. Moving to [...]"."""
    return (
        f"Customer {c.account_name} churned on {long_date(c.closed_on)}. "
        f"Reason: {reason_phrase(c)}. {moving_to(c)}"
    )


def winback_phrase(c: Closeout) -> str:
    if c.winback_candidate and c.winback_remind_on:
        return f"win-back candidate, reminder on {long_date(c.winback_remind_on)}"
    why = f" ({c.winback_why})" if c.winback_why else ""
    return f"not a win-back candidate{why}"


# -- HubSpot -------------------------------------------------------------------------------


def company_properties(c: Closeout) -> dict[str, str]:
    """The PATCH body's properties: strings, as HubSpot's v3 API takes them."""
    props = {
        "offboarding_status": "churned",
        "offboarding_churn_reason": str(c.reason.category),
        "offboarding_churn_tags": ";".join(c.reason_tags),
        "offboarding_churn_date": c.closed_on.isoformat(),
        "offboarding_arr_closed": _number(c.arr_closed),
        "offboarding_mrr_closed": _number(c.mrr_closed),
        "offboarding_currency": c.currency,
        "offboarding_case_id": c.case_id,
        "offboarding_winback_candidate": "true" if c.winback_candidate else "false",
    }
    if c.reason.competitor_name:
        props["offboarding_competitor"] = c.reason.competitor_name
    if c.winback_candidate and c.winback_remind_on:
        props["offboarding_winback_remind_on"] = c.winback_remind_on.isoformat()
    return props


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def key_line(key: str) -> str:
    return f"{KEY_MARKER} {key}"


def note_body(c: Closeout, key: str) -> str:
    """The timeline note (hs_note_body takes HTML): the reason and what happens next."""
    e = html.escape
    next_steps = []
    if c.deactivation_on:
        next_steps.append(f"access revoked everywhere on {long_date(c.deactivation_on)}")
    if c.purge_on:
        next_steps.append(f"account data deleted after retention on {long_date(c.purge_on)}")
    next_steps.append(winback_phrase(c))
    lines = [
        f"<p><strong>Churned</strong>: {e(headline(c))}</p>",
        f"<p>ARR closed {e(money(c.arr_closed, c.currency))}; tags: {e(', '.join(c.reason_tags))}"
        f".</p>",
        "<p>What happens next: " + e("; ".join(next_steps)) + ".</p>",
        f"<p>Case {e(c.case_id)}, owner {e(c.owner_name)}. {e(key_line(key))}</p>",
    ]
    return "".join(lines)


def note_properties(c: Closeout, key: str, at: datetime) -> dict[str, str]:
    return {"hs_timestamp": _iso(at), "hs_note_body": note_body(c, key)}


def task_properties(c: Closeout, key: str, owner_id: str | None) -> dict[str, str]:
    """The win-back reminder. Due at 12:00 UTC on the remind date: the same calendar day in
    every portal time zone from UTC-11 to UTC+11 (midnight UTC shows as the day before in
    the Americas)."""
    assert c.winback_remind_on is not None, "only a win-back candidate gets a reminder"
    body = (
        f"{headline(c)} Why a candidate: {c.winback_why}. Check for trigger events (§11) and "
        f"reach out only if there is one. Case {c.case_id}. {key_line(key)}"
    )
    props = {
        "hs_timestamp": f"{c.winback_remind_on.isoformat()}T12:00:00Z",
        "hs_task_subject": f"Win-back check-in: {c.account_name}",
        "hs_task_body": body,
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": "HIGH" if c.strategic else "MEDIUM",
        "hs_task_type": "TODO",
    }
    if owner_id:
        props["hubspot_owner_id"] = owner_id
    return props


def carries_key(text: str | None, key: str) -> bool:
    """True when a note or task body is the one made with `key` (exact, not a prefix)."""
    plain, marker = html.unescape(text or ""), key_line(key)
    at = plain.find(marker)
    if at < 0:
        return False
    after = plain[at + len(marker) : at + len(marker) + 1]
    return after == "" or not (after.isalnum() or after in "-_")


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- Slack ---------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >) as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def churn_text(c: Closeout) -> str:
    """The §10 team message: the headline, then the facts people ask next."""
    facts = (
        f"Segment {c.segment}, ARR closed {money(c.arr_closed, c.currency)}; "
        f"{winback_phrase(c)}. Case {c.case_id}, owner {c.owner_name}."
    )
    return slack_escape(f"{headline(c)}\n{facts}")


def escalation_text(account_name: str, case_id: str, owner_name: str, e: dict[str, Any]) -> str:
    """§4 escalation for the managers' channel, from notify_escalation's step result."""
    command = e.get("command") or "decide"
    text = (
        f"Escalation: case {case_id} for {account_name} is escalated: {e.get('why', '')}. "
        f'It waits for "{e.get("waiting_for", "")}" and will not proceed until someone who '
        f"holds the role decides."
    )
    if e.get("comment"):
        text += f" Last comment: {e['comment']}"
    text += f"\nDecide with `offboard {command} {case_id} --by YOUR_EMAIL`. Owner: {owner_name}."
    return slack_escape(text)


def slack_metadata(key: str) -> dict[str, Any]:
    return {"event_type": SLACK_EVENT_TYPE, "event_payload": {"key": key}}


def carries_slack_key(message: dict[str, Any], key: str) -> bool:
    meta = message.get("metadata") or {}
    return meta.get("event_type") == SLACK_EVENT_TYPE and (
        (meta.get("event_payload") or {}).get("key") == key
    )
