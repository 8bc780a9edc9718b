"""§1 acknowledgement SLA on a real database: measured at acknowledgement, and a request
left unacknowledged past its target is flagged on the case and notified once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from offboard.service import case_view, list_cases
from offboarding.cases.store import get_case
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from tasks.intake import acknowledge
from tasks.sweeps import check_acknowledgements
from tests.integration.comms_env import comms_env, open_test_case


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Path:
    with comms_env(tmp_path, db_url):
        yield tmp_path


def kinds(case_id: str) -> list[str]:
    return [m["kind"] for m in case_view(case_id)["messages"]]


def test_acknowledgement_is_measured_against_business_hours(env: Path) -> None:
    case_id = open_test_case("SAKURA-JP", "ACK-1")
    result = acknowledge.fn(case_id)
    assert result["kind"] == "acknowledgement" and result["met"] is True
    assert result["target_hours"] == 24 and result["hours"] < 1
    view = case_view(case_id)
    assert view["acknowledgement"]["met"] is True and view["acknowledgement"]["overdue"] is False
    assert kinds(case_id) == ["acknowledgement"]
    assert acknowledge.fn(case_id) == result  # a rerun repeats nothing
    assert kinds(case_id) == ["acknowledgement"]


def test_a_support_ticket_is_acknowledged_with_the_verification_question(env: Path) -> None:
    case_id = open_test_case("KAMPUNG-MY", "ACK-TICKET", channel="support_ticket")
    assert acknowledge.fn(case_id)["kind"] == "verification_question"
    (msg,) = case_view(case_id)["messages"]
    assert msg["kind"] == "verification_question" and msg["locale"] == "ms"


def test_an_overdue_request_is_flagged_and_notified_once(env: Path) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=6)
    late = open_test_case("ACME-SMB", "ACK-LATE", requested_at=long_ago)
    fresh = open_test_case("GLOBEX-ENT", "ACK-FRESH")
    assert check_acknowledgements.fn() == [late]
    listed = {c["case_id"]: c for c in list_cases()}
    assert "acknowledgement overdue" in listed[late]["needs_attention"]
    assert listed[late]["acknowledgement"]["overdue"] is True
    assert listed[fresh]["needs_attention"] is None
    assert kinds(late) == ["acknowledgement_overdue"]
    (notice,) = case_view(late)["messages"]
    assert "cs-team@example.com" in notice["to"] and "maya.manager@example.com" in notice["to"]

    # the next sweep repeats neither the flag nor the notice
    assert check_acknowledgements.fn() == [late]
    assert kinds(late) == ["acknowledgement_overdue"]
    with session_scope(get_settings().db_url) as s:
        assert get_case(s, late).needs_attention.count("acknowledgement overdue") == 1

    # acknowledging it (late) records the miss and clears the flag
    result = acknowledge.fn(late)
    assert result["met"] is False and result["hours"] > 24
    view = case_view(late)
    assert view["needs_attention"] is None and view["acknowledgement"]["met"] is False
    assert check_acknowledgements.fn() == []
