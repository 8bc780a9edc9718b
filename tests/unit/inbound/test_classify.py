"""The cancellation keyword table: a clear request opens a case; a mention, a question or a
"don't" goes to triage; nothing else is a cancellation."""

from __future__ import annotations

import pytest

from offboarding.inbound.classify import CANCELLATION, MAYBE, OTHER, classify


@pytest.mark.parametrize(
    ("subject", "body", "verdict"),
    [
        ("Cancel my account", "", CANCELLATION),
        ("", "Please terminate our subscription at the end of the month.", CANCELLATION),
        ("Leaving", "We would like to close our Acme account.", CANCELLATION),
        ("", "We have decided to cancel, thanks for everything.", CANCELLATION),
        ("Cancellation request", "", CANCELLATION),
        ("", "We will not be renewing the contract.", CANCELLATION),
        ("解約のお願い", "", CANCELLATION),
        ("", "退会したいです。", CANCELLATION),
        ("", "契約をキャンセルしたいです", CANCELLATION),
        ("", "ｷｬﾝｾﾙをお願いします", CANCELLATION),  # half-width katakana folded
        ("Permohonan", "Saya mahu batalkan langganan kami.", CANCELLATION),
        ("", "Sila tamatkan akaun syarikat kami", CANCELLATION),
        ("", "Tolong tutup akaun saya", CANCELLATION),
        ("", "We do not want to cancel our account, just downgrade.", MAYBE),
        ("", "How do I cancel my subscription?", MAYBE),
        ("", "Please withdraw my earlier cancellation request.", MAYBE),
        ("", "解約しないでください", MAYBE),
        ("", "解約方法を教えてください", MAYBE),
        ("", "Saya tidak mahu batalkan langganan", MAYBE),
        ("Meeting", "I need to cancel tomorrow's meeting.", MAYBE),
        ("", "注文をキャンセル", MAYBE),
        ("", "Mesyuarat dibatal? batal", MAYBE),
        ("Invoice question", "At the end of the plan year we want more seats.", OTHER),
        ("Hello", "Great product, thanks!", OTHER),
        ("", "", OTHER),
    ],
)
def test_the_keyword_table(subject: str, body: str, verdict: str) -> None:
    result = classify(subject, body)
    assert result.verdict == verdict, result
    assert result.is_cancellation == (verdict == CANCELLATION)
    assert bool(result.matched) == (verdict != OTHER)


def test_a_helpdesk_tag_is_as_clear_as_a_phrase() -> None:
    assert classify("Billing", "see attached", ("cancellation",), ("Cancellation",)).verdict == (
        CANCELLATION
    )
    assert classify("Billing", "see attached", ("vip",), ("cancellation",)).verdict == OTHER


def test_a_negation_wins_over_a_clear_phrase() -> None:
    result = classify("Cancel my account", "Actually, don't cancel my account: we changed our mind")
    assert result.verdict == MAYBE and "may not be" in result.why
