"""Inbound channels on the web service: SendGrid Inbound Parse posts (multipart/form-data) and
signed helpdesk webhooks. The caller is authenticated before the form is read; attachments
are hashed as they stream and never stored."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from offboard.service.inbound import authenticate_parse, receive_email, receive_helpdesk
from offboarding.inbound.sendgrid_signed import SIGNATURE
from offboarding.inbound.signatures import InboundRefused
from offboarding.settings import get_settings

router = APIRouter(prefix="/inbound", tags=["inbound"])
CHUNK = 1 << 16
#: A text or HTML body part may be large (SendGrid takes messages up to 30 MB).
MAX_FIELD_BYTES = 32 * 1024 * 1024


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


async def _digest(upload: UploadFile, limit: int) -> tuple[str, str, int, str | None]:
    """(filename, content type, size, SHA-256 or None past `limit`) of one uploaded part."""
    h, size = hashlib.sha256(), 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size <= limit:
            h.update(chunk)
    return (
        upload.filename or "",
        upload.content_type or "",
        size,
        (h.hexdigest() if size <= limit else None),
    )


@router.post("/sendgrid")
async def sendgrid_parse(request: Request) -> JSONResponse:
    """SendGrid Inbound Parse: basic auth from the URL (`https://user:pass@host/inbound/sendgrid`)
    or SendGrid's signed parse. Idempotent by Message-ID; a reply in a case's thread joins the
    case; anything unclear waits in triage (`offboard inbox`)."""
    headers = _headers(request)
    body = await request.body() if SIGNATURE in headers else None
    try:
        authenticate_parse(headers, body)
    except InboundRefused as exc:
        return JSONResponse({"error": "unauthorized", "detail": str(exc)}, status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="inbound"'})  # fmt: skip
    limit = get_settings().inbound_max_attachment_bytes
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, int, str | None]] = {}
    try:
        async with request.form(max_part_size=MAX_FIELD_BYTES) as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[name] = await _digest(value, limit)
                else:
                    fields.setdefault(name, value)
    except (MultiPartException, ValueError) as exc:
        return JSONResponse({"error": "bad_request", "detail": str(exc)}, status_code=400)
    status, reply = await run_in_threadpool(receive_email, fields, files)
    return JSONResponse(reply, status_code=status)


@router.post("/helpdesk/{source}")
async def helpdesk_webhook(source: str, request: Request) -> JSONResponse:
    """A helpdesk ticket (Zendesk webhook JSON, fields per the mapping file), signed the Zendesk
    way: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body)),
    `X-Zendesk-Webhook-Signature-Timestamp`. Idempotent by ticket id."""
    body = await request.body()
    status, reply = await run_in_threadpool(receive_helpdesk, source, _headers(request), body)
    return JSONResponse(reply, status_code=status)
