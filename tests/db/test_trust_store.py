"""The trust boundary's store on a real database: tokens kept as hashes and revocable, proofs
used once, wrong proofs counted up to a lockout a manager lifts, every refusal audited."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from offboarding.cases.store import audit_of
from offboarding.policy import Policy
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models.trust import ApiTokenRow
from offboarding.trust import store as trust
from offboarding.trust.proofs import ProofError, decision_code
from tests.integration.comms_env import comms_env, open_test_case

SECRET = b"db-test-secret"
KEY = "approval-manager"
MAYA = "maya.manager@example.com"


@pytest.fixture
def url(db_url: str, tmp_path: Path) -> str:
    with comms_env(tmp_path, db_url):
        yield db_url


def test_tokens_are_hashed_authenticated_and_revocable(url: str) -> None:
    with session_scope(url) as s:
        token = trust.issue_token(s, "Maya.Manager@example.com", "cs-lead@example.com")
    token_id = token.split("_")[1]
    with session_scope(url) as s:
        row = s.get(ApiTokenRow, token_id)
        assert row.person == MAYA and token.split("_", 2)[2] not in row.token_hash
        assert trust.authenticate(s, token) == MAYA
        with pytest.raises(ProofError, match="unknown"):
            trust.authenticate(s, token[:-2] + "xx")
        trust.revoke_token(s, token_id, "cs-lead@example.com")
    with session_scope(url) as s, pytest.raises(ProofError, match="revoked"):
        trust.authenticate(s, token)


def test_only_an_admin_issues_tokens_after_the_first(url: str) -> None:
    policy = Policy()
    with session_scope(url) as s:
        with pytest.raises(ProofError, match="first token must be for an admin"):
            trust.may_issue(s, policy, None, MAYA)
        assert trust.may_issue(s, policy, None, "cs-lead@example.com") == "bootstrap"
        trust.issue_token(s, "cs-lead@example.com", "bootstrap")
    with session_scope(url) as s:
        with pytest.raises(ProofError, match="issued by an admin"):
            trust.may_issue(s, policy, None, "cs-lead@example.com")
        with pytest.raises(ProofError, match="not an admin"):
            trust.may_issue(s, policy, MAYA, "someone@example.com")
        assert trust.may_issue(s, policy, "cs-lead@example.com", MAYA) == "cs-lead@example.com"


def prove(url: str, case_id: str, code: str, person: str = MAYA, since=None) -> str:  # noqa: ANN001
    with session_scope(url) as s:
        try:
            return trust.prove_decision(
                s, SECRET, Policy(), case_id, KEY, person, code, since or utcnow()
            ).method
        except ProofError as exc:
            return f"refused: {exc}"


def test_a_code_is_used_once_and_only_by_its_person(url: str) -> None:
    case_id = open_test_case("GLOBEX-ENT", "TRUST-1")
    code = decision_code(SECRET, case_id, KEY, MAYA, "code")
    assert prove(url, case_id, code, person="cs-lead@example.com").startswith("refused: wrong")
    assert prove(url, case_id, code) == "code"
    assert "already used" in prove(url, case_id, code)
    assert "missing code" in prove(url, case_id, "")
    since = utcnow() - timedelta(days=8)
    fresh = decision_code(SECRET, case_id, KEY, MAYA, "link")
    assert "expired" in prove(url, case_id, fresh, since=since)
    with session_scope(url) as s:
        refused = [a for a in audit_of(s, case_id) if a.action == "proof_refused"]
    assert len(refused) == 4  # the other person's try, the reuse, the missing and the expired


def test_wrong_codes_lock_out_until_a_manager_unlocks(url: str) -> None:
    case_id = open_test_case("GLOBEX-ENT", "TRUST-2")
    limit = get_settings().policy().trust.max_wrong_proofs
    for _ in range(limit):
        assert prove(url, case_id, "00000000").startswith("refused: wrong")
    right = decision_code(SECRET, case_id, KEY, MAYA, "code")
    assert "locked out" in prove(url, case_id, right)
    other = "cs-lead@example.com"  # the lockout is per person
    assert prove(url, case_id, decision_code(SECRET, case_id, KEY, other, "code"), other) == "code"
    with session_scope(url) as s:
        assert trust.unlock(s, case_id, MAYA, "cs-lead@example.com") == limit
    assert prove(url, case_id, right) == "code"
    with session_scope(url) as s:
        actions = [a.action for a in audit_of(s, case_id)]
    assert "proof_lockout_lifted" in actions
