"""The signed intake API's work: authenticate a channel's call, refuse replays, open (or join)
the case by its external reference, and tell a portal where a case stands. Nothing is written
for a call that is refused."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from offboard.service.case_runs import submit_request
from offboard.service.database import store_session
from offboard.service.errors import validation_message
from offboarding.cases.store import OffboardingError, get_case
from offboarding.domain import CancellationRequest
from offboarding.settings import get_settings
from offboarding.trust.proofs import ProofError
from offboarding.trust.signatures import check_request
from offboarding.trust.store import proof_used, use_proof

Reply = tuple[int, dict[str, Any]]


def _error(status: int, error: str, detail: str) -> Reply:
    return status, {"error": error, "detail": detail}


def _authenticate(channel: str, headers: dict[str, str], method: str, path: str, body: bytes):  # noqa: ANN202
    secret = get_settings().intake_secrets.get(channel)
    check_request(
        secret,
        headers.get("x-offboarding-timestamp"),
        headers.get("x-offboarding-signature"),
        method,
        path,
        body,
        time.time(),
    )


def create_cancellation(headers: dict[str, str], path: str, body: bytes) -> Reply:
    """POST /v1/cancellations: 201 created, 200 joined (same external reference); 401 bad
    signature, 409 replay, 400 not JSON, 422 invalid request or unknown account."""
    channel = headers.get("x-offboarding-channel", "")
    try:
        _authenticate(channel, headers, "POST", path, body)
    except ProofError as exc:
        return _error(401, "unauthorized", str(exc))
    replay = hashlib.sha256(headers["x-offboarding-signature"].encode()).hexdigest()
    with store_session() as s:
        if proof_used(s, replay):
            return _error(409, "replayed", "this signed request was already received")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, "bad_request", f"the body is not JSON: {exc}")
    if not isinstance(data, dict):
        return _error(400, "bad_request", "the body must be a JSON object")
    if data.setdefault("channel", channel) != channel:
        return _error(422, "invalid", f"channel {data['channel']!r} is not the signing channel")
    if not data.get("external_ref"):
        return _error(422, "invalid", "external_ref is required: it makes the call idempotent")
    data.setdefault("requested_at", datetime.now(UTC).isoformat())
    try:
        request = CancellationRequest.model_validate(data)
    except ValidationError as exc:
        return _error(422, "invalid", validation_message(exc))
    try:
        opened = submit_request(request)
    except OffboardingError as exc:
        return _error(422, "invalid", str(exc))
    with store_session() as s:
        use_proof(s, replay, opened["case_id"], f"intake:{channel}", "sig")
        status = get_case(s, opened["case_id"]).status
    reply = {
        "case_id": opened["case_id"],
        "created": opened["created"],
        "status": status,
        "status_url": f"/v1/cancellations/{opened['case_id']}",
    }
    return (201 if opened["created"] else 200), reply


def cancellation_status(headers: dict[str, str], path: str, case_id: str) -> Reply:
    """GET /v1/cancellations/{case}: where a case of this channel stands (404 for any other)."""
    channel = headers.get("x-offboarding-channel", "")
    try:
        _authenticate(channel, headers, "GET", path, b"")
    except ProofError as exc:
        return _error(401, "unauthorized", str(exc))
    with store_session() as s:
        try:
            case = get_case(s, case_id)
        except OffboardingError:
            case = None
        if case is None or case.channel != channel:
            return _error(404, "not_found", f"no case {case_id} from channel {channel!r}")
        return 200, {
            "case_id": case.case_id,
            "status": case.status,
            "requested_at": case.requested_at.isoformat(),
            "closed_on": case.closed_on.isoformat() if case.closed_on else None,
        }
