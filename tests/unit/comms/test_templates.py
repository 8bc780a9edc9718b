"""Templates: rendered in the account's language (real Japanese and Malay, not English with a
translated subject), dates and money written the locale's way, HTML autoescaped, English as
the fallback."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from jinja2 import TemplateNotFound

from offboarding.comms.locale_format import (
    babel_locale,
    format_day,
    format_money,
    format_when,
    honorific_name,
)
from offboarding.comms.messages import (
    CUSTOMER_KINDS,
    INTERNAL_KINDS,
    KINDS,
    UnknownMessageKind,
    blocks_to_html,
    render,
    sample_context,
)

SAMPLE = Path(__file__).resolve().parents[3] / "offboarding" / "sample_data" / "accounts.json"
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")
LATIN_WORD = re.compile(r"[A-Za-z]+")
ENGLISH_WORDS = {
    "the", "and", "your", "you", "we", "our", "please", "thank", "thanks", "with", "will",
    "to", "of", "is", "are", "for", "this", "that", "data", "account",
}  # fmt: skip
MALAY_WORDS = {
    "anda", "kami", "dan", "untuk", "yang", "akaun", "terima", "kasih", "ini", "sila", "kes",
    "pelanggan", "daripada", "telah", "dengan", "tidak", "pada", "belum", "sebagai",
}  # fmt: skip


def account(account_id: str) -> dict[str, Any]:
    return next(a for a in json.loads(SAMPLE.read_text()) if a["account_id"] == account_id)


def neutral_context(acct: dict[str, Any]) -> dict[str, Any]:
    """Sample context whose free text is neutral, so only the template's own words remain."""
    ctx = sample_context(acct)
    ctx["case"].update(reason_detail="", missed_warning_signs="", product_gap=None)
    ctx["extra"].update(why="-", waiting_for="-", comment="")
    ctx["extra"]["signal"] = {"type": "feature_shipped", "feature": "-"}
    return ctx


def template_words(text: str, ctx: dict[str, Any]) -> str:
    """The message without the values that came from data (names, emails, URLs, titles)."""
    values = [ctx["account"]["name"], ctx["owner"]["name"], ctx["owner"]["title"]]
    values += [ctx["owner"]["email"], ctx["owner"]["phone"], ctx["contact_name"] or ""]
    values += [ctx["executive"]["name"], ctx["executive"]["title"], ctx["case"]["case_id"]]
    values += [ctx["case"]["external_ref"], ctx["case"]["reason_category"]]
    values += [link["url"] for link in ctx["export"]["links"]]
    values += [link["name"] for link in ctx["export"]["links"]]
    values += [str(ctx["extra"].get(k) or "") for k in ("requester", "by", "link", "code")]
    for v in sorted(filter(None, values), key=len, reverse=True):
        text = text.replace(v, " ")
    text = re.sub(r"`[^`]*`", " ", text)  # commands quoted for the team
    return re.sub(r"\b(CSV|JSON|PDF|ARR|CRM|CS|SMB|smb|Prefect|UI|SSO|SAML|US|USD)\b", " ", text)


@pytest.mark.parametrize("kind", CUSTOMER_KINDS)
def test_japanese_messages_are_written_in_japanese(kind: str) -> None:
    ctx = neutral_context(account("SAKURA-JP"))
    msg = render(kind, ctx, "ja")
    assert msg.locale == "ja"
    for part in (msg.subject, msg.text):
        words = template_words(part, ctx)
        ja = len(JAPANESE.findall(words))
        latin = sum(len(w) for w in LATIN_WORD.findall(words))
        assert ja > 0 and ja / (ja + latin) > 0.9, (kind, part[:80], latin)
    assert "様" in msg.text.splitlines()[1], "the addressee line uses 様"
    assert "よろしくお願いいたします" in msg.text or kind == "executive_note"


