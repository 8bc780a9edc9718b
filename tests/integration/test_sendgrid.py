"""SendGrid v3 Mail Send through the real `sendgrid` client, against a local server that
implements `POST /v3/mail/send`: payload, 202, 400, 429 + Retry-After, 500, no connection,
and the crash window after the provider accepted. Each message reaches the server once."""

from __future__ import annotations

import base64
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from offboarding.cases.store import audit_of, get_case
from offboarding.comms import ledger
from offboarding.comms.mailer import PermanentMailError, TransientMailError
from offboarding.comms.sendgrid_mailer import SendGridMailer, retry_after_seconds
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models import MessageRow
from offboarding.storage.models.comms import MessageAttemptRow
from tasks.common import is_transient
from tasks.messaging import MessageUndeliverable, deliver
from tests.integration.comms_env import comms_env, give_plan_and_invoice, open_test_case
from tests.integration.sendgrid_fake import FakeSendGrid

pytestmark = pytest.mark.integration


@pytest.fixture
def sg() -> FakeSendGrid:
    with FakeSendGrid() as server:
        yield server


@pytest.fixture
def env(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'offboarding.db'}"
    with comms_env(tmp_path, url):
        yield url


def fast_mailer(sg: FakeSendGrid, **kw) -> SendGridMailer:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.05)
    return SendGridMailer(sg.api_key, host=kw.pop("host", sg.host), **kw)


def message(case_id: str, kind: str, seq: int = 1) -> MessageRow:
    with session_scope(get_settings().db_url) as s:
        return ledger.find(s, case_id, kind, seq)


def attempts(case_id: str) -> list[tuple[str, int | None]]:
    with session_scope(get_settings().db_url) as s:
        rows = s.scalars(
            select(MessageAttemptRow)
            .where(MessageAttemptRow.case_id == case_id)
            .order_by(MessageAttemptRow.id)
        )
        return [(r.outcome, r.status) for r in rows]


def attention(case_id: str) -> str | None:
    with session_scope(get_settings().db_url) as s:
        return get_case(s, case_id).needs_attention


def test_202_carries_a_complete_valid_payload(env: str, sg: FakeSendGrid) -> None:
    case_id = open_test_case("SAKURA-JP", "SG-202")
    pdf = give_plan_and_invoice(case_id)
    result = deliver(
        case_id,
        "closure_confirmation",
        extra={"attachments": [("final-invoice.pdf", pdf, "application/pdf")]},
        mailer=fast_mailer(sg),
    )
    assert result["sent_now"] is True
    assert len(sg.received) == 1 and sg.received[0].status == 202
    got = sg.received[0]
    body = got.payload
    assert got.headers["Authorization"] == f"Bearer {sg.api_key}"
    assert body["personalizations"] == [{"to": [{"email": "hanako@sakura-design.example"}]}]
    assert body["from"] == {"email": "yuki.tanaka@example.com", "name": "Yuki Tanaka"}
    assert body["subject"].startswith("【Sakura Design KK様】") and "解約" in body["subject"]
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert "佐藤 花子 様" in body["content"][0]["value"]
    assert '<html lang="ja">' in body["content"][1]["value"]
    (att,) = body["attachments"]
    assert base64.b64decode(att["content"]) == pdf
    assert (att["filename"], att["type"], att["disposition"]) == (
        "final-invoice.pdf",
        "application/pdf",
        "attachment",
    )
    assert body["custom_args"] == {
        "case_id": case_id,
        "kind": "closure_confirmation",
        "seq": "1",
        "offboarding_key": f"offboarding-{case_id}-closure_confirmation-1",
    }
    assert set(body["categories"]) == {"offboarding", "closure_confirmation"}
    row = message(case_id, "closure_confirmation")
    assert row.status == "sent" and row.provider == "sendgrid" and row.locale == "ja"
    assert row.provider_message_id and row.location == f"sendgrid:{row.provider_message_id}"
    assert attempts(case_id) == [("accepted", 202)]
    # the same message again: the ledger answers, the server hears nothing
    again = deliver(case_id, "closure_confirmation", mailer=fast_mailer(sg))
    assert again["sent_now"] is False and len(sg.received) == 1


