"""The export report and the deletion certificate read as the emails do (issue 16): one template
per locale chosen by the account's locale with English fallback, values formatted by Babel for
the locale, and the emails' tone guard (tests/unit/comms/test_tone_guard.py) applied to their
wording: no guilt or pressure phrase, a line saying how to reach a person with the owner's
name, email and phone, nothing left unrendered, no ISO date."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from offboarding.export.deletion_certificate import certificate_markup
from offboarding.export.report import export_report_markup
from offboarding.export.wording import format_month, locales_of, render_report
from tests.unit.comms.test_tone_guard import CONTACT_LINE, FORBIDDEN, UNRENDERED
from tests.unit.export.report_fixtures import (
    LOCALES,
    certificate,
    document_text,
    profile,
    report_args,
    usage,
)

ACCOUNTS = ("ACME-SMB", "GLOBEX-ENT", "SAKURA-JP", "KAMPUNG-MY")
DOCUMENTS = ("export_report", "deletion_certificate")
#: Commands the reader types: code, not a Python value leaking into the text.
CODE = ("lines=True",)
AWKWARD = "O'Brien & Sons <b>Ltd</b>"


def problems(locale: str, owner: dict[str, str], markup: str) -> list[str]:
    """Everything wrong with one rendered document (empty: it passes)."""
    found: list[str] = []
    said = document_text(markup)
    lowered = said.lower()
    for phrase in FORBIDDEN[locale]:
        if phrase.lower() in lowered:
            found.append(f"guilt/pressure phrase {phrase!r}")
    if CONTACT_LINE[locale] not in said:
        found.append("no line saying how to reach a person")
    for value in (owner["email"], owner["phone"], owner["name"]):
        if value not in said:
            found.append(f"owner contact {value!r} missing")
    checked = said
    for code in CODE:
        checked = checked.replace(code, "")
    for pattern in UNRENDERED:
        if m := pattern.search(checked):
            found.append(f"unrendered {m.group(0)!r}")
    if "<b>Ltd" in markup or "<script>" in markup:
        found.append("a value reached the markup unescaped")
    return found


# -- variants of the report, as the export task can be called ---------------------------------


def _case_export(account: dict[str, Any]) -> dict[str, Any]:
    return report_args(account)


def _standalone(account: dict[str, Any]) -> dict[str, Any]:
    return report_args(account, retention=None, export_id="E-20260302T081500-1a2b3c")


def _no_usage(account: dict[str, Any]) -> dict[str, Any]:
    return report_args(account, usage=None)


def _no_retention_dates(account: dict[str, Any]) -> dict[str, Any]:
    retention = {"closed_on": "2026-03-16", "purge_on": None, "backups_expire_on": None}
    return report_args(account, retention={**retention, "retention_days": 90})


def _awkward_names(account: dict[str, Any]) -> dict[str, Any]:
    groups = {'said "hi" & <script>': 3, "ログイン": 2}
    return report_args({**account, "name": AWKWARD}, usage=usage(groups))


REPORT_VARIANTS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [
    _case_export,
    _standalone,
    _no_usage,
    _no_retention_dates,
    _awkward_names,
]


def _cert_base(cert: dict[str, Any]) -> dict[str, Any]:
    return cert


def _cert_unverified(cert: dict[str, Any]) -> dict[str, Any]:
    cert["verification"].update(empty=False, prefix_listed_after_delete=2)
    cert["run"] = {"id": None, "trigger": "manual"}
    cert["retention"].update(closed_on=None, planned_purge_on=None)
    return cert


def _cert_awkward(cert: dict[str, Any]) -> dict[str, Any]:
    cert["account_name"] = AWKWARD
    cert["our_records_erased"]["something_new"] = 3  # a record type no template names yet
    return cert


CERT_VARIANTS = [_cert_base, _cert_unverified, _cert_awkward]


def test_every_document_has_every_locale() -> None:
    assert {d: locales_of(d) for d in DOCUMENTS} == {d: list(LOCALES) for d in DOCUMENTS}


@pytest.mark.parametrize("locale", LOCALES)
def test_report_tone_contact_and_placeholders(locale: str) -> None:
    failures = []
    for account_id in ACCOUNTS:
        account = profile(account_id)
        for variant in REPORT_VARIANTS:
            args = variant(copy.deepcopy(account))
            doc = export_report_markup(**{**args, "locale": locale})
            assert doc.locale == locale
            for p in problems(locale, account["owner"], doc.markup):
                failures.append(f"export_report.{locale} [{account_id} {variant.__name__}]: {p}")
    assert failures == [], "\n".join(failures[:20])


@pytest.mark.parametrize("locale", LOCALES)
def test_certificate_tone_contact_and_placeholders(locale: str) -> None:
    failures = []
    for account_id in ACCOUNTS:
        account = profile(account_id)
        for variant in CERT_VARIANTS:
            cert = variant(copy.deepcopy(certificate(account)))
            doc = certificate_markup(cert, locale, account)
            assert doc.locale == locale
            for p in problems(locale, account["owner"], doc.markup):
                failures.append(f"certificate.{locale} [{account_id} {variant.__name__}]: {p}")
    assert failures == [], "\n".join(failures[:20])


@pytest.mark.parametrize(
    ("locale", "bad", "expect"),
    [
        ("en", "We are so sorry to see you go. Last chance!", "guilt/pressure"),
        ("ja", "ご解約は大変残念です。", "guilt/pressure"),
        ("ms", "Kami sedih anda pergi.", "guilt/pressure"),
        ("en", "Deleted on 2026-06-14.", "unrendered"),
        ("ja", "削除日：None", "unrendered"),
        ("ms", "Akaun [Nama Akaun]", "unrendered"),
    ],
)
def test_the_guard_catches_what_it_should(locale: str, bad: str, expect: str) -> None:
    """Guard the guard: a bad line in a real document is reported."""
    account = profile({"en": "ACME-SMB", "ja": "SAKURA-JP", "ms": "KAMPUNG-MY"}[locale])
    doc = export_report_markup(**report_args(account))
    found = problems(locale, account["owner"], doc.markup + "\n" + bad + "\n")
    assert any(expect in f for f in found), found
    cut = doc.markup.replace(CONTACT_LINE[locale], "")
    assert "no line saying how to reach a person" in problems(locale, account["owner"], cut)


def test_the_accounts_locale_picks_the_wording_with_english_fallback() -> None:
    sakura = profile("SAKURA-JP")
    args = report_args(sakura)
    assert export_report_markup(**args).locale == "ja"
    assert export_report_markup(**{**args, "locale": "ja_JP"}).locale == "ja"
    assert export_report_markup(**{**args, "locale": "ms-MY"}).locale == "ms"
    french = export_report_markup(**{**args, "locale": "fr"})
    assert french.locale == "en" and "Your data export" in french.markup
    assert render_report(
        "deletion_certificate", {"c": certificate(sakura), "owner": None}
    ).locale == ("en")


def test_values_are_written_for_the_locale_region_and_time_zone() -> None:
    ja = export_report_markup(**report_args(profile("SAKURA-JP"))).markup
    assert "2026年3月2日" in ja and "2026年6月14日" in ja  # prepared, purge day
    assert "123,456" in ja and "日本時間" in ja and "日本語" in ja
    ms = export_report_markup(**report_args(profile("KAMPUNG-MY"))).markup
    assert "2 Mac 2026" in ms and "14 Jun 2026" in ms and "Malaysia" in ms
    en = export_report_markup(**report_args(profile("ACME-SMB"))).markup
    assert "March 2, 2026" in en or "2 March 2026" in en
    # the moment of deletion in the reader's zone: 02:00 UTC is 11:00 in Tokyo
    cert = certificate_markup(certificate(profile("SAKURA-JP")), "ja", profile("SAKURA-JP"))
    assert "2026年6月14日 11:00" in cert.markup
    cert = certificate_markup(certificate(profile("KAMPUNG-MY")), "ms", profile("KAMPUNG-MY"))
    assert "14 Jun 2026 10:00" in cert.markup


def test_months_on_the_chart_axis() -> None:
    assert format_month("2026-03", "en") == "Mar 2026"
    assert format_month("2026-03", "ja", "JP") == "2026年3月"
    assert format_month("2026-03", "ja", "JP", "yMM") == "2026/03"
    assert format_month("2026-03", "ms", "MY") == "Mac 2026"
