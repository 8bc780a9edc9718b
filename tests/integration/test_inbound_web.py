"""Inbound email and helpdesk webhooks on the real web app (FastAPI, in process) and a real
database: SendGrid-shaped multipart posts and Zendesk-signed JSON. A contact's email opens one
case, the same Message-ID or ticket again stays one, a reply joins the thread's case; anything
unclear waits in triage, where `offboard inbox open` opens the case as a token's owner. A post
that does not prove its sender gets 401 and writes nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from offboarding.cases.store import audit_of
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.storage.models import AuditRow, CaseRow
from offboarding.storage.models.inbound import InboundMessageRow
from offboarding.storage.models.trust import ProofUseRow
from offboarding.trust.store import issue_token
from tests.integration.comms_env import comms_env

PARSE = ("parse", "s3cret-parse")
ZD_SECRET = "zd-webhook-secret"
CONTACT = "ann@acme-bakeries.example"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)  # no stack: cases wait for the sweeper
    url = f"sqlite:///{tmp_path / 'inbound.db'}"
    env = {
        "OFFBOARDING_INBOUND_PARSE_SECRET": ":".join(PARSE),
        "OFFBOARDING_HELPDESK_SECRETS": json.dumps({"zendesk": ZD_SECRET}),
        "OFFBOARDING_INBOUND_MAX_ATTACHMENT_BYTES": "1000",
    }
    with comms_env(tmp_path, url, **env):
        from offboard.web.app import create_app

        with TestClient(create_app()) as c:
            yield c


def count(model) -> int:  # noqa: ANN001
    with session_scope(get_settings().db_url) as s:
        return s.scalar(select(func.count()).select_from(model))


def headers(sender: str, message_id: str, subject: str, reply_to: str | None = None) -> str:
    lines = [f"From: {sender}", "To: cancel@offboarding.example", f"Subject: {subject}",
             f"Message-ID: <{message_id}>", "Date: Mon, 21 Sep 2026 09:00:00 +0000"]  # fmt: skip
    if reply_to:
        lines += [f"In-Reply-To: <{reply_to}>", f"References: <root@x> <{reply_to}>"]
    return "\n".join(lines) + "\n"


def email(
    sender: str = f"Ann Baker <{CONTACT}>",
    message_id: str = "m1@mail.acme-bakeries.example",
    subject: str = "Please cancel our account",
    text: str = "We are closing the bakery. Please cancel our account.",
    spf: str = "pass",
    dkim: str = "{@acme-bakeries.example : pass}",
    reply_to: str | None = None,
) -> dict[str, str]:
    addr = sender.split("<")[-1].rstrip(">")
    return {
        "headers": headers(sender, message_id, subject, reply_to),
        "from": sender,
        "to": "cancel@offboarding.example",
        "subject": subject,
        "text": text,
        "html": f"<p>{text}</p>",
        "envelope": json.dumps({"from": addr, "to": ["cancel@offboarding.example"]}),
        "dkim": dkim,
        "SPF": spf,
        "sender_ip": "192.0.2.10",
        "charsets": json.dumps({"to": "UTF-8", "subject": "UTF-8", "text": "utf-8"}),
        "attachments": "2",
        "attachment-info": json.dumps({
            "attachment1": {"filename": "letter.pdf", "name": "letter.pdf",
                            "type": "application/pdf"},
            "attachment2": {"filename": "big.bin", "type": "application/octet-stream"},
        }),
    }  # fmt: skip


LETTER = b"%PDF-1.4 a short letter"
FILES = [
    ("attachment1", ("letter.pdf", LETTER, "application/pdf")),
    ("attachment2", ("big.bin", b"x" * 5000, "application/octet-stream")),
]


def post_email(client: TestClient, fields: dict[str, str], auth=PARSE):  # noqa: ANN001, ANN201
    return client.post("/inbound/sendgrid", data=fields, files=FILES, auth=auth)


def test_a_contacts_email_opens_one_case_and_a_reply_joins_it(client: TestClient) -> None:
    first = post_email(client, email())
    assert first.status_code == 200, first.text
    reply = first.json()
    assert reply["status"] == "opened" and reply["duplicate"] is False
    case_id = reply["case_id"]
    with session_scope(get_settings().db_url) as s:
        case = s.get(CaseRow, case_id)
        assert (case.account_id, case.channel, case.requested_by) == ("ACME-SMB", "email", CONTACT)
        assert case.external_ref == "email:m1@mail.acme-bakeries.example"
        assert case.request["reason_text"].startswith("Please cancel our account\n\nWe are closing")
        row = s.scalar(select(InboundMessageRow))
        assert row.attachments == [
            {"name": "letter.pdf", "type": "application/pdf", "size": len(LETTER),
             "sha256": hashlib.sha256(LETTER).hexdigest()},
            {"name": "big.bin", "type": "application/octet-stream", "size": 5000, "sha256": None},
        ]  # fmt: skip
        assert row.data["authenticated"] is True

    again = post_email(client, email())
    assert again.status_code == 200
    assert (again.json()["case_id"], again.json()["duplicate"]) == (case_id, True)
    assert (count(CaseRow), count(InboundMessageRow)) == (1, 1)

    answer = email(
        message_id="m2@mail.acme-bakeries.example",
        subject="Re: your case",
        text="Thanks, the 30th works for us.",
        reply_to="m1@mail.acme-bakeries.example",
    )
    joined = post_email(client, answer)
    assert joined.json()["status"] == "joined" and joined.json()["case_id"] == case_id
    assert (count(CaseRow), count(InboundMessageRow)) == (1, 2)
    with session_scope(get_settings().db_url) as s:
        actions = [r.action for r in audit_of(s, case_id)]
    assert actions.count("inbound_reply") == 1 and actions[0] == "case_received"


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"sender": "Eve <eve@unknown-co.example>"}, "no account found"),
        ({"spf": "fail", "dkim": "{@acme-bakeries.example : fail}"}, "sender not authenticated"),
        ({"spf": "softfail", "dkim": "{@attacker.example : pass}"}, "sender not authenticated"),
        ({"subject": "Question", "text": "How do I cancel my subscription?"}, "may not be"),
        ({"subject": "Hello", "text": "Loving the new release!"}, "not a cancellation"),
    ],
    ids=["unknown-domain", "spf-dkim-fail", "forged-from", "a-question", "not-about-it"],
)
def test_unclear_messages_wait_in_triage(client: TestClient, overrides: dict, why: str) -> None:
    resp = post_email(client, email(**overrides))
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "triage" and why in resp.json()["why"]
    assert (count(CaseRow), count(InboundMessageRow)) == (0, 1)


def test_wrong_or_missing_credentials_write_nothing(client: TestClient) -> None:
    audits = count(AuditRow)
    for auth in (None, ("parse", "guess"), ("other", PARSE[1])):
        resp = post_email(client, email(), auth=auth)
        assert resp.status_code == 401 and resp.json()["error"] == "unauthorized"
    bearer = client.post("/inbound/sendgrid", data=email(), headers={"Authorization": "Bearer x"})
    assert bearer.status_code == 401
    assert (count(CaseRow), count(InboundMessageRow), count(AuditRow)) == (0, 0, audits)


def test_sendgrid_signed_parse_is_an_alternative(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("OFFBOARDING_INBOUND_PARSE_PUBLIC_KEY", base64.b64encode(der).decode())
    get_settings.cache_clear()
    body, ctype = _multipart(email())
    ts = str(int(time.time()))
    sig = base64.b64encode(key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    signed = {
        "Content-Type": ctype,
        "X-Twilio-Email-Event-Webhook-Timestamp": ts,
        "X-Twilio-Email-Event-Webhook-Signature": sig,
    }
    bad = client.post("/inbound/sendgrid", content=body + b"x", headers=signed)
    assert bad.status_code == 401 and count(InboundMessageRow) == 0
    ok = client.post("/inbound/sendgrid", content=body, headers=signed)
    assert ok.status_code == 200 and ok.json()["status"] == "opened"


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    import httpx

    request = httpx.Request("POST", "http://x/", data=fields, files=FILES)
    return request.read(), request.headers["Content-Type"]


# -- helpdesk -----------------------------------------------------------------------------------


def ticket(ticket_id: str = "4711", **overrides: str) -> bytes:
    body = {"id": ticket_id, "title": "Please cancel our account",
            "description": "We are closing the bakery at the end of the month.",
            "requester": {"email": CONTACT}, "organization": {"external_id": "ACME-SMB"},
            "tags": "billing"}  # fmt: skip
    body.update(overrides)
    return json.dumps({"ticket": body}).encode()


def zendesk(body: bytes, secret: str = ZD_SECRET, age: float = 0) -> dict[str, str]:
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - age))
    mac = hmac_b64(secret, ts.encode() + body)
    return {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature": mac,
            "X-Zendesk-Webhook-Signature-Timestamp": ts}  # fmt: skip


def hmac_b64(secret: str, data: bytes) -> str:
    import hmac

    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def post_ticket(client: TestClient, body: bytes, source: str = "zendesk", **kw):  # noqa: ANN003, ANN201
    return client.post(f"/inbound/helpdesk/{source}", content=body, headers=zendesk(body, **kw))


def test_a_ticket_opens_one_case_however_often_it_comes(client: TestClient) -> None:
    first = post_ticket(client, ticket())
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "opened"
    case_id = first.json()["case_id"]
    with session_scope(get_settings().db_url) as s:
        case = s.get(CaseRow, case_id)
        assert (case.channel, case.external_ref) == ("support_ticket", "helpdesk:zendesk:4711")
        assert case.requested_by == CONTACT
    # the same ticket, signed afresh (an update), and the very same delivery replayed
    body = ticket(description="Any update? We still want to cancel.")
    again = post_ticket(client, body)
    assert again.json()["case_id"] == case_id and again.json()["duplicate"] is True
    replayed = client.post("/inbound/helpdesk/zendesk", content=body, headers=again.request.headers)
    assert replayed.status_code == 200 and replayed.json()["replayed"] is True
    assert (count(CaseRow), count(InboundMessageRow)) == (1, 1)


def test_unclear_tickets_wait_in_triage(client: TestClient) -> None:
    unknown = post_ticket(client, ticket("1", organization={"external_id": "NOPE"}))
    assert unknown.json()["status"] == "triage" and "unknown account" in unknown.json()["why"]
    other = post_ticket(client, ticket("2", title="Login issue", description="I cannot log in"))
    assert other.json()["status"] == "triage" and "not a cancellation" in other.json()["why"]
    tagged = post_ticket(client, ticket("3", title="Billing", description="see call notes",
                                        tags="cancellation vip", organization={}))  # fmt: skip
    assert tagged.json()["status"] == "opened"  # the tag says it; the requester finds the account
    assert count(CaseRow) == 1 and count(InboundMessageRow) == 3


def test_bad_signatures_write_nothing(client: TestClient) -> None:
    body = ticket()
    audits, proofs = count(AuditRow), count(ProofUseRow)
    assert post_ticket(client, body, secret="guess").status_code == 401
    stale = post_ticket(client, body, age=3600)
    assert stale.status_code == 401 and "tolerance" in stale.json()["detail"]
    assert client.post("/inbound/helpdesk/zendesk", content=body).status_code == 401
    assert post_ticket(client, body, source="freshdesk").status_code == 401  # no secret for it
    tampered = client.post("/inbound/helpdesk/zendesk", content=ticket("9999"),
                           headers=zendesk(body))  # fmt: skip
    assert tampered.status_code == 401
    assert post_ticket(client, b"{not json").status_code == 400
    assert (count(CaseRow), count(InboundMessageRow)) == (0, 0)
    assert (count(AuditRow), count(ProofUseRow)) == (audits, proofs)


# -- triage through the CLI ---------------------------------------------------------------------


def test_inbox_open_from_triage_opens_the_case(client: TestClient, monkeypatch) -> None:  # noqa: ANN001
    from offboard.cli import app

    with session_scope(get_settings().db_url) as s:
        token = issue_token(s, "cs-lead@example.com", "bootstrap")
    monkeypatch.setenv("OFFBOARDING_TOKEN", token)
    get_settings.cache_clear()
    triaged = post_email(client, email(sender=f"Ann <{CONTACT}>", subject="Hmm",
                                       text="Thinking about whether to cancel."))  # fmt: skip
    forged = post_email(client, email(message_id="f@x", spf="fail", dkim=""))
    assert {triaged.json()["status"], forged.json()["status"]} == {"triage"}
    runner = CliRunner()

    listed = runner.invoke(app, ["inbox", "list", "--status", "triage", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {m["id"] for m in json.loads(listed.stdout)} == {
        triaged.json()["inbound_id"],
        forged.json()["inbound_id"],
    }
    shown = json.loads(runner.invoke(app, ["inbox", "show", str(forged.json()["inbound_id"]),
                                           "--json"]).stdout)  # fmt: skip
    assert shown["data"]["authenticated"] is False and shown["attachments"][0]["name"] == (
        "letter.pdf"
    )
    # a sender nobody vouched for is not taken as the requester without a confirmation
    refused = runner.invoke(
        app, ["inbox", "open", str(forged.json()["inbound_id"]), "--account", "ACME-SMB", "--json"]
    )
    assert refused.exit_code == 2 and "not authenticated" in json.loads(refused.stdout)["error"]
    assert count(CaseRow) == 0

    opened = runner.invoke(
        app, ["inbox", "open", str(triaged.json()["inbound_id"]), "--account", "ACME-SMB", "--json"]
    )
    assert opened.exit_code == 0, opened.output
    result = json.loads(opened.stdout)
    assert result["status"] == "opened" and result["decided_by"] == "cs-lead@example.com"
    with session_scope(get_settings().db_url) as s:
        case = s.get(CaseRow, result["case_id"])
        assert (case.account_id, case.requested_by) == ("ACME-SMB", CONTACT)
        audit = [r for r in audit_of(s, case.case_id) if r.action == "inbound_opened_from_triage"]
        assert audit[0].actor == "cs-lead@example.com"
    again = runner.invoke(
        app, ["inbox", "open", str(triaged.json()["inbound_id"]), "--account", "ACME-SMB", "--json"]
    )
    assert again.exit_code == 2 and "not in triage" in again.stdout

    dismissed = runner.invoke(app, ["inbox", "dismiss", str(forged.json()["inbound_id"]),
                                    "--why", "phishing attempt", "--json"])  # fmt: skip
    assert dismissed.exit_code == 0 and json.loads(dismissed.stdout)["status"] == "dismissed"
    assert count(CaseRow) == 1
