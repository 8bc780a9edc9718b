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
