"""Checking the audit log's hash chain: the first broken link, of one case or of all."""

from __future__ import annotations

from typing import Any

from offboard.service.database import store_session
from offboarding.cases.store import audit_break, get_case


def verify_audit(case_id: str | None = None) -> dict[str, Any]:
    with store_session() as s:
        if case_id is not None:
            get_case(s, case_id)  # an unknown case is a clear error, not "intact"
        broken = audit_break(s, case_id)
    if broken is None:
        return {"case_id": case_id, "intact": True}
    return {
        "case_id": case_id,
        "intact": False,
        "broken_case": broken.case_id,
        "audit_id": broken.audit_id,
        "why": broken.why,
    }
