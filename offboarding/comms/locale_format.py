"""Dates, times, money and names written the way the reader's locale writes them (Babel).

A Japanese customer reads 2026年3月17日 and a Malaysian 17 Mac 2026: messages format every
value through these functions (as Jinja filters) instead of printing ISO strings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError, localedata
from babel.dates import format_date, format_time, get_timezone_name
from babel.numbers import format_currency, format_decimal

SUPPORTED_LOCALES = ("en", "ja", "ms")
FALLBACK_LOCALE = "en"


@lru_cache(maxsize=64)
def babel_locale(locale: str, region: str | None = None) -> Locale:
    """`ja` + `JP` -> ja_JP; an unknown pairing (en + JP) falls back to the language alone."""
    lang = (locale or FALLBACK_LOCALE).split("_")[0].split("-")[0].lower()
    if region and localedata.exists(f"{lang}_{region.upper()}"):
        return Locale.parse(f"{lang}_{region.upper()}")
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(FALLBACK_LOCALE)


def as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def as_datetime(value: datetime | str) -> datetime:
    """A moment; naive values are UTC, as everything we store is (SQLite drops the zone)."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_day(value: date | datetime | str, locale: str, region: str | None = None) -> str:
    """A calendar day: 'March 17, 2026' / '17 March 2026' / '2026年3月17日' / '17 Mac 2026'."""
    return format_date(as_date(value), format="long", locale=babel_locale(locale, region))


def format_when(
    value: datetime | str, locale: str, tz: str | None = None, region: str | None = None
) -> str:
    """A moment in the reader's time zone, with the zone named so nobody converts by hand."""
    loc = babel_locale(locale, region)
    when = as_datetime(value)
    zi = zone(tz)
    day = format_date(when.astimezone(zi).date(), format="long", locale=loc)
    time = format_time(when, format="short", tzinfo=zi, locale=loc)
    utc = zi.key in ("UTC", "Etc/UTC", "Etc/GMT")
    name = "UTC" if utc else get_timezone_name(zi, "long", locale=loc)
    return f"{day} {time} {name}"


def format_money(
    amount: Decimal | float | int | str, currency: str, locale: str, region: str | None = None
) -> str:
    """Money with the currency's symbol and the locale's separators."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    return format_currency(value, currency, locale=babel_locale(locale, region))


def format_number(value: float | int | str, locale: str, region: str | None = None) -> str:
    return format_decimal(Decimal(str(value)), locale=babel_locale(locale, region))


def honorific_name(name: str | None, locale: str, organisation: str | None = None) -> str:
    """How a letter addresses a person: 'Ann Baker' / '佐藤 花子 様' / 'Tuan/Puan Ahmad Ismail'.

    Without a name the letter addresses the organisation's team politely, never 'Customer'.
    """
    lang = babel_locale(locale).language
    if not name:
        if lang == "ja":
            return f"{organisation} ご担当者様" if organisation else "ご担当者様"
        if lang == "ms":
            return f"Pasukan {organisation}" if organisation else "Tuan/Puan"
        return f"{organisation} team" if organisation else "Sir or Madam"
    if lang == "ja":
        return f"{name} 様"
    if lang == "ms":
        return f"Tuan/Puan {name}"
    return name
