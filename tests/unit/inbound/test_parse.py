"""A SendGrid Inbound Parse post as data: sender, subject, body (HTML as text), attachments'
metadata, Message-ID and thread, and whether SPF/DKIM vouched for the From domain."""

from __future__ import annotations

import json

import pytest

from offboarding.inbound.parse import (
    MAX_KEY,
    html_to_text,
    key_for,
    parse_dkim,
    parse_sendgrid,
    reason_text,
)

HEADERS = (
    "Received: by mx.sendgrid.net\n"
    "From: Ann Baker <Ann@Acme-Bakeries.example>\n"
    "To: cancel@offboarding.example\n"
    "Subject: Cancel my account\n"
    "Message-ID: <abc.123@mail.acme-bakeries.example>\n"
    "In-Reply-To: <first@offboarding.example>\n"
    "References: <root@offboarding.example> <first@offboarding.example>\n"
)


def fields(**overrides: str) -> dict[str, str]:
    base = {
        "headers": HEADERS,
        "from": "Ann Baker <ann@acme-bakeries.example>",
        "to": "cancel@offboarding.example",
        "subject": "Cancel my account",
        "text": "Please cancel our account.\n",
        "html": "<p>Please cancel our account.</p>",
        "envelope": json.dumps({"from": "ann@acme-bakeries.example", "to": ["cancel@x.example"]}),
        "dkim": "{@acme-bakeries.example : pass}",
        "SPF": "pass",
        "sender_ip": "192.0.2.10",
        "charsets": json.dumps({"text": "utf-8"}),
        "attachments": "1",
        "attachment-info": json.dumps({"attachment1": {"filename": "letter.pdf",
                                                        "type": "application/pdf"}}),
    }  # fmt: skip
    base.update(overrides)
    return base


def test_a_post_is_read_from_its_fields() -> None:
    files = {"attachment1": ("upload.bin", "application/octet-stream", 12, "ab" * 32)}
    mail = parse_sendgrid(fields(), files)
    assert (mail.sender, mail.sender_name) == ("ann@acme-bakeries.example", "Ann Baker")
    assert mail.subject == "Cancel my account"
    assert mail.body == "Please cancel our account."
    assert mail.message_id == "abc.123@mail.acme-bakeries.example"
    assert mail.key == "email:abc.123@mail.acme-bakeries.example"
    assert mail.references == ("first@offboarding.example", "root@offboarding.example")
    assert mail.thread_keys[0] == "email:first@offboarding.example"
    assert [a.as_dict() for a in mail.attachments] == [
        {"name": "letter.pdf", "type": "application/pdf", "size": 12, "sha256": "ab" * 32}
    ]
    assert mail.authentication() == (True, "DKIM pass for acme-bakeries.example")


def test_html_only_bodies_become_text() -> None:
    html = (
        "<html><head><style>p{}</style></head><body>"
        "<p>Bitte</p><p>k&uuml;ndigen &amp; close</p></body></html>"
    )
    mail = parse_sendgrid(fields(text="", html=html))
    assert mail.body == "Bitte\n\nkündigen & close"
    assert html_to_text("<script>alert(1)</script>ok") == "ok"


def test_a_message_without_message_id_gets_a_stable_key() -> None:
    headers = "From: ann@acme-bakeries.example\nSubject: x\n"
    one, two = parse_sendgrid(fields(headers=headers)), parse_sendgrid(fields(headers=headers))
    assert one.message_id.startswith("derived-") and one.key == two.key
    other = parse_sendgrid(fields(headers=headers, text="something else"))
    assert other.key != one.key


@pytest.mark.parametrize(
    ("spf", "dkim", "envelope_from", "ok", "how"),
    [
        ("pass", "{@acme-bakeries.example : pass}", "bounce@elsewhere.example", True, "DKIM"),
        ("fail", "{@acme-bakeries.example : pass}", "ann@acme-bakeries.example", True, "DKIM"),
        ("pass", "{@sendgrid.net : pass}", "ann@acme-bakeries.example", True, "SPF pass"),
        ("pass", "{@mail.acme-bakeries.example : pass}", "x@y.example", False, "SPF pass"),
        ("pass", "", "ann@mail.acme-bakeries.example", False, "SPF pass"),
        ("pass", "{@attacker.example : pass}", "x@attacker.example", False, "SPF pass"),
        (
            "softfail",
            "{@acme-bakeries.example : fail}",
            "ann@acme-bakeries.example",
            False,
            "SPF softfail",
        ),
        ("", "", "", False, "SPF none, DKIM none"),
    ],
)
def test_spf_or_dkim_must_vouch_for_the_from_domain(
    spf: str, dkim: str, envelope_from: str, ok: bool, how: str
) -> None:
    envelope = json.dumps({"from": envelope_from})
    mail = parse_sendgrid(fields(SPF=spf, dkim=dkim, envelope=envelope))
    authenticated, text = mail.authentication()
    assert authenticated is ok and how in text


def test_a_subdomain_of_a_dkim_signer_is_aligned() -> None:
    headers = HEADERS.replace("Ann@Acme-Bakeries.example", "ann@eu.acme-bakeries.example")
    mail = parse_sendgrid(fields(headers=headers, SPF="none"))
    assert mail.authentication()[0] is True


def test_dkim_field_and_long_keys() -> None:
    assert parse_dkim("{@a.example : pass, @B.example : fail}") == {
        "a.example": "pass",
        "b.example": "fail",
    }
    assert parse_dkim("none") == {}
    long = "x" * 300 + "@example.com"
    assert len(key_for("email", long)) <= MAX_KEY and key_for("email", long).startswith(
        "email:sha256:"
    )
    assert reason_text("Subject", "b" * 2000).startswith("Subject\n\nbbb")
    assert len(reason_text("S", "b" * 2000)) < 1100
