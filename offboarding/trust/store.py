"""Trust boundary queries: personal API tokens, single use of proofs, and the lockout after too
many wrong proofs. Every refusal that concerns a case is written to its audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases.store import audit, get_account, step_result
from offboarding.policy import Policy
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import CaseRow
from offboarding.storage.models.trust import ApiTokenRow, ProofFailureRow, ProofUseRow
from offboarding.trust.proofs import (
    ProofError,
    match_code,
    new_api_token,
    normalise_email,
    proof_id,
    same_hash,
    split_api_token,
    token_hash,
)
from offboarding.trust.standing import AUTHORISED, authorised_contacts, requester_standing

TRUST = "trust-boundary"


# -- personal API tokens ----------------------------------------------------------------------


def issue_token(session: Session, person: str, issued_by: str) -> str:
    """A new token for `person`; the caller shows it once. Only its hash is stored."""
    token, token_id, secret_part = new_api_token()
    session.add(
        ApiTokenRow(
            token_id=token_id,
            person=normalise_email(person),
            token_hash=token_hash(secret_part),
            issued_by=normalise_email(issued_by),
            issued_at=utcnow(),
        )
    )
    audit(session, None, issued_by, "token_issued", token_id, f"for {normalise_email(person)}")
    return token


def authenticate(session: Session, token: str) -> str:
    """The person a token belongs to; ProofError for an unknown, wrong or revoked token."""
    token_id, secret_part = split_api_token(token)
    row = session.get(ApiTokenRow, token_id)
    if row is None or not same_hash(row.token_hash, token_hash(secret_part)):
        raise ProofError("unknown API token")
    if row.revoked_at is not None:
        raise ProofError(f"API token {token_id} was revoked")
    return row.person


def revoke_token(session: Session, token_id: str, by: str) -> None:
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise ProofError(f"no API token {token_id!r}")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), normalise_email(by)
        audit(session, None, by, "token_revoked", token_id, f"of {row.person}")


def active_tokens(session: Session) -> list[ApiTokenRow]:
    return list(
        session.scalars(
            select(ApiTokenRow)
            .where(ApiTokenRow.revoked_at.is_(None))
            .order_by(ApiTokenRow.issued_at)
        )
    )


def may_issue(session: Session, policy: Policy, caller: str | None, person: str) -> str:
    """Who issues this token: an admin of the policy proven by their own token; or, on a fresh
    install with no admin token yet, the first token for an admin (whoever can run the CLI on
    the state folder set the machine up). Returns the issuer; ProofError otherwise."""
    if caller is not None:
        if not policy.is_admin(caller):
            raise ProofError(f"{caller} is not an admin in the policy (trust.admins)")
        return caller
    admin_tokens = [t for t in active_tokens(session) if policy.is_admin(t.person)]
    if admin_tokens:
        raise ProofError("tokens are issued by an admin: set OFFBOARDING_TOKEN to yours")
    if not policy.is_admin(person):
        raise ProofError(
            f"no admin token exists yet: the first token must be for an admin of the policy "
            f"({', '.join(policy.trust.admins)})"
        )
    return "bootstrap"


# -- decision codes and links ------------------------------------------------------------------


@dataclass(frozen=True)
class Proven:
    """A decider whose identity held: who, and how (code, link or token)."""

    person: str
    method: str


def wrong_proofs(session: Session, case_id: str, person: str) -> int:
    return session.scalar(
        select(func.count())
        .select_from(ProofFailureRow)
        .where(
            ProofFailureRow.case_id == case_id,
            ProofFailureRow.person == normalise_email(person),
            ProofFailureRow.cleared_at.is_(None),
        )
    )


def refuse(session: Session, case_id: str, person: str, why: str) -> None:
    """Count a wrong proof and audit it; the caller raises or re-asks."""
    session.add(
        ProofFailureRow(case_id=case_id, person=normalise_email(person), at=utcnow(), why=why)
    )
    audit(session, case_id, person or "unknown", "proof_refused", person, why)


def prove_decision(
    session: Session,
    secret: bytes,
    policy: Policy,
    case_id: str,
    input_key: str,
    person: str,
    code: str,
    waiting_since: datetime | None,
) -> Proven:
    """Check the code given with a decision and use it up. ProofError says why it failed
    (and the failure is counted and audited in the same session)."""
    person = normalise_email(person)
    limit = policy.trust.max_wrong_proofs
    if wrong_proofs(session, case_id, person) >= limit:
        why = f"{person} is locked out of {case_id} after {limit} wrong codes; a manager unlocks"
        audit(session, case_id, person or "unknown", "proof_refused", person, why)
        raise ProofError(why)
    method = match_code(secret, case_id, input_key, person, code)
    if method is None:
        why = "missing code" if not str(code or "").strip() else "wrong code for this decider"
        refuse(session, case_id, person, f"{why} ({input_key})")
        raise ProofError(f"{why}: a decision needs the one-time code sent to the decider")
    if waiting_since and utcnow() > as_utc(waiting_since) + timedelta(days=policy.trust.proof_days):
        refuse(session, case_id, person, f"expired code ({input_key})")
        raise ProofError("the code has expired")
    use_proof(session, proof_id(case_id, input_key, person, method), case_id, person, method)
    return Proven(person, method)


def use_proof(session: Session, pid: str, case_id: str, person: str, method: str) -> None:
    """Mark a proof used; a second use raises ProofError (and is counted)."""
    if session.get(ProofUseRow, pid) is not None:
        refuse(session, case_id, person, "a code or link used before")
        raise ProofError("this code or link was already used")
    try:
        with session.begin_nested():
            session.add(
                ProofUseRow(
                    proof_id=pid,
                    case_id=case_id,
                    person=normalise_email(person),
                    method=method,
                    used_at=utcnow(),
                )
            )
    except IntegrityError as exc:  # a concurrent use won the race
        raise ProofError("this code or link was already used") from exc


def proof_used(session: Session, pid: str) -> bool:
    return session.get(ProofUseRow, pid) is not None


def unlock(session: Session, case_id: str, person: str, by: str) -> int:
    """A manager lifts a lockout: the wrong proofs so far no longer count."""
    rows = session.scalars(
        select(ProofFailureRow).where(
            ProofFailureRow.case_id == case_id,
            ProofFailureRow.person == normalise_email(person),
            ProofFailureRow.cleared_at.is_(None),
        )
    ).all()
    for r in rows:
        r.cleared_at, r.cleared_by = utcnow(), normalise_email(by)
    audit(session, case_id, by, "proof_lockout_lifted", person, f"{len(rows)} wrong codes cleared")
    return len(rows)


# -- where account data may go ------------------------------------------------------------------


def recorded_standing(
    session: Session, case: CaseRow, policy: Policy, intake: dict | None = None
) -> tuple[str, str]:
    """(level, text) of the requester's standing as intake recorded it; worked out from the
    account when not recorded yet (intake runs first) or for a case from before. `intake` is
    the intake step's result when the caller already loaded it."""
    done = intake if intake is not None else (step_result(session, case.case_id, "intake") or {})
    if "standing" in done:
        return done["standing"], done.get("standing_text") or done["standing"]
    account = get_account(session, case.account_id)
    standing = requester_standing(account, case.requested_by, policy.trust.authorised_roles)
    return standing.level, standing.describe()


