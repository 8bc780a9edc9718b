"""§4 on a real database: a deadline check that the runner starts early still escalates at
the deadline (it waits out the remainder), and a decided wait never escalates."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from offboard.service import case_view
from offboarding.cases.store import get_case
from offboarding.settings import get_settings
from offboarding.storage.db import as_utc, session_scope, utcnow
from tasks.sweeps import escalate_if_still_waiting
from tests.integration.comms_env import comms_env, open_test_case


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Path:
    with comms_env(tmp_path, db_url):
        yield tmp_path


def _wait_for(case_id: str, key: str, seconds_ahead: float) -> None:
    with session_scope(get_settings().db_url) as s:
        case = get_case(s, case_id)
        case.waiting_for, case.waiting_since = key, utcnow()
        case.decision_due = utcnow() + timedelta(seconds=seconds_ahead)


def test_an_early_check_escalates_at_the_deadline(env: Path) -> None:
    case_id = open_test_case("ACME-SMB", "ESC-EARLY")
    _wait_for(case_id, "verification", 1.5)  # the run starts 1.5 s before the deadline
    result = escalate_if_still_waiting.fn(case_id, "verification")
    finished = utcnow()
    assert result == {"escalated": True}
    view = case_view(case_id)
    assert view["status"] == "escalated"
    with session_scope(get_settings().db_url) as s:
        due = as_utc(get_case(s, case_id).decision_due)
    assert finished >= due  # at the deadline, not before it
    assert [m["kind"] for m in view["messages"]] == ["escalation_notice"]
    # a second check (the sweeper's backstop) repeats nothing
    escalate_if_still_waiting.fn(case_id, "verification")
    assert [m["kind"] for m in case_view(case_id)["messages"]] == ["escalation_notice"]


def test_a_decided_wait_does_not_escalate(env: Path) -> None:
    case_id = open_test_case("ACME-SMB", "ESC-DECIDED")
    _wait_for(case_id, "verification", -5)
    with session_scope(get_settings().db_url) as s:
        get_case(s, case_id).waiting_for = None  # decided before the check ran
    assert escalate_if_still_waiting.fn(case_id, "verification")["escalated"] is False
    assert case_view(case_id)["status"] != "escalated"
    assert case_view(case_id)["messages"] == []
