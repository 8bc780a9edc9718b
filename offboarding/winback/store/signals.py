"""Win-back signals in our database: stored once by their natural key, read back per night.

Functions take an open Session (callers own the transaction) and write their audit entries
in it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from offboarding.cases.store import audit
from offboarding.policy import Policy
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models.winback import WinbackSignalRow
from offboarding.winback.signals.model import SIGNAL_SCHEMA, WinbackSignal

__all__ = ["add_signal", "ingest_signals", "load_signals"]

#: Signals looked up and inserted this many at a time: bounded memory and statement size.
_CHUNK = 5_000


def ingest_signals(session: Session, frame: pl.DataFrame) -> dict[str, int]:
    """Store a checked signal frame; signals already stored (same id) are skipped."""
    new = 0
    now = utcnow()
    for offset in range(0, frame.height, _CHUNK):
        chunk = frame.slice(offset, _CHUNK)
        ids = chunk["signal_id"].to_list()
        seen = set(
            session.scalars(
                select(WinbackSignalRow.signal_id).where(WinbackSignalRow.signal_id.in_(ids))
            )
        )
        rows = [
            {
                **{k: r[k] for k in ("signal_id", "type", "account_id", "domain", "competitor")},
                "codes": list(r["codes"] or []),
                "observed_at": r["observed_at"],
                "source": r["source"],
                "details": json.loads(r["details"] or "{}"),
                "ingested_at": now,
            }
            for r in chunk.iter_rows(named=True)
            if r["signal_id"] not in seen
        ]
        if rows:
            session.execute(WinbackSignalRow.__table__.insert(), rows)
            new += len(rows)
    audit(session, None, "winback", "signals_ingested", f"{new} new of {frame.height}")
    return {"rows": frame.height, "new": new, "already_stored": frame.height - new}


def add_signal(session: Session, signal: WinbackSignal) -> dict[str, Any]:
    row = signal.row()
    result = ingest_signals(session, pl.DataFrame([row], schema=SIGNAL_SCHEMA))
    return {"signal_id": signal.signal_id, "new": bool(result["new"])}


def load_signals(session: Session, night: date, policy: Policy) -> pl.DataFrame:
    """The stored signals tonight's rules can use: observed in the window, up to tonight."""
    since = datetime.combine(
        night - timedelta(days=policy.winback.signal_max_age_days - 1), time(), UTC
    )
    until = datetime.combine(night + timedelta(days=1), time(), UTC)
    rows = session.execute(
        select(
            WinbackSignalRow.signal_id,
            WinbackSignalRow.type,
            WinbackSignalRow.account_id,
            WinbackSignalRow.domain,
            WinbackSignalRow.competitor,
            WinbackSignalRow.codes,
            WinbackSignalRow.observed_at,
            WinbackSignalRow.source,
            WinbackSignalRow.details,
        ).where(WinbackSignalRow.observed_at >= since, WinbackSignalRow.observed_at < until)
    ).all()
    return pl.DataFrame(
        [
            {
                "signal_id": r.signal_id,
                "type": r.type,
                "account_id": r.account_id,
                "domain": r.domain,
                "competitor": r.competitor,
                "codes": list(r.codes or []),
                "observed_at": as_utc(r.observed_at),
                "source": r.source,
                "details": json.dumps(r.details or {}, sort_keys=True),
            }
            for r in rows
        ],
        schema=SIGNAL_SCHEMA,
    )
