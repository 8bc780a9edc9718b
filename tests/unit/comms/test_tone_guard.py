"""Tone guard: every template, in every locale, for varied cases, reads as the playbook asks.

It fails on a guilt or pressure phrase from the maintained lists below (§1 "thanks without
guilt", §3 "beyond is harassment", §11 "strategic, not spam", seed 003 "no dark patterns"),
on a customer message without the owner's direct contact line, and on anything left
unrendered. Add a phrase here when a review finds one; never weaken a template to pass.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offboarding.comms.messages import CUSTOMER_KINDS, KINDS, locales_of, render, sample_context

SAMPLE = Path(__file__).resolve().parents[3] / "offboarding" / "sample_data" / "accounts.json"
LOCALES = ("en", "ja", "ms")

#: Guilt, pressure, begging and impersonal form-letter phrases, per language (lower case).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "en": (
        "sorry to see you go",
        "sad to see you go",
        "we'll miss you",
        "we will miss you",
        "heartbroken",
        "after all we",
        "abandon",
        "betray",
        "disappointed",
        "you'll regret",
        "you will regret",
        "last chance",
        "don't miss out",
        "act now",
        "hurry",
        "limited time",
        "before it's too late",
        "special offer",
        "exclusive offer",
        "are you sure",
        "reconsider",
        "think again",
        "don't go",
        "please stay",
        "you will lose",
        "you'll lose",
        "final warning",
        "you must",
        "you have to",
        "required to answer",
        "dear customer",
        "dear valued customer",
    ),
    "ja": (
        "残念",
        "寂しい",
        "さみしい",
        "悲しい",
        "後悔",
        "今だけ",
        "期間限定",
        "最後のチャンス",
        "お急ぎ",
        "本当によろしいですか",
        "考え直",
        "再考",
        "見捨て",
        "失望",
        "必ずご回答",
        "損をし",
        "お客様各位",
        "引き止め",
    ),
    "ms": (
        "sedih",
        "kecewa",
        "menyesal",
        "peluang terakhir",
        "tawaran terhad",
        "tawaran istimewa",
        "bertindak segera",
        "sila segera",
        "jangan lepaskan",
        "adakah anda pasti",
        "fikir semula",
        "pertimbangkan semula",
        "jangan pergi",
        "kami akan merindui",
        "anda akan kehilangan",
        "wajib menjawab",
        "pelanggan yang dihargai",
    ),
}

#: The line that tells the reader how to reach a person (with the owner's phone and email).
CONTACT_LINE = {
    "en": "To reach a person",
    "ja": "担当者に直接ご連絡いただけます",
    "ms": "Untuk berhubung terus dengan seseorang",
}

UNRENDERED = [
    re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}"),  # Jinja syntax
    re.compile(r"\[[^\]\n]{1,40}\]"),  # [Account Name], [date]: form-letter placeholders
    re.compile(r"\b(None|undefined|nan|null|True|False)\b"),  # Python/JSON values leaking
    re.compile(r"\d{4}-\d{2}-\d{2}"),  # an ISO date that skipped locale formatting
]


def accounts() -> list[dict[str, Any]]:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    wanted = ("ACME-SMB", "GLOBEX-ENT", "SAKURA-JP", "KAMPUNG-MY")
    return [a for a in data if a["account_id"] in wanted]


def _base(account: dict[str, Any]) -> dict[str, Any]:
    return sample_context(account)


def _no_contact(account: dict[str, Any]) -> dict[str, Any]:
    return sample_context({**account, "contacts": []})


def _awkward_names(account: dict[str, Any]) -> dict[str, Any]:
    acct = {**account, "name": "O'Brien & Sons <b>Ltd</b>"}
    ctx = sample_context(acct, contact_name="Zoë d'Arc <i>")
    ctx["case"]["reason_detail"] = 'said "too slow" & <script>alert(1)</script>'
    return ctx


def _strategic_waived_competitor(account: dict[str, Any]) -> dict[str, Any]:
    ctx = sample_context({**account, "strategic": True})
    ctx["plan"]["notice_waived"] = True
    ctx["case"].update(
        competitor_name="Initrode", reason_detail="", product_gap=None, preventable=None
    )
    ctx["extra"].update(comment="notice applies", winback_candidate=False, winback_remind_on=None)
    return ctx


def _amount_due(account: dict[str, Any]) -> dict[str, Any]:
    ctx = sample_context(account)
    ctx["invoice"].update(total="1250.00", amount_due="1250.00", refund_due="0.00")
    ctx["extra"].update(waiting_since="None", decision_due="None")  # as an escalation may pass
    return ctx


def _nothing_due(account: dict[str, Any]) -> dict[str, Any]:
    ctx = sample_context(account)
    ctx["invoice"].update(total="0.00", amount_due="0.00", refund_due="0.00")
    ctx["export"]["links"] = ctx["export"]["links"][:1]
    ctx["extra"]["deletion"] = {"deleted_at": "2026-06-14", "backups_expire_on": "2027-06-14"}
    return ctx


def _no_invoice(account: dict[str, Any]) -> dict[str, Any]:
    ctx = sample_context(account)
    ctx["invoice"] = None
    ctx["case"]["closed_on"] = None
    return ctx


def _signal(kind: str, **details: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def make(account: dict[str, Any]) -> dict[str, Any]:
        ctx = sample_context(account)
        ctx["extra"]["signal"] = {"type": kind, "feature": "", "company": "", **details}
        return ctx

    make.__name__ = f"_signal_{kind}"
    return make


VARIANTS = [
    _base,
    _no_contact,
    _awkward_names,
    _strategic_waived_competitor,
    _amount_due,
    _nothing_due,
    _no_invoice,
    _signal("season_returns"),
    _signal("champion_moved", company="Hooli"),
    _signal("champion_moved"),
    _signal("competitor_price_change", competitor="Initrode"),
    _signal("growth_phase"),
]


def problems(kind: str, locale: str, ctx: dict[str, Any], subject: str, text: str, html: str):
    """Everything wrong with one rendered message (empty: it passes)."""
    found: list[str] = []
    lowered = (subject + "\n" + text).lower()
    if kind in CUSTOMER_KINDS:
        for phrase in FORBIDDEN[locale]:
            if phrase.lower() in lowered:
                found.append(f"guilt/pressure phrase {phrase!r}")
        owner = ctx["owner"]
        if CONTACT_LINE[locale] not in text:
            found.append("no line saying how to reach a person")
        for value in (owner["email"], owner["phone"], owner["name"]):
            if value not in text:
                found.append(f"owner contact {value!r} missing from the text")
            if value.replace("&", "&amp;") not in html:
                found.append(f"owner contact {value!r} missing from the HTML")
    for pattern in UNRENDERED:
        for where, body in (("subject", subject), ("text", text)):
            if m := pattern.search(body):
                found.append(f"unrendered {m.group(0)!r} in the {where}")
    if m := UNRENDERED[0].search(html):
        found.append(f"unrendered {m.group(0)!r} in the HTML")
    if not subject.strip() or "\n" in subject:
        found.append("empty or multi-line subject")
    if "<script>" in html or "<b>Ltd" in html or "<i>" in html:
        found.append("a value reached the HTML unescaped")
    return found


def test_every_kind_has_every_locale() -> None:
    missing = [(k, loc) for k in KINDS for loc in LOCALES if loc not in locales_of(k)]
    assert missing == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_tone_contact_and_placeholders(kind: str, locale: str) -> None:
    failures = []
    renders = 0
    for account in accounts():
        for variant in VARIANTS:
            ctx = variant(copy.deepcopy(account))
            msg = render(kind, ctx, locale)
            assert msg.locale == locale
            renders += 1
            for p in problems(kind, locale, ctx, msg.subject, msg.text, msg.html):
                failures.append(
                    f"{kind}.{locale} [{account['account_id']} {variant.__name__}]: {p}"
                )
    assert renders == len(accounts()) * len(VARIANTS)
    assert failures == [], "\n".join(failures[:20])


@pytest.mark.parametrize(
    ("locale", "bad", "expect"),
    [
        ("en", "We are so sorry to see you go. Last chance!", "guilt/pressure"),
        ("ja", "ご解約は大変残念です。", "guilt/pressure"),
        ("ms", "Kami sedih anda pergi.", "guilt/pressure"),
        ("en", "Dear [Customer Name], closing on 2026-03-16.", "unrendered"),
        ("en", "Hello {{ contact_name }}", "unrendered"),
        ("ja", "解約日：None", "unrendered"),
    ],
)
def test_the_guard_catches_what_it_should(locale: str, bad: str, expect: str) -> None:
    """Guard the guard: a bad text is reported, so a green run means something."""
    account = next(a for a in accounts() if a["locale"] == locale)
    ctx = sample_context(account)
    msg = render("acknowledgement", ctx, locale)
    found = problems("acknowledgement", locale, ctx, msg.subject, bad + "\n" + msg.text, msg.html)
    assert any(expect in f for f in found), found


def test_the_guard_catches_a_missing_contact_line() -> None:
    account = accounts()[0]
    ctx = sample_context(account)
    msg = render("closure_confirmation", ctx, "en")
    cut = msg.text.replace(CONTACT_LINE["en"], "Bye")
    found = problems("closure_confirmation", "en", ctx, msg.subject, cut, msg.html)
    assert "no line saying how to reach a person" in found
