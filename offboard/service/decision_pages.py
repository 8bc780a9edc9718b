"""The decision page's work: read a signed link, show the decider the case they decide on, and
resume the run with the identity the link proves (never one typed on the page)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from offboard.service.case_runs import resume_with
from offboard.service.database import store_session
from offboard.service.errors import validation_message
from offboarding.cases.store import OffboardingError, audit, get_case
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.trust.proofs import ProofError, decision_code, proof_id, read_link
from offboarding.trust.secrets import server_secret
from offboarding.trust.store import brief_of, proof_used


def _claims(token: str):  # noqa: ANN202 - LinkClaims
    try:
        return read_link(server_secret(get_settings()), token, utcnow())
    except ProofError as exc:
        raise OffboardingError(f"this decision link is not valid: {exc}") from exc


def _karte(s, case, claims) -> dict:  # noqa: ANN001
    """The karte the decision request recorded (verification and save decisions only)."""
    from offboarding.cases.store import step_result
    from tasks.proofs import REQUESTS_STEP

    plan = step_result(s, case.case_id, REQUESTS_STEP + claims.input_key) or {}
    return plan.get("karte") or {}


def _summary(s, case, claims) -> list[tuple[str, str]]:  # noqa: ANN001
    return brief_of(s, case, claims.input_key, _karte(s, case, claims).get("rows", ()))


def open_decision(token: str) -> dict[str, Any]:
    """What the page shows for a link; OffboardingError once the run has moved on."""
    from flows.inputs import input_model_for
    from offboard.web.forms import form_fields

    claims = _claims(token)
    with store_session() as s:
        case = get_case(s, claims.case_id)
        summary = _summary(s, case, claims)
        usage = _karte(s, case, claims).get("weekly_usage") or []
        moved_on = case.waiting_for != claims.input_key
        pid = proof_id(claims.case_id, claims.input_key, claims.person, "link")
        used = proof_used(s, pid)
    if used:
        raise OffboardingError("this decision link was already used")
    if moved_on:
        raise OffboardingError(
            f"case {claims.case_id} no longer waits for {claims.input_key}: the decision was "
            "given or the run moved on; nothing was changed"
        )
    model = input_model_for(claims.input_key)
    return {"claims": claims, "summary": summary, "fields": form_fields(model), "usage": usage}


def submit_decision(token: str, form: dict[str, list[str]], wait: float = 120) -> dict[str, Any]:
    """Resume the run with the posted decision, as the link's person, with the link's code."""
    case_id, key, run_id, run_input = prepare_decision(token, form)
    return resume_with(case_id, key, run_id, run_input, wait)


def prepare_decision(token: str, form: dict[str, list[str]]) -> tuple[str, str, str, dict]:
    """Check the posted decision (bad input is said at once) and the link; what to resume the
    run with. The page then delivers it in the background and shows the outcome page."""
    from flows.inputs import input_model_for
    from offboard.web.forms import payload_from_form

    page = open_decision(token)
    claims = page["claims"]
    model = input_model_for(claims.input_key)
    payload = payload_from_form(model, form)
    payload["decided_by"] = claims.person
    secret = server_secret(get_settings())
    payload["decision_code"] = decision_code(
        secret, claims.case_id, claims.input_key, claims.person, "link"
    )
    try:
        value = model.model_validate(payload)
    except ValidationError as exc:
        raise OffboardingError(f"invalid input: {validation_message(exc)}") from exc
    with store_session() as s:
        case = get_case(s, claims.case_id)
        run_id = case.flow_run_id
        audit(s, claims.case_id, claims.person, "decision_page_submitted", claims.input_key)
    return claims.case_id, claims.input_key, run_id, value.model_dump(mode="json")


def decision_outcome(token: str) -> dict[str, Any] | None:
    """What the run recorded for this link's decision, or None while it has not (yet)."""
    from offboard.service.case_runs import recorded_decision

    claims = _claims(token)
    return recorded_decision(claims.case_id, claims.input_key)