def standing_text(
    session: Session, case: CaseRow, policy: Policy, intake: dict | None = None
) -> str:
    """What `cases`, `show`, the decision page and the run's brief say of the requester."""
    text = recorded_standing(session, case, policy, intake)[1]
    confirmed = (case.request or {}).get("confirmed_by")
    return f"{text}, confirmed by {confirmed}" if confirmed else text


def requester_may_receive(session: Session, case: CaseRow, policy: Policy) -> bool:
    """The requester is an authorised contact, or one of them confirmed the request."""
    level = recorded_standing(session, case, policy)[0]
    return level == AUTHORISED or bool((case.request or {}).get("confirmed_by"))


def account_recipients(session: Session, case: CaseRow, policy: Policy) -> list[str]:
    """Who may receive the account's data: its authorised contacts on file, and the requester
    only once they are one of them or confirmed. Never an address only a request names."""
    account = get_account(session, case.account_id)
    out = authorised_contacts(account, policy.trust.authorised_roles)
    if requester_may_receive(session, case, policy):
        out = [case.requested_by.strip().lower(), *out]
    return list(dict.fromkeys(out))


def brief_of(
    session: Session, case: CaseRow, input_key: str, karte: Sequence[Sequence[str]] = ()
) -> list[tuple[str, str]]:
    """The decision brief of a waiting case (`cases.brief`), from the record; `karte` rows
    are the account's retention karte as the decision request recorded it."""
    from offboarding.cases.brief import decision_brief
    from offboarding.settings import get_settings

    account = get_account(session, case.account_id)
    text = standing_text(session, case, get_settings().policy())
    words = (case.request or {}).get("reason_text") or (case.reason or {}).get("detail") or ""
    return decision_brief(
        account, case.case_id, str(case.status), case.requested_by, text, words, input_key, karte
    )
