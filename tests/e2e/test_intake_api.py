"""The signed intake API over HTTP on the real web service: a portal's request opens one case
(and its run), by its external reference; a bad, stale or replayed signature, a body that is
not JSON or not a request, each gets a clear JSON error and writes nothing."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import func, select

from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.storage.models import CaseRow
from offboarding.trust.signatures import sign_request
from tests.e2e.conftest import PORTAL_SECRET

pytestmark = pytest.mark.integration
PATH = "/v1/cancellations"


def headers(method: str, path: str, body: bytes, secret: str = PORTAL_SECRET, ts=None) -> dict:  # noqa: ANN001
    ts = str(int(time.time()) if ts is None else ts)
    return {
        "X-Offboarding-Channel": "portal",
        "X-Offboarding-Timestamp": ts,
        "X-Offboarding-Signature": sign_request(secret, ts, method, path, body),
        "Content-Type": "application/json",
    }


def cases() -> int:
    with session_scope(get_settings().db_url) as s:
        return s.scalar(select(func.count()).select_from(CaseRow))


def post(stack, body: bytes, **kw) -> httpx.Response:  # noqa: ANN001
    return httpx.post(stack.web_url + PATH, content=body, headers=headers("POST", PATH, body, **kw),
                      timeout=60)  # fmt: skip


def test_a_signed_portal_request_opens_one_case_and_refuses_the_rest(stack, tmp_path):
    from tests.e2e.test_trust_boundary import trust_account

    trust_account(tmp_path, "PORTALCO")
    request = {
        "account_id": "PORTALCO",
        "requested_by": "ada@portalco.example",
        "reason_text": "moving to another tool",
        "external_ref": "PORTAL-42",
    }
    body = json.dumps(request).encode()
    before = cases()

    # refused, nothing written: another secret, a stale timestamp, no signature
    assert post(stack, body, secret="guess").status_code == 401
    stale = post(stack, body, ts=int(time.time()) - 3600)
    assert stale.status_code == 401 and "tolerance" in stale.json()["detail"]
    bare = httpx.post(stack.web_url + PATH, content=body, timeout=60)
    assert bare.status_code == 401 and bare.json()["error"] == "unauthorized"
    assert post(stack, b"{not json").status_code == 400
    invalid = post(stack, json.dumps({**request, "requested_by": "not-an-email"}).encode())
    assert invalid.status_code == 422 and "requested_by" in invalid.json()["detail"]
    unknown = post(stack, json.dumps({**request, "account_id": "NOPE"}).encode())
    assert unknown.status_code == 422
    no_ref = {k: v for k, v in request.items() if k != "external_ref"}
    assert post(stack, json.dumps(no_ref).encode()).status_code == 422
    assert cases() == before

    created = post(stack, body)
    assert created.status_code == 201, created.text
    reply = created.json()
    assert reply["created"] is True and reply["status_url"].endswith(reply["case_id"])
    assert cases() == before + 1

    # the same signed request again is a replay; a new signature of the same ref joins the case
    again = httpx.post(stack.web_url + PATH, content=body, headers=created.request.headers,
                       timeout=60)  # fmt: skip
    assert again.status_code == 409 and again.json()["error"] == "replayed"
    time.sleep(1.1)
    joined = post(stack, body)
    assert joined.status_code == 200 and joined.json()["case_id"] == reply["case_id"]
    assert cases() == before + 1

    # the portal reads the status under the same signature scheme; other channels see nothing
    path = f"{PATH}/{reply['case_id']}"
    status = httpx.get(stack.web_url + path, headers=headers("GET", path, b""), timeout=60)
    assert status.status_code == 200 and status.json()["case_id"] == reply["case_id"]
    forged = httpx.get(stack.web_url + path, headers=headers("GET", PATH, b""), timeout=60)
    assert forged.status_code == 401
    assert httpx.get(stack.web_url + "/openapi.json", timeout=60).json()["paths"][PATH]
