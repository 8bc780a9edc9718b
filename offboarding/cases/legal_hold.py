"""Legal holds: while one is set, nothing of the case's account is purged (§6 "unless the law
requires us to keep it"). Only holders of the legal role set or lift one, with a reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from offboarding.cases.store import OffboardingError, audit, get_case
from offboarding.storage.db import utcnow

__all__ = ["set_legal_hold"]


def set_legal_hold(
    session: Session, case_id: str, on: bool, by: str, reason: str, legal_holders: set[str]
) -> dict[str, Any]:
    """Set or lift the hold. Anyone without the role is refused: the result says so and the
    refusal is audited in the caller's transaction (so it is kept, unlike a raised error)."""
    by = by.strip().lower()
    reason = reason.strip()
    if not reason:
        raise OffboardingError("--reason is required: say why the hold is set or lifted")
    case = get_case(session, case_id)
    if by not in legal_holders:
        why = f"{by} does not hold the legal role"
        audit(session, case_id, by, "legal_hold_refused", "not a legal role holder")
        return {
            "case_id": case_id,
            "legal_hold": bool(case.legal_hold),
            "refused": True,
            "why": why,
        }
    changed = bool(case.legal_hold) != on
    if changed:
        case.legal_hold = on
        case.updated_at = utcnow()
        audit(session, case_id, by, "legal_hold_set" if on else "legal_hold_lifted", "", reason)
    return {"case_id": case_id, "legal_hold": on, "changed": changed, "refused": False, "by": by}