def test_a_verified_sender_sends_on_behalf_of_the_owner(tmp_path: Path, sg: FakeSendGrid) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    with comms_env(tmp_path, url, OFFBOARDING_MAIL_FROM="offboarding@example.com"):
        case_id = open_test_case("KAMPUNG-MY", "SG-FROM")
        deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))
    body = sg.received[0].payload
    assert body["from"] == {"email": "offboarding@example.com", "name": "Aisyah Rahman"}
    assert body["reply_to"] == {"email": "aisyah.rahman@example.com", "name": "Aisyah Rahman"}
    assert "Salam sejahtera" in body["content"][0]["value"]


@pytest.mark.parametrize(
    "how",
    ["scripted bad address", "payload the server rejects"],
)
def test_400_fails_the_step_marks_attention_and_is_not_retried(
    env: str, sg: FakeSendGrid, how: str
) -> None:
    case_id = open_test_case("ACME-SMB", f"SG-400-{how}")
    give_plan_and_invoice(case_id)
    extra = None
    if how == "scripted bad address":
        sg.then(
            400,
            body={
                "errors": [
                    {
                        "field": "personalizations.0.to.0.email",
                        "message": "Does not contain a valid address.",
                    }
                ]
            },
        )
    else:  # an attachment without a file name: our own bad payload
        extra = {"attachments": [("", b"%PDF-1.4", "application/pdf")]}
    with pytest.raises(MessageUndeliverable) as caught:
        deliver(case_id, "offboarding_plan", extra=extra, mailer=fast_mailer(sg))
    text = str(caught.value)
    assert "400" in text and "needs_attention" in text and "offboard messages release" in text
    assert "personalizations.0.to.0.email" in text or "attachments.0.filename" in text
    assert not is_transient(caught.value)
    assert isinstance(caught.value.__cause__, PermanentMailError)
    assert len(sg.received) == 1, "a 4xx is not retried"
    row = message(case_id, "offboarding_plan")
    assert row.status == "failed" and "400" in row.last_error
    assert "message offboarding_plan#1 was refused" in attention(case_id)
    from offboard.service import case_view, list_cases

    assert "offboarding_plan#1" in case_view(case_id)["needs_attention"]
    listed = {c["case_id"]: c for c in list_cases()}
    assert "offboarding_plan#1" in listed[case_id]["needs_attention"]
    with session_scope(env) as s:
        assert "message_refused" in [a.action for a in audit_of(s, case_id)]

    # a rerun (or a resumed run) does not send it again: a person must decide first
    with pytest.raises(ledger.MessageBlocked, match="will not be sent again"):
        deliver(case_id, "offboarding_plan", mailer=fast_mailer(sg))
    assert len(sg.received) == 1

    # the person fixes the cause and releases it; the next run sends it once
    with session_scope(env) as s:
        ledger.release(s, case_id, "offboarding_plan", 1, delivered=False, by="sam@example.com")
    assert deliver(case_id, "offboarding_plan", mailer=fast_mailer(sg))["sent_now"] is True
    assert [r.status for r in sg.received] == [400, 202]
    assert attention(case_id) is None


