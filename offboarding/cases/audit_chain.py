"""The audit log as a hash chain per case: each row carries the hash of the row before it (of
the same case) and its own, so a row changed, removed or slipped in under the database's
append-only triggers (by someone who dropped them) breaks the chain at a row we can name.
Pure: hashing and checking over plain values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def _iso(at: datetime) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def audit_hash(
    prev_hash: str,
    at: datetime,
    case_id: str | None,
    actor: str,
    action: str,
    what: str,
    why: str,
    data: dict[str, Any] | None,
) -> str:
    """SHA-256 over the previous hash and the row's content in a canonical form."""
    body = json.dumps(
        [_iso(at), case_id, actor, action, what or "", why or "", data or {}],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(f"{prev_hash}\x1f{body}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainRow:
    audit_id: int
    case_id: str | None
    at: datetime
    actor: str
    action: str
    what: str
    why: str
    data: dict[str, Any] | None
    prev_hash: str | None
    row_hash: str | None


@dataclass(frozen=True)
class Break:
    case_id: str | None
    audit_id: int
    why: str


def first_break(rows: Iterable[ChainRow]) -> Break | None:
    """The first row (in id order, per case) whose link or content does not hold. Rows from
    before the chain existed (no hash) are skipped; the chain starts at the first hashed row."""
    heads: dict[str | None, str] = {}
    for r in rows:
        if r.row_hash is None:
            if r.case_id in heads:  # an unhashed row after the chain began: slipped in
                return Break(r.case_id, r.audit_id, "a row without a hash inside the chain")
            continue
        expected_prev = heads.get(r.case_id, "")
        if (r.prev_hash or "") != expected_prev:
            return Break(r.case_id, r.audit_id, "its link does not match the row before it")
        fields = (r.at, r.case_id, r.actor, r.action, r.what, r.why, r.data)
        if audit_hash(r.prev_hash or "", *fields) != r.row_hash:
            return Break(r.case_id, r.audit_id, "its content does not match its hash")
        heads[r.case_id] = r.row_hash
    return None
