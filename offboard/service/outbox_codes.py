"""Read a one-time code and decision link back from the file outbox, as the person it was
sent to would: the demo and the tests answer through the same proofs people use."""

from __future__ import annotations

import email
import re
import time
from pathlib import Path

from sqlalchemy import select

from offboard.service.database import store_session
from offboarding.cases.store import OffboardingError
from offboarding.storage.models import MessageRow

CODE = re.compile(r"\b(\d{8})\b")
LINK = re.compile(r"(https?://\S+/decide/\S+)")


def read_decision_mail(
    case_id: str, person: str, kind: str = "decision_request", after_seq: int = 0, timeout=120.0
) -> dict:
    """The newest `kind` message to `person` on the case: its sequence, code and link."""
    deadline = time.monotonic() + timeout
    while True:
        with store_session() as s:
            row = s.scalar(
                select(MessageRow)
                .where(
                    MessageRow.case_id == case_id,
                    MessageRow.kind == kind,
                    MessageRow.to_addr.contains(person.lower()),
                    MessageRow.seq > after_seq,
                    MessageRow.status == "sent",
                )
                .order_by(MessageRow.seq.desc())
            )
            found = row and (row.seq, row.location, row.to_addr)
        if found and Path(found[1]).exists():
            msg = email.message_from_bytes(Path(found[1]).read_bytes())
            part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
            body = part.get_payload(decode=True).decode()
            code, link = CODE.search(body), LINK.search(body)
            return {
                "seq": found[0],
                "to": found[2],
                "code": code.group(1) if code else None,
                "link": link.group(1) if link else None,
                "text": body,
            }
        if time.monotonic() > deadline:
            raise OffboardingError(f"no {kind} message to {person} on {case_id} in the outbox")
        time.sleep(0.5)
