"""Personal API tokens for the CLI, and the proof a token gives a decision: the token's owner
is the decider, whatever `--by` says, and the run checks a code only the server can make."""

from __future__ import annotations

from typing import Any

from offboard.service.database import store_session
from offboarding.cases.store import OffboardingError, audit, get_case
from offboarding.settings import get_settings
from offboarding.trust import store as trust
from offboarding.trust.proofs import ProofError, decision_code, normalise_email
from offboarding.trust.secrets import cli_token, server_secret


def whoami(token: str | None = None) -> str:
    """The person the CLI user's token (given, or from the environment) belongs to."""
    try:
        token = token or cli_token(get_settings())
        with store_session() as s:
            return trust.authenticate(s, token)
    except ProofError as exc:
        raise OffboardingError(str(exc)) from exc


def issue_token(person: str, token: str | None = None) -> dict[str, Any]:
    """A token for `person`, issued by an admin of the policy proven by their own token (or
    the first admin token of a fresh install). Shown once; only its hash is kept."""
    policy = get_settings().policy()
    person = normalise_email(person)
    caller = None
    if token or get_settings().token or get_settings().token_file:
        caller = whoami(token)
    try:
        with store_session() as s:
            issuer = trust.may_issue(s, policy, caller, person)
            new = trust.issue_token(s, person, issuer)
    except ProofError as exc:
        raise OffboardingError(f"refused: {exc}") from exc
    return {"person": person, "issued_by": issuer, "token": new, "token_id": new.split("_")[1]}


def revoke_token(token_id: str, token: str | None = None) -> dict[str, Any]:
    caller = whoami(token)
    if not get_settings().policy().is_admin(caller):
        raise OffboardingError(f"refused: {caller} is not an admin in the policy")
    try:
        with store_session() as s:
            trust.revoke_token(s, token_id, caller)
    except ProofError as exc:
        raise OffboardingError(str(exc)) from exc
    return {"token_id": token_id, "revoked_by": caller}


def list_tokens() -> list[dict[str, Any]]:
    with store_session() as s:
        return [
            {
                "token_id": t.token_id,
                "person": t.person,
                "issued_by": t.issued_by,
                "issued_at": t.issued_at.isoformat(),
            }
            for t in trust.active_tokens(s)
        ]


def proven_actor(claimed: str | None, token: str | None = None) -> str:
    """Who acts, from their token; a `--by` naming someone else is refused, not believed."""
    person = whoami(token)
    if claimed and normalise_email(claimed) != person:
        raise OffboardingError(f"refused: --by {claimed} is not you; your token is {person}'s")
    return person


def token_proof(case_id: str, input_key: str, claimed: str | None, token: str | None) -> dict:
    """`decided_by` and `decision_code` for a decision given with a token. A `--by` that is
    not the token's owner is refused and audited: typing someone's email proves nothing."""
    person = whoami(token)
    if claimed and normalise_email(claimed) != person:
        with store_session() as s:
            get_case(s, case_id)
            why = f"decision typed as {claimed} with the token of {person}"
            audit(s, case_id, person, "proof_refused", input_key, why, data={"via": "cli"})
        raise OffboardingError(f"refused: --by {claimed} is not you; your token is {person}'s")
    code = decision_code(server_secret(get_settings()), case_id, input_key, person, "token")
    return {"decided_by": person, "decision_code": code}


def unlock(case_id: str, person: str, token: str | None = None) -> dict[str, Any]:
    """A manager lifts the lockout of a person who gave too many wrong codes on a case."""
    caller = whoami(token)
    if caller not in get_settings().policy().holders("manager"):
        raise OffboardingError(f"refused: {caller} is not a manager")
    with store_session() as s:
        get_case(s, case_id)
        cleared = trust.unlock(s, case_id, person, caller)
    return {"case_id": case_id, "person": normalise_email(person), "cleared": cleared}


def token_for(person: str, caches: dict[str, dict[str, str]]) -> str:
    """For the demo and the tests: the first admin of the policy gets the install's first token,
    then issues one per person, through the same path as `offboard tokens issue`. `caches`
    keeps the tokens per database, so a new stack starts afresh."""
    cache = caches.setdefault(get_settings().db_url, {})
    admin = normalise_email(get_settings().policy().trust.admins[0])
    if admin not in cache:
        cache[admin] = issue_token(admin)["token"]
    person = normalise_email(person)
    if person not in cache:
        cache[person] = issue_token(person, token=cache[admin])["token"]
    return cache[person]