def test_a_refused_message_is_released_by_the_person_the_token_proves(
    env: str, sg: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    from offboard.service.messages import release_message
    from offboard.service.tokens import token_for
    from offboarding.cases.store import OffboardingError

    case_id = open_test_case("ACME-SMB", "SG-400-RELEASE")
    give_plan_and_invoice(case_id)
    sg.then(400, body={"errors": [{"field": "personalizations.0.to.0.email", "message": "bad"}]})
    with pytest.raises(MessageUndeliverable):
        deliver(case_id, "offboarding_plan", mailer=fast_mailer(sg))
    tokens: dict[str, dict[str, str]] = {}
    sam = token_for("sam@example.com", tokens)
    monkeypatch.delenv("OFFBOARDING_TOKEN", raising=False)
    get_settings.cache_clear()
    with pytest.raises(OffboardingError, match="token"):  # no token: nobody proved who decides
        release_message(case_id, "offboarding_plan", 1, "sam@example.com", delivered=False)
    with pytest.raises(OffboardingError, match="is not you"):  # typing an email proves nothing
        release_message(case_id, "offboarding_plan", 1, "boss@example.com", False, token=sam)
    assert message(case_id, "offboarding_plan").status == "failed"
    released = release_message(case_id, "offboarding_plan", 1, None, False, token=sam)
    assert released["status"] == "pending"
    with session_scope(env) as s:
        (entry,) = [a for a in audit_of(s, case_id) if a.action == "message_released"]
        assert entry.actor == "sam@example.com"
    assert deliver(case_id, "offboarding_plan", mailer=fast_mailer(sg))["sent_now"] is True
    assert [r.status for r in sg.received] == [400, 202]


def test_429_honours_retry_after(env: str, sg: FakeSendGrid) -> None:
    case_id = open_test_case("GLOBEX-ENT", "SG-429")
    sg.then(429, {"Retry-After": "1"})
    result = deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))
    assert result["sent_now"] is True
    assert [r.status for r in sg.received] == [429, 202]
    gap = sg.received[1].at - sg.received[0].at
    assert gap >= 1.0, f"retried {gap:.2f}s after a 429 asking for 1s"
    assert attempts(case_id) == [("throttled", 429), ("accepted", 202)]
    assert message(case_id, "acknowledgement").attempts == 2


def test_a_long_retry_after_holds_the_message_back_across_runs(
    env: str, sg: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = open_test_case("GLOBEX-ENT", "SG-429-LONG")
    sg.then(429, {"Retry-After": "30"})
    with pytest.raises(TransientMailError) as caught:
        deliver(case_id, "acknowledgement", mailer=fast_mailer(sg, max_retry_after=2))
    assert is_transient(caught.value) and caught.value.retry_after == pytest.approx(30)
    row = message(case_id, "acknowledgement")
    assert row.status == "pending"
    wait = (row.not_before.replace(tzinfo=utcnow().tzinfo) - utcnow()).total_seconds()
    assert 20 < wait <= 30
    # a task retry or rerun inside the window does not call the server
    monkeypatch.setattr("tasks.messaging.MAX_INLINE_WAIT", 1.0)
    with pytest.raises(ledger.NotYet) as early:
        deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))
    assert is_transient(early.value)
    assert len(sg.received) == 1
    # once the time has come it goes, once
    with session_scope(env) as s:
        s.execute(
            update(MessageRow)
            .where(MessageRow.case_id == case_id)
            .values(not_before=utcnow() - timedelta(seconds=1))
        )
    assert deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))["sent_now"] is True
    assert [r.status for r in sg.received] == [429, 202]


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"Retry-After": "7"}) == 7
    now = time.time()
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 60))
    assert 55 <= retry_after_seconds({"Retry-After": http_date}, now=now) <= 61
    assert retry_after_seconds({"X-RateLimit-Reset": str(int(now) + 10)}, now=now) <= 10
    assert retry_after_seconds({}) is None


def test_5xx_retries_with_backoff_and_sends_once(env: str, sg: FakeSendGrid) -> None:
    case_id = open_test_case("ACME-SMB", "SG-500")
    sg.then(500).then(503)
    result = deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))
    assert result["sent_now"] is True
    assert [r.status for r in sg.received] == [500, 503, 202]
    assert attempts(case_id) == [("server_error", 500), ("server_error", 503), ("accepted", 202)]