@pytest.mark.parametrize("kind", CUSTOMER_KINDS + INTERNAL_KINDS)
def test_malay_messages_are_written_in_malay(kind: str) -> None:
    ctx = neutral_context(account("KAMPUNG-MY"))
    msg = render(kind, ctx, "ms")
    assert msg.locale == "ms"
    words = {w.lower() for w in LATIN_WORD.findall(template_words(msg.text, ctx))}
    assert not (words & ENGLISH_WORDS - {"data"}), sorted(words & ENGLISH_WORDS)
    assert len(words & MALAY_WORDS) >= 3, sorted(words)
    subject_words = {w.lower() for w in LATIN_WORD.findall(template_words(msg.subject, ctx))}
    assert not (subject_words & ENGLISH_WORDS - {"data"}), msg.subject


@pytest.mark.parametrize("kind", INTERNAL_KINDS)
def test_japanese_internal_notices_are_japanese_too(kind: str) -> None:
    ctx = neutral_context(account("SAKURA-JP"))
    msg = render(kind, ctx, "ja")
    words = template_words(msg.text, ctx)
    assert len(JAPANESE.findall(words)) > 40 and "チーム各位" in msg.text or "サポート" in msg.text


def test_dates_and_money_follow_the_locale() -> None:
    for acct_id, locale, closed, refund in (
        ("ACME-SMB", "en", "March 16, 2026", "$412.90"),
        ("SAKURA-JP", "ja", "2026年3月16日", "$412.90"),
        ("KAMPUNG-MY", "ms", "16 Mac 2026", "USD412.90"),
    ):
        msg = render("closure_confirmation", sample_context(account(acct_id)), locale)
        assert closed in msg.subject and closed in msg.text
        assert refund in msg.text
        assert "2026-03-16" not in msg.text


def test_an_unknown_locale_falls_back_to_english() -> None:
    msg = render("acknowledgement", sample_context(account("ACME-SMB")), "fr")
    assert msg.locale == "en" and msg.text.startswith("Dear Ann Baker,")


def test_an_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(UnknownMessageKind, match="unknown message kind 'goodbye'"):
        render("goodbye", sample_context(account("ACME-SMB")))


def test_a_missing_template_for_every_locale_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "ghost", KINDS["acknowledgement"])
    with pytest.raises(TemplateNotFound):
        render("ghost", sample_context(account("ACME-SMB")), "ja")


def test_html_is_autoescaped_and_text_is_not() -> None:
    acct = {**account("ACME-SMB"), "name": "Tom & Jerry <Ltd>"}
    msg = render("acknowledgement", sample_context(acct), "en")
    assert "Tom & Jerry <Ltd>" in msg.subject and "Tom & Jerry <Ltd>" in msg.text
    assert "Tom &amp; Jerry &lt;Ltd&gt;" in msg.html and "<Ltd>" not in msg.html
    assert "<title>Your cancellation request for Tom &amp; Jerry &lt;Ltd&gt;" in msg.html


def test_html_has_paragraphs_lists_and_links() -> None:
    msg = render("export_ready", sample_context(account("KAMPUNG-MY")), "ms")
    assert msg.html.startswith("<!DOCTYPE html>") and '<html lang="ms">' in msg.html
    assert msg.html.count("<li>") == 3
    assert '<a href="https://s3.example/x/a.csv?X-Sig=1&amp;e=2">' in msg.html
    assert "<p>Salam sejahtera Tuan/Puan Ahmad Ismail,</p>" in msg.html


def test_blocks_to_html_keeps_lines_and_groups_lists() -> None:
    html = str(blocks_to_html("Intro:\n- one\n- two\n\nKind regards,\nSam"))
    assert (
        html
        == "<p>Intro:</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n<p>Kind regards,<br>\nSam</p>"
    )


