"""A run waiting for a person can always be resumed: its form is stored before it is Suspended
(`flows/suspension.py`), so no reader ever sees a Suspended run without its schema."""

from __future__ import annotations

import time
from uuid import UUID

from tests.e2e.conftest import budget, request, wait_waiting
from tests.e2e.test_trust_boundary import trust_account


def test_a_suspended_run_has_its_form_from_the_first_moment(stack, tmp_path):
    from prefect.client.orchestration import get_client

    trust_account(tmp_path, "SUSPENDX")  # an account of its own: no other case joins it
    opened = request("SUSPENDX", "ada@suspendx.example", "E2E-SUSPEND-FORM", "budget")
    case = wait_waiting(opened["case_id"], "verification")
    run_id = UUID(case.flow_run_id)
    seen = 0
    deadline = time.monotonic() + budget(runs=3)
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline and seen < 20:
            state = client.read_flow_run(run_id).state
            if state is not None and state.is_paused():
                keyset = state.state_details.run_input_keyset
                # read at once, no waiting: the form must already be there
                schema = client.read_flow_run_input(run_id, keyset["schema"])
                assert "decided_by" in schema
                seen += 1
            time.sleep(0.1)
    assert seen, "the run never stood Suspended"
    assert state.name == "Suspended"
    with get_client(sync_client=True) as client:  # the description follows, as its last act
        description = client.read_flow_run_input(run_id, keyset["description"])
    assert opened["case_id"] in description


def _race_the_first_resume(monkeypatch, rival: dict | None = None) -> list[dict]:
    """Between the moment `deliver` sees the run paused and its own resume, resume the run
    first: with the caller's very input (a retried HTTP call whose first try took) or with a
    rival's (another approver quicker). Returns the inputs the server took from the race."""
    from prefect.client.orchestration import get_client

    from offboard.service import pause_delivery

    real_wait, real_deliver = pause_delivery._wait_until_paused, pause_delivery.deliver
    given: list[dict] = []

    def deliver(run_id, key, run_input, timeout):
        given.append(rival or run_input)
        return real_deliver(run_id, key, run_input, timeout)

    def wait_then_race(run_id, timeout, key=None):
        keyset = real_wait(run_id, timeout, key)
        if len(given) == 1:
            with get_client(sync_client=True) as client:
                client.resume_flow_run(UUID(run_id), run_input=given[0])
            given.append({})  # raced once
        return keyset

    monkeypatch.setattr(pause_delivery, "_wait_until_paused", wait_then_race)
    monkeypatch.setattr("offboard.service.case_runs.deliver", deliver)
    return given


def test_a_decision_whose_first_try_took_is_delivered_not_refused(stack, tmp_path, monkeypatch):
    from offboard.service import case_view
    from tests.e2e.conftest import decide, verify_payload

    trust_account(tmp_path, "RACEOWN")
    opened = request("RACEOWN", "ada@raceown.example", "E2E-RACE-OWN", "budget")
    case = wait_waiting(opened["case_id"], "verification")
    given = _race_the_first_resume(monkeypatch)
    out = decide(case.case_id, "verify", verify_payload("dana.lee@example.com"))
    assert len(given) == 2, "the race was not run"
    assert out["accepted"] is True, out
    assert out["decision"], out
    # the run took the answer once and went on: it is no longer waiting for verification
    assert not (case_view(case.case_id)["waiting_for"] or "").startswith("verification")


def test_a_decision_another_answer_beat_is_said_not_delivered(stack, tmp_path, monkeypatch):
    import pytest

    from offboarding.cases.store import OffboardingError
    from tests.e2e.conftest import decide, verify_payload

    trust_account(tmp_path, "RACERIV")
    opened = request("RACERIV", "ada@raceriv.example", "E2E-RACE-RIVAL", "budget")
    case = wait_waiting(opened["case_id"], "verification")
    rival = {**verify_payload("dana.lee@example.com"), "reason": "cost", "decision_code": "x"}
    _race_the_first_resume(monkeypatch, rival=rival)
    with pytest.raises(OffboardingError, match="answered by someone else first"):
        decide(case.case_id, "verify", verify_payload("dana.lee@example.com"), wait=5)