def test_5xx_until_retries_run_out_leaves_it_pending_for_the_next_try(
    env: str, sg: FakeSendGrid
) -> None:
    case_id = open_test_case("ACME-SMB", "SG-500-OUT")
    for _ in range(3):
        sg.then(500)
    with pytest.raises(TransientMailError) as caught:
        deliver(case_id, "acknowledgement", mailer=fast_mailer(sg, max_attempts=3))
    assert is_transient(caught.value)
    row = message(case_id, "acknowledgement")
    assert row.status == "pending" and row.attempts == 3 and row.not_before is None
    assert deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))["sent_now"] is True
    assert [r.status for r in sg.received] == [500, 500, 500, 202]


def test_no_connection_retries_then_sends_when_the_server_is_back(
    env: str, sg: FakeSendGrid
) -> None:
    case_id = open_test_case("SOYLENT-EU", "SG-CONN")
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(TransientMailError) as caught:
        deliver(case_id, "acknowledgement", mailer=fast_mailer(sg, host=dead, max_attempts=3))
    assert is_transient(caught.value)
    assert attempts(case_id) == [("connection_error", None)] * 3
    assert message(case_id, "acknowledgement").status == "pending"
    assert deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))["sent_now"] is True
    assert len(sg.accepted) == 1


def test_a_crash_after_the_provider_accepted_is_never_resent(
    env: str, sg: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The honest window: accepted by SendGrid, worker gone before `sent` was committed."""
    case_id = open_test_case("GLOBEX-ENT", "SG-CRASH")

    def worker_dies(*args, **kwargs):  # noqa: ANN002, ANN003
        raise SystemExit("worker killed")

    with monkeypatch.context() as mp:
        mp.setattr(ledger, "mark_sent", worker_dies)
        with pytest.raises(SystemExit):
            deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))
    assert len(sg.accepted) == 1
    assert message(case_id, "acknowledgement").status == "sending"

    # a retry within the lease: someone may still be sending; transient, nothing sent
    with pytest.raises(ledger.SendInFlight) as inflight:
        deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))
    assert is_transient(inflight.value)

    # after the lease: unknown outcome, so no blind resend; a person is asked to look
    with session_scope(env) as s:
        s.execute(
            update(MessageRow)
            .where(MessageRow.case_id == case_id)
            .values(claimed_at=utcnow() - timedelta(seconds=ledger.LEASE_SECONDS["sendgrid"]))
        )
    with pytest.raises(ledger.MessageBlocked, match="offboarding_key=offboarding-"):
        deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))
    assert message(case_id, "acknowledgement").status == "unknown"
    assert "delivered is unknown" in attention(case_id)
    assert len(sg.received) == 1

    # the person finds it in SendGrid's activity feed and marks it delivered
    with session_scope(env) as s:
        ledger.release(s, case_id, "acknowledgement", 1, delivered=True, by="ops@example.com")
    assert deliver(case_id, "acknowledgement", mailer=fast_mailer(sg))["sent_now"] is False
    assert len(sg.received) == 1 and attention(case_id) is None


def test_the_deletion_certificate_travels_as_an_attachment(env: str, sg: FakeSendGrid) -> None:
    case_id = open_test_case("SOYLENT-EU", "SG-DEL")
    give_plan_and_invoice(case_id)
    certificate = b"%PDF-1.4 deletion certificate"
    deliver(
        case_id,
        "deletion_confirmation",
        extra={
            "deletion": {
                "deleted_at": "2026-06-14T02:00:00+00:00",
                "objects_deleted": 14,
                "backups_expire_on": "2027-06-14",
                "certificate_id": "DEL-1",
            },
            "attachments": [("DEL-1.pdf", certificate, "application/pdf")],
        },
        mailer=fast_mailer(sg),
    )
    body = sg.received[0].payload
    (att,) = body["attachments"]
    assert att["filename"] == "DEL-1.pdf" and base64.b64decode(att["content"]) == certificate
    assert "DEL-1" in body["content"][0]["value"] and "14 June 2026" in body["content"][0]["value"]
