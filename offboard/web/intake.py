"""The signed intake API: a portal's or helpdesk's cancellation request, and its status."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from offboard.service.intake_api import cancellation_status, create_cancellation

router = APIRouter(prefix="/v1", tags=["intake"])


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


@router.post("/cancellations", status_code=201)
async def post_cancellation(request: Request) -> JSONResponse:
    """Open (or join) a cancellation case. Signed: `X-Offboarding-Channel`,
    `X-Offboarding-Timestamp` (Unix seconds), `X-Offboarding-Signature: v1=HMAC-SHA256(secret,
    "{timestamp}.POST /v1/cancellations\\n" + body)`; idempotent by `external_ref`."""
    body = await request.body()
    status, reply = await run_in_threadpool(
        create_cancellation, _headers(request), request.url.path, body
    )
    return JSONResponse(reply, status_code=status)


@router.get("/cancellations/{case_id}")
async def get_cancellation(case_id: str, request: Request) -> JSONResponse:
    """Where a case stands, for the portal that opened it; signed like the POST (empty body)."""
    status, reply = await run_in_threadpool(
        cancellation_status, _headers(request), request.url.path, case_id
    )
    return JSONResponse(reply, status_code=status)
