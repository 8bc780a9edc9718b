"""The wording of the export report and the deletion certificate, in the reader's language.

Each document is one template per locale, `templates/report/<name>.<locale>.md.j2`, written in
`adapters.pdf`'s markup; the account's locale picks the file and English is the fallback,
exactly as for the emails (`comms.messages`). Dates, times, numbers and money go through
Babel (`comms.locale_format`) for the locale, region and time zone, so a Japanese reader sees
2026年3月17日 and a Malaysian 17 Mac 2026, never an ISO string. The tone rules of the emails
(no guilt, no pressure, a person to reach) apply to this wording too (tests/unit/export).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_skeleton, get_timezone_location
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, pass_context

from offboarding.comms.locale_format import (
    FALLBACK_LOCALE,
    babel_locale,
    format_day,
    format_money,
    format_number,
    format_when,
    zone,
)

__all__ = ["REPORT_DIR", "RenderedReport", "format_month", "locales_of", "render_report"]

REPORT_DIR = Path(__file__).resolve().parents[2] / "templates" / "report"


@dataclass(frozen=True)
class RenderedReport:
    """Markup for `adapters.pdf.render_pdf`, and the locale it is written in."""

    name: str
    locale: str
    markup: str


def _where(ctx: Any) -> tuple[str, str | None, str | None]:
    return ctx.get("locale") or FALLBACK_LOCALE, ctx.get("region"), ctx.get("tz")


@pass_context
def _date(ctx: Any, value: Any) -> str:
    if value in (None, ""):
        raise ValueError("a date the document needs is missing")
    locale, region, _ = _where(ctx)
    return format_day(value, locale, region)


@pass_context
def _when(ctx: Any, value: Any) -> str:
    if value in (None, ""):
        raise ValueError("a time the document needs is missing")
    locale, region, tz = _where(ctx)
    return format_when(value, locale, tz, region)


@pass_context
def _number(ctx: Any, value: Any) -> str:
    """A count in the locale's digits and separators; a missing count reads as a dash."""
    if value is None:
        return "–"
    locale, region, _ = _where(ctx)
    return format_number(value, locale, region)


@pass_context
def _money(ctx: Any, value: Any, currency: str | None = None) -> str:
    locale, region, _ = _where(ctx)
    return format_money(value, currency or ctx.get("currency") or "USD", locale, region)


def format_month(month: str, locale: str, region: str | None = None, skeleton: str = "yMMM") -> str:
    """`2026-03` as the locale names a month: 'Mar 2026', '2026年3月', 'Mac 2026' (skeleton
    `yMM`: the digits-only form, '2026/03' in Japanese)."""
    year, mon = (int(x) for x in month.split("-")[:2])
    return format_skeleton(skeleton, date(year, mon, 1), locale=babel_locale(locale, region))


@pass_context
def _month(ctx: Any, value: str) -> str:
    locale, region, _ = _where(ctx)
    return format_month(value, locale, region)


@pass_context
def _territory(ctx: Any, code: str) -> str:
    """`JP` as the reader names it: Japan, 日本, Jepun."""
    locale, region, _ = _where(ctx)
    return babel_locale(locale, region).territories.get(str(code).upper(), code)


@pass_context
def _language(ctx: Any, code: str) -> str:
    locale, region, _ = _where(ctx)
    lang = str(code).replace("-", "_").split("_")[0].lower()
    return babel_locale(locale, region).languages.get(lang, code)


@pass_context
def _zone(ctx: Any, tz: str) -> str:
    """`Asia/Tokyo` as the reader names it: Japan Time, 日本時間, Waktu Jepun."""
    locale, region, _ = _where(ctx)
    zi = zone(tz)
    if zi.key in ("UTC", "Etc/UTC"):
        return "UTC"
    return get_timezone_location(zi, locale=babel_locale(locale, region))


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(REPORT_DIR),
        autoescape=True,  # values become XML text for reportlab's paragraph parser
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        date=_date,
        when=_when,
        number=_number,
        thousands=_number,
        money=_money,
        month=_month,
        territory=_territory,
        language=_language,
        zone=_zone,
    )
    return env


def locales_of(name: str) -> list[str]:
    """The locales a document has a template for."""
    return sorted(p.name.split(".")[1] for p in REPORT_DIR.glob(f"{name}.*.md.j2"))


def render_report(
    name: str,
    context: Mapping[str, Any],
    locale: str | None = None,
    region: str | None = None,
    tz: str | None = None,
) -> RenderedReport:
    """`name` in `locale` (English when the locale has no template), values formatted for
    the locale, `region` (ja + JP -> ja_JP) and time zone `tz`."""
    wanted = locale or FALLBACK_LOCALE
    language = wanted.replace("-", "_").split("_")[0].lower()
    for loc in dict.fromkeys([wanted, language, FALLBACK_LOCALE]):
        try:
            template = _env().get_template(f"{name}.{loc}.md.j2")
        except TemplateNotFound:
            continue
        ctx = {**context, "locale": loc, "region": region, "tz": tz or "UTC"}
        return RenderedReport(name, loc, template.render(**ctx))
    raise TemplateNotFound(f"{name}.{FALLBACK_LOCALE}.md.j2")
