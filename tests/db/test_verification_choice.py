"""§2 with the decider in front of the case: a verification form sent without saying whether
this is a cancellation is refused (and asked again), never read as "not a cancellation"."""

from __future__ import annotations

from pathlib import Path

import pytest

from offboard.service import case_view
from tasks.verification import record_verification
from tests.integration.comms_env import comms_env, open_test_case


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Path:
    with comms_env(tmp_path, db_url):
        yield tmp_path


def test_an_untouched_yes_no_is_refused_not_taken_as_no(env: Path) -> None:
    case_id = open_test_case("ACME-SMB", "CHOICE-1")
    value = {"decided_by": "sam.carter@example.com", "reason": "other", "proven_by": "code"}
    verdict = record_verification.fn(case_id, "verification", value)
    assert verdict["accepted"] is False and "nothing was chosen" in verdict["why"]
    view = case_view(case_id)
    assert view["status"] == "received" and view["reason"] is None
    chosen = record_verification.fn(case_id, "verification-2", {**value, "is_cancellation": False})
    assert chosen["accepted"] and chosen["decision"] == "not_a_cancellation"
