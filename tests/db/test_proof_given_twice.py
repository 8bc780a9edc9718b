"""A proven decision stays proven when the run gives it again: a retried task, a re-walk after a
crash or a restarted run racing the old one reads the same run input, and its single-use code
must not be refused as "used before" (that turned an accepted verification into a new wait)."""

from __future__ import annotations

from pathlib import Path

import pytest

from offboard.service import case_view
from offboarding.cases.store import get_account, get_case
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.trust import store as trust
from offboarding.trust.proofs import decision_code
from offboarding.trust.secrets import server_secret
from tasks.proofs import prove_decider
from tests.integration.comms_env import comms_env, open_test_case

KEY = "verification-3"


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Path:
    with comms_env(tmp_path, db_url):
        yield tmp_path


def _owner(case_id: str) -> str:
    with session_scope(get_settings().db_url) as s:
        return str(get_account(s, get_case(s, case_id).account_id).owner.email).lower()


def test_the_same_valid_code_given_again_for_the_same_decision_is_still_accepted(env: Path) -> None:
    case_id = open_test_case("ACME-SMB", "PROOF-TWICE-1")
    owner = _owner(case_id)
    code = decision_code(server_secret(get_settings()), case_id, KEY, owner, "code")
    value = {"decided_by": owner.upper(), "is_cancellation": True, "decision_code": code}

    first = prove_decider.fn(case_id, KEY, value)
    again = prove_decider.fn(case_id, KEY, value)  # the task retried, or the run re-walked

    assert first == again == {"accepted": True, "person": owner, "method": "code", "why": ""}
    view = case_view(case_id)
    assert not [a for a in view["audit"] if a["action"] == "proof_refused"]
    assert not [d for d in view["decisions"] if not d["accepted"]]
    with session_scope(get_settings().db_url) as s:
        assert trust.wrong_proofs(s, case_id, owner) == 0


def test_a_used_code_proves_nothing_for_another_decision_or_without_the_code(env: Path) -> None:
    case_id = open_test_case("ACME-SMB", "PROOF-TWICE-2")
    owner = _owner(case_id)
    code = decision_code(server_secret(get_settings()), case_id, KEY, owner, "code")
    value = {"decided_by": owner, "is_cancellation": True, "decision_code": code}
    assert prove_decider.fn(case_id, KEY, value)["accepted"]

    other_key = prove_decider.fn(case_id, "verification-4", value)
    assert not other_key["accepted"] and "wrong code" in other_key["why"]
    no_code = prove_decider.fn(case_id, KEY, {"decided_by": owner, "is_cancellation": True})
    assert not no_code["accepted"] and "missing code" in no_code["why"]
    stranger = prove_decider.fn(case_id, KEY, {**value, "decided_by": "mallory@example.com"})
    assert not stranger["accepted"]


def test_two_attempts_of_one_run_racing_with_the_same_code_are_both_accepted(env: Path) -> None:
    """A restarted run and the old one, at once: one uses the code, the other finds it proven."""
    import threading

    case_id = open_test_case("ACME-SMB", "PROOF-TWICE-3")
    owner = _owner(case_id)
    code = decision_code(server_secret(get_settings()), case_id, KEY, owner, "code")
    value = {"decided_by": owner, "is_cancellation": True, "decision_code": code}
    start, results = threading.Barrier(2), []

    def attempt() -> None:
        start.wait()
        results.append(prove_decider.fn(case_id, KEY, value))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r["accepted"] for r in results] == [True, True], results
    view = case_view(case_id)
    assert not [a for a in view["audit"] if a["action"] == "proof_refused"]
    assert not view["decisions"]
