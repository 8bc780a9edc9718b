"""Render a playbook message: subject, plain text and autoescaped HTML, in the reader's locale.

Each message is one template per locale, `templates/email/<kind>.<locale>.j2`, whose first
line is `Subject: ...`. It is rendered twice from the same source: once as plain text, and
once with autoescaping on, whose paragraphs and `- ` lists become HTML. Writing each message
once per language keeps the text and HTML versions from drifting apart.

Templates are starting points, not form letters (§12): each is personal, signed by the named
owner, and says how to reach a person. The account's locale picks the file, English is the
fallback, and dates, times and money are formatted for the locale (`comms.locale_format`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, pass_context
from markupsafe import Markup

from offboarding.comms.locale_format import (
    FALLBACK_LOCALE,
    format_day,
    format_money,
    format_number,
    format_when,
    honorific_name,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
EMAIL_DIR = TEMPLATES / "email"


@dataclass(frozen=True)
class MessageKind:
    """A message of the playbook: who reads it and why it exists."""

    name: str
    audience: Literal["customer", "internal"]
    purpose: str


KINDS: dict[str, MessageKind] = {
    k.name: k
    for k in (
        MessageKind("acknowledgement", "customer", "§1 personal acknowledgement within 24 h"),
        MessageKind(
            "verification_question",
            "customer",
            "§1–§2 acknowledgement of a support ticket that mentions cancelling: "
            "cancel, or fix the problem?",
        ),
        MessageKind("save_invitation", "customer", "§3 one optional save conversation"),
        MessageKind("offboarding_plan", "customer", "§5 the agreed plan with every date"),
        MessageKind("export_ready", "customer", "§6 export links and when they expire"),
        MessageKind("knowledge_transfer_offer", "customer", "§5 days 4–7 help to move elsewhere"),
        MessageKind("access_change_notice", "customer", "§5 access reduced; active until closure"),
        MessageKind("exit_survey_invitation", "customer", "§8 optional exit survey, 6 questions"),
        MessageKind(
            "closure_confirmation",
            "customer",
            "§7 §9 closure, retention and deletion dates, final amount, invoice attached",
        ),
        MessageKind("executive_note", "customer", "§9 personal note for strategic accounts"),
        MessageKind("deletion_confirmation", "customer", "§6 written confirmation of deletion"),
        MessageKind("winback_outreach", "customer", "§11 a rare, reasoned invitation back"),
        MessageKind(
            "request_received",
            "customer",
            "§1 to a requester not yet confirmed: received, to be confirmed with the account",
        ),
        MessageKind(
            "requester_confirmation",
            "customer",
            "§1 to the account's authorised contacts: confirm or decline a stranger's request",
        ),
        MessageKind("internal_churn_notification", "internal", "§10 tell everyone involved"),
        MessageKind("escalation_notice", "internal", "§4 a decision is overdue or rejected"),
        MessageKind("back_to_support", "internal", "§2 not a cancellation: back to support"),
        MessageKind(
            "acknowledgement_overdue", "internal", "§1 a request is past its acknowledgement target"
        ),
        MessageKind(
            "requester_refused", "internal", "§1 the account says a request was not theirs"
        ),
        MessageKind(
            "requester_unconfirmed", "internal", "§1 nobody confirmed a stranger's request in time"
        ),
        MessageKind(
            "decision_request", "internal", "§2–§4 a decision waits: one-time code and link"
        ),
        MessageKind(
            "case_needs_attention",
            "internal",
            "a case's run failed again and again: people take it from here",
        ),
        MessageKind(
            "risk_alert", "internal", "§14 to the owner, once: an account at risk, its evidence"
        ),
    )
}
CUSTOMER_KINDS = tuple(k for k, v in KINDS.items() if v.audience == "customer")
INTERNAL_KINDS = tuple(k for k, v in KINDS.items() if v.audience == "internal")


@dataclass(frozen=True)
class RenderedMessage:
    kind: str
    locale: str
    subject: str
    text: str
    html: str = ""


class UnknownMessageKind(ValueError):
    """A caller asked for a message the playbook does not have."""


def _locale_of(ctx: Any) -> tuple[str, str | None, str | None]:
    account = ctx.get("account") or {}
    return ctx.get("locale") or FALLBACK_LOCALE, account.get("region"), account.get("timezone")


@pass_context
def _date_filter(ctx: Any, value: Any) -> str:
    if value in (None, ""):
        raise ValueError("a date the message needs is missing")
    locale, region, _ = _locale_of(ctx)
    return format_day(value, locale, region)


@pass_context
def _when_filter(ctx: Any, value: Any) -> str:
    if value in (None, ""):
        raise ValueError("a time the message needs is missing")
    locale, region, tz = _locale_of(ctx)
    return format_when(value, locale, tz, region)


@pass_context
def _money_filter(ctx: Any, value: Any, currency: str | None = None) -> str:
    locale, region, _ = _locale_of(ctx)
    cur = currency or (ctx.get("account") or {}).get("currency") or "USD"
    return format_money(value, cur, locale, region)


@pass_context
def _number_filter(ctx: Any, value: Any) -> str:
    locale, region, _ = _locale_of(ctx)
    return format_number(value, locale, region)


def _is_zero(value: Any) -> bool:
    try:
        return float(value) == 0
    except (TypeError, ValueError):
        return not value


@lru_cache(maxsize=2)
def _env(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        date=_date_filter, when=_when_filter, money=_money_filter, number=_number_filter
    )
    env.tests["zero"] = _is_zero
    return env


def template_name(kind: str, locale: str) -> str:
    return f"email/{kind}.{locale}.j2"


def locales_of(kind: str) -> list[str]:
    """The locales a kind has a template for."""
    return sorted(p.name.split(".")[1] for p in EMAIL_DIR.glob(f"{kind}.*.j2"))


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _split_subject(raw: str, name: str) -> tuple[str, str]:
    first, _, body = raw.lstrip("\n").partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"template {name} must start with a 'Subject:' line")
    return first.removeprefix("Subject:").strip(), body


_URL = re.compile(r"(https?://[^\s<>\"]+)")


def _linkify(escaped_line: str) -> str:
    return _URL.sub(r'<a href="\1">\1</a>', escaped_line)


def blocks_to_html(escaped_body: str) -> Markup:
    """Paragraphs (blank-line separated) and `- ` lists of already-escaped text, as HTML.

    Within a block, consecutive `- ` lines become one list and other lines one paragraph
    (line breaks kept), so "What happens next:" followed by items reads as in the text.
    """
    out: list[str] = []
    for block in re.split(r"\n\s*\n", _tidy(escaped_body).strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        groups: list[tuple[bool, list[str]]] = []
        for line in lines:
            is_item = line.startswith("- ")
            if not groups or groups[-1][0] != is_item:
                groups.append((is_item, []))
            groups[-1][1].append(line[2:] if is_item else line)
        for is_list, group in groups:
            if is_list:
                lis = "".join(f"<li>{_linkify(x)}</li>\n" for x in group)
                out.append(f"<ul>\n{lis}</ul>")
            else:
                out.append("<p>" + "<br>\n".join(_linkify(x) for x in group) + "</p>")
    return Markup("\n".join(out))


def render(kind: str, context: dict[str, Any], locale: str = FALLBACK_LOCALE) -> RenderedMessage:
    """Subject, text and HTML for `kind` in `locale` (English when the locale has none)."""
    if kind not in KINDS:
        raise UnknownMessageKind(f"unknown message kind {kind!r}; known: {', '.join(KINDS)}")
    for loc in dict.fromkeys([locale or FALLBACK_LOCALE, FALLBACK_LOCALE]):
        name = template_name(kind, loc)
        try:
            text_tpl = _env(False).get_template(name)
        except TemplateNotFound:
            continue
        account = context.get("account") or {}
        ctx = {
            **context,
            "locale": loc,
            "kind": kind,
            "greeting": honorific_name(context.get("contact_name"), loc, account.get("name")),
        }
        subject, text = _split_subject(text_tpl.render(**ctx), name)
        _, html_body = _split_subject(_env(True).get_template(name).render(**ctx), name)
        html = (
            _env(True)
            .get_template("email/_layout.html.j2")
            .render(subject=subject, body=blocks_to_html(html_body), locale=loc)
        )
        return RenderedMessage(kind, loc, subject, _tidy(text), html)
    raise TemplateNotFound(template_name(kind, locale))


def sample_context(account: Any, *, contact_name: str | None = None) -> dict[str, Any]:
    """A complete, plausible context for previews and tests: a case confirmed on
    2026-03-02 with the default plan, an invoice with a refund, export links and the extras
    every kind reads. Real sends build theirs from the database (tasks.messaging)."""
    from offboarding.domain import Account

    account = Account.model_validate(account).model_dump(mode="json")
    contacts = account.get("contacts") or []
    name = contact_name if contact_name is not None else (contacts[0]["name"] if contacts else None)
    currency = account.get("currency", "USD")
    return {
        "account": account,
        "owner": account["owner"],
        "contact_name": name,
        "case": {
            "case_id": "C-PREVIEW1",
            "external_ref": "TCK-1001",
            "channel": "email",
            "requested_at": "2026-03-02T08:15:00+00:00",
            "reason_category": "product_gap",
            "reason_detail": "needs SAML single sign-on for compliance",
            "reason_text": "We need SSO; please cancel.",
            "competitor_name": None,
            "product_gap": "SAML SSO",
            "preventable": True,
            "missed_warning_signs": "admin logins fell in January",
            "closed_on": "2026-03-16",
        },
        "plan": {
            "confirmed_on": "2026-03-02",
            "export_due": "2026-03-04",
            "knowledge_transfer_from": "2026-03-05",
            "knowledge_transfer_until": "2026-03-08",
            "access_reduction_on": "2026-03-09",
            "closure_on": "2026-03-16",
            "deactivation_on": "2026-03-17",
            "purge_on": "2026-06-14",
            "backups_expire_on": "2027-06-14",
            "notice_waived": False,
            "early_termination": False,
        },
        "invoice": {
            "currency": currency,
            "issued_on": "2026-03-16",
            "closure_on": "2026-03-16",
            "total": "-412.90",
            "amount_due": "0.00",
            "refund_due": "412.90",
        },
        "export": {
            "links": [
                {"name": "account_and_users.csv", "url": "https://s3.example/x/a.csv?X-Sig=1&e=2"},
                {"name": "usage.jsonl", "url": "https://s3.example/x/u.jsonl?X-Sig=3&e=4"},
                {"name": "summary.pdf", "url": "https://s3.example/x/s.pdf?X-Sig=5&e=6"},
            ],
            "expires_on": "2026-03-11",
        },
        "retention": {"retention_days": 90, "backup_months": 12},
        "executive": {"name": "Erin Exec", "title": "VP Customer Success"},
        "extra": {
            "waiting_for": "approval-manager",
            "why": "no decision on approval-manager in time",
            "waiting_since": "2026-03-02T09:00:00+00:00",
            "decision_due": "2026-03-04T09:00:00+00:00",
            "comment": "",
            "command": "approve",
            "what": "manager approval",
            "requester": "someone@example.org",
            "by": "admin@example.org",
            "days": 7,
            "code": "40912785",
            "link": "https://offboarding.example/decide/eyJjIjoiQy1QUkVWSUVXMSJ9.c2ln",
            "expires_at": "2026-03-09T09:00:00+00:00",
            "winback_candidate": True,
            "winback_remind_on": "2026-09-16",
            "due_at": "2026-03-03T09:00:00+00:00",
            "target_hours": 24,
            "signal": {"type": "feature_shipped", "feature": "SAML SSO"},
            "episode": {
                "cause": "usage_drop",
                "evidence": "412 → 137 (-67 %)",
                "priority": "high",
                "impact": "high",
                "urgency": "medium",
                "context": [],
                "respond_by": "2026-03-03T09:00:00+00:00",
            },
            "others": [],
            "custom_opening": "",
            "deletion": {
                "deleted_at": "2026-06-14T02:00:00+00:00",
                "objects_deleted": 14,
                "backups_expire_on": "2027-06-14",
                "certificate_id": "DEL-C-PREVIEW1",
            },
        },
    }


__all__ = [
    "CUSTOMER_KINDS",
    "INTERNAL_KINDS",
    "KINDS",
    "MessageKind",
    "RenderedMessage",
    "UnknownMessageKind",
    "blocks_to_html",
    "locales_of",
    "render",
    "sample_context",
]