def test_every_customer_message_is_signed_by_the_owner() -> None:
    for acct_id, locale in (("ACME-SMB", "en"), ("SAKURA-JP", "ja"), ("KAMPUNG-MY", "ms")):
        ctx = sample_context(account(acct_id))
        for kind in CUSTOMER_KINDS:
            text = render(kind, ctx, locale).text
            owner = ctx["owner"]
            for part in (owner["name"], owner["email"], owner["phone"]):
                assert part in text, (kind, locale, part)
            if kind != "executive_note":
                assert owner["title"] in text, (kind, locale)


def test_internal_messages_are_not_signed_as_a_customer_letter() -> None:
    ctx = sample_context(account("GLOBEX-ENT"))
    for kind in INTERNAL_KINDS:
        text = render(kind, ctx, "en").text
        assert "To reach a person" not in text and "Kind regards" not in text


def test_the_internal_churn_notice_says_who_why_when_and_where() -> None:
    ctx = sample_context(account("GLOBEX-ENT"))
    ctx["case"]["competitor_name"] = "Initrode"
    text = render("internal_churn_notification", ctx, "en").text
    assert "Globex Corporation churned on March 16, 2026" in text
    assert "Reason: product_gap (needs SAML single sign-on for compliance)" in text
    assert "Moving to Initrode." in text and "$480,000.00" in text


# -- locale formatting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "region", "expected"),
    [
        ("en", "US", "March 17, 2026"),
        ("en", "GB", "17 March 2026"),
        ("en", "DE", "17 March 2026"),
        ("ja", "JP", "2026年3月17日"),
        ("ms", "MY", "17 Mac 2026"),
        ("ja", None, "2026年3月17日"),
        ("xx", None, "March 17, 2026"),
    ],
)
def test_format_day(locale: str, region: str | None, expected: str) -> None:
    assert format_day(date(2026, 3, 17), locale, region) == expected
    assert format_day("2026-03-17", locale, region) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "region", "expected"),
    [
        ("1234.5", "USD", "en", "US", "$1,234.50"),
        ("1234.5", "EUR", "en", "DE", "1.234,50\xa0€"),
        ("1234", "JPY", "ja", "JP", "￥1,234"),
        ("1234.5", "MYR", "ms", "MY", "RM1,234.50"),
        ("-412.9", "USD", "en", "US", "-$412.90"),
    ],
)
def test_format_money(amount: str, currency: str, locale: str, region: str, expected: str) -> None:
    assert format_money(amount, currency, locale, region) == expected


def test_format_money_refuses_a_non_amount() -> None:
    with pytest.raises(ValueError, match="not an amount"):
        format_money("twelve", "USD", "en")


def test_format_when_uses_the_readers_time_zone() -> None:
    at = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert format_when(at, "ja", "Asia/Tokyo", "JP") == "2026年3月2日 17:15 日本時間"
    assert (
        format_when(at, "en", "America/Chicago", "US") == "March 2, 2026 2:15\u202fAM Central Time"
    )
    assert format_when(at.isoformat(), "en", "Not/AZone") == "March 2, 2026 8:15\u202fAM UTC"


def test_honorific_names() -> None:
    assert honorific_name("佐藤 花子", "ja") == "佐藤 花子 様"
    assert honorific_name("Ahmad Ismail", "ms") == "Tuan/Puan Ahmad Ismail"
    assert honorific_name("Ann Baker", "en") == "Ann Baker"
    assert honorific_name(None, "ja", "Sakura Design KK") == "Sakura Design KK ご担当者様"
    assert honorific_name(None, "en", "Acme") == "Acme team"
    assert honorific_name("", "ms") == "Tuan/Puan"


def test_babel_locale_pairs_language_and_region() -> None:
    assert str(babel_locale("ja", "JP")) == "ja_JP"
    assert str(babel_locale("en", "JP")) == "en"
    assert str(babel_locale("ms-MY")) == "ms"


def test_naive_times_are_read_as_utc() -> None:
    """SQLite hands back naive datetimes; they are UTC, not the machine's local time."""
    assert format_when("2026-03-02 08:15:00", "ja", "Asia/Tokyo") == "2026年3月2日 17:15 日本時間"
