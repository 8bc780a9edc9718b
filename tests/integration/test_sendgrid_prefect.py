"""Exactly once under Prefect itself (a real test server): a task retry after a 5xx, a task
retry after the provider accepted but our database write failed, and a flow rerun, each
reach the SendGrid server once per message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy.exc import OperationalError

from offboarding.comms import ledger
from offboarding.comms.sendgrid_mailer import SendGridMailer
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from tasks.messaging import send_message
from tests.integration.comms_env import comms_env, open_test_case
from tests.integration.sendgrid_fake import FakeSendGrid

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def sg(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSendGrid]:
    """The task builds its mailer from the settings; point it at the local server, fast."""
    with FakeSendGrid() as server:

        def build(settings):  # noqa: ANN001, ANN202
            assert settings.sendgrid_api_key == server.api_key
            return SendGridMailer(
                settings.sendgrid_api_key,
                host=settings.sendgrid_host,
                max_attempts=2,
                backoff_base=0.01,
            )

        monkeypatch.setattr("tasks.messaging.build_mailer", build)
        yield server


@pytest.fixture
def env(tmp_path: Path, sg: FakeSendGrid, prefect_server: None) -> Iterator[None]:
    url = f"sqlite:///{tmp_path / 'offboarding.db'}"
    with comms_env(
        tmp_path,
        url,
        OFFBOARDING_SENDGRID_API_KEY=sg.api_key,
        OFFBOARDING_SENDGRID_HOST=sg.host,
    ):
        yield


@flow(name="send-once-test")
def send_flow(case_id: str, kind: str) -> dict:
    return send_message(case_id, kind)


def status_of(case_id: str, kind: str) -> str:
    with session_scope(get_settings().db_url) as s:
        return ledger.find(s, case_id, kind, 1).status


def test_a_task_retry_after_5xx_sends_once(env: None, sg: FakeSendGrid) -> None:
    case_id = open_test_case("ACME-SMB", "PF-5XX")
    sg.then(500).then(502)  # the mailer's two attempts fail: the task fails, Prefect retries it
    result = send_flow(case_id, "acknowledgement")
    assert result["sent_now"] is True
    assert [r.status for r in sg.received] == [500, 502, 202]
    assert status_of(case_id, "acknowledgement") == "sent"


def test_a_task_retry_after_the_provider_accepted_never_resends(
    env: None, sg: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accepted by SendGrid, then our database refuses the write every time: Prefect retries
    the task, and every retry finds the claim and stops short of the transport."""
    case_id = open_test_case("GLOBEX-ENT", "PF-DBDOWN")

    def database_down(*args, **kwargs):  # noqa: ANN002, ANN003
        raise OperationalError("UPDATE messages", {}, Exception("database is locked"))

    monkeypatch.setattr(ledger, "mark_sent", database_down)
    monkeypatch.setattr("tasks.messaging.time.sleep", lambda s: None)
    state = send_flow(case_id, "acknowledgement", return_state=True)
    assert state.is_failed()
    assert len(sg.received) == 1 and sg.received[0].status == 202
    assert status_of(case_id, "acknowledgement") == "sending"


def test_a_flow_rerun_sends_nothing_new(env: None, sg: FakeSendGrid) -> None:
    case_id = open_test_case("SAKURA-JP", "PF-RERUN")
    first = send_flow(case_id, "acknowledgement")
    second = send_flow(case_id, "acknowledgement")
    assert (first["sent_now"], second["sent_now"]) == (True, False)
    assert len(sg.received) == 1
