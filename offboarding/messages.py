"""Render a message kind for a case from `templates/email/` (jinja2, subject + plain text).

Templates are starting points, not form letters (§12): each is personal, signed by the
named owner, and says how to reach a person. The account's locale picks the file, with
English as the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

CUSTOMER_KINDS = (
    "acknowledgement",
    "save_invitation",
    "offboarding_plan",
    "export_ready",
    "knowledge_transfer_offer",
    "access_change_notice",
    "exit_survey_invitation",
    "closure_confirmation",
    "executive_note",
)
INTERNAL_KINDS = ("internal_churn_notification", "escalation_notice", "back_to_support")


@dataclass(frozen=True)
class RenderedMessage:
    kind: str
    locale: str
    subject: str
    text: str


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # plain text; the HTML variants autoescape
    )


def render(kind: str, context: dict, locale: str = "en") -> RenderedMessage:
    env = _env()
    for loc in dict.fromkeys([locale, "en"]):
        try:
            template = env.get_template(f"email/{kind}.{loc}.txt.j2")
        except TemplateNotFound:
            continue
        raw = template.render(**context)
        first, _, body = raw.partition("\n")
        if not first.startswith("Subject:"):
            raise ValueError(f"template {kind}.{loc} must start with a 'Subject:' line")
        return RenderedMessage(kind, loc, first.removeprefix("Subject:").strip(), body.lstrip("\n"))
    raise TemplateNotFound(f"email/{kind}.{locale}.txt.j2")
