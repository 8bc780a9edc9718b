"""Decisions bound to a proven identity: each person who may decide gets their own one-time
code (and a signed link to the decision page) when a run starts waiting, and every decision
that comes back is checked against its code before any rule reads it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import task

from offboarding.cases.store import (
    decision_for,
    get_account,
    get_case,
    record_step,
    step_result,
    steps_of,
)
from offboarding.settings import get_settings
from offboarding.storage.db import as_utc
from offboarding.trust.proofs import LinkClaims, ProofError, decision_code, match_code, sign_link
from offboarding.trust.secrets import server_secret
from offboarding.trust.standing import ACCOUNT_ROLE, authorised_contacts
from offboarding.trust.store import prove_decision
from tasks.artifacts import publish_decision_brief
from tasks.common import RETRYING, db
from tasks.decisions import store_decision

REQUESTS_STEP = "decision-requests-"
PROVEN_STEP = "proven-"  # the accepted proof of a decision, kept with the code's use


def deciders_for(session, case_id: str, role: str | None) -> list[str]:  # noqa: ANN001
    """Who is asked: the account's authorised contacts for a confirmation, the holders of the
    role for an approval, else the account's owner (the CSM)."""
    case = get_case(session, case_id)
    account = get_account(session, case.account_id)
    if role == ACCOUNT_ROLE:
        return authorised_contacts(account, get_settings().policy().trust.authorised_roles)
    if role:
        return sorted(get_settings().policy().holders(role))
    return [str(account.owner.email).lower()]


def decision_link(secret: bytes, claims: LinkClaims) -> str | None:
    """The decision page's address for these claims, when the web service is configured."""
    base = get_settings().web_url.rstrip("/")
    return f"{base}/decide/{sign_link(secret, claims)}" if base else None


@task(name="send-decision-requests", **RETRYING)
def send_decision_requests(
    case_id: str, input_key: str, what: str, command: str, role: str | None = None
) -> dict[str, Any]:
    """One message per person who may decide, with their own code and link; exactly once per
    input key (the plan of sequence numbers is committed first, the ledger dedupes sends)."""
    from tasks.early_warning import karte_for_decision
    from tasks.messaging import send_message

    settings = get_settings()
    secret = server_secret(settings)
    step = REQUESTS_STEP + input_key
    with db() as s:
        plan = step_result(s, case_id, step)
        if plan is None:
            case = get_case(s, case_id)
            if case.waiting_for != input_key or case.waiting_since is None:
                return {"sent": [], "why": "not waiting for this key"}
            used = sum(
                len(r.result.get("seqs", {}))
                for r in steps_of(s, case_id)
                if r.step.startswith(REQUESTS_STEP)
            )
            people = deciders_for(s, case_id, role)
            expires = as_utc(case.waiting_since) + timedelta(
                days=settings.policy().trust.proof_days
            )
            plan = {
                "seqs": {p: used + i + 1 for i, p in enumerate(people)},
                "expires_at": expires.isoformat(),
                "nonce": f"{input_key}@{as_utc(case.waiting_since).timestamp():.6f}",
                "requester": case.requested_by,
                "karte": karte_for_decision(case_id, input_key),  # §14: as of this request
            }
            record_step(s, case_id, step, plan)
    expires = plan["expires_at"]
    for person, seq in plan["seqs"].items():
        claims = LinkClaims(
            case_id,
            input_key,
            person,
            "open",
            as_utc(datetime.fromisoformat(expires)),
            plan["nonce"],
        )
        send_message.fn(
            case_id,
            "requester_confirmation" if role == ACCOUNT_ROLE else "decision_request",
            seq=seq,
            extra={
                "to": [person],
                "requester": plan.get("requester", ""),
                "what": what,
                "command": command,
                "code": decision_code(secret, case_id, input_key, person, "code"),
                "link": decision_link(secret, claims),
                "expires_at": expires,
            },
        )
    publish_decision_brief(case_id, input_key, what, (plan.get("karte") or {}).get("rows", ()))
    return {"sent": sorted(plan["seqs"]), "expires_at": expires}


@task(name="prove-decider", **RETRYING)
def prove_decider(case_id: str, input_key: str, value: dict[str, Any]) -> dict[str, Any]:
    """Is the decider who they say? The code given with the decision must be the one sent to
    (or issued for) that person for this very decision, unused and unexpired. A refusal is
    stored as a refused decision (audited), so the run asks again under a new key.

    A key decided before (a resumed run passing by) returns what was decided then."""
    settings = get_settings()
    person = str(value.get("decided_by") or "").strip().lower()
    kept = {k: v for k, v in value.items() if k != "decision_code"}
    with db() as s:
        previous = decision_for(s, case_id, input_key)
        if previous is not None:
            return {
                "accepted": previous.accepted or previous.kind != "identity",
                "person": previous.decided_by,
                "method": (previous.data or {}).get("proven_by"),
                "why": previous.why,
            }
        if (kept_proof := _proven_before(s, case_id, input_key, person, value)) is not None:
            return kept_proof
        case = get_case(s, case_id)
        try:
            proven = prove_decision(
                s,
                server_secret(settings),
                settings.policy(),
                case_id,
                input_key,
                person,
                str(value.get("decision_code") or ""),
                case.waiting_since,
            )
        except ProofError as exc:
            if (kept_proof := _proven_before(s, case_id, input_key, person, value)) is not None:
                s.rollback()  # this run's other attempt used the code: not a wrong proof
                return kept_proof
            why = f"identity not proven: {exc}"
            store_decision(
                s,
                case_id,
                input_key,
                "identity",
                None,
                person or "unknown",
                "refused",
                False,
                why,
                kept,
            )
            return {"accepted": False, "person": person, "method": None, "why": why}
        proof = {"person": proven.person, "method": proven.method}
        record_step(s, case_id, PROVEN_STEP + input_key, proof, actor=proven.person)
    return {"accepted": True, **proof, "why": ""}


def _proven_before(  # noqa: ANN001
    session, case_id: str, input_key: str, person: str, value: dict[str, Any]
) -> dict | None:
    """The accepted proof of this decision when an earlier attempt of the run already used the
    code (a retried task, a re-walk after a crash, a restarted run racing the old one): the same
    person's same valid code for the same decision is not refused for being given twice."""
    kept = step_result(session, case_id, PROVEN_STEP + input_key)
    if kept is None:
        return None
    code = str(value.get("decision_code") or "")
    method = match_code(server_secret(get_settings()), case_id, input_key, person, code)
    if kept.get("person") != person or method != kept.get("method"):
        return None
    return {"accepted": True, "person": kept["person"], "method": kept["method"], "why": ""}
