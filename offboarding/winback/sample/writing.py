"""A generated population written out: as Parquet files (the benchmark's input), or into the
store as the state the nightly flow would find after real cancellations (demos and tests).

Not pure: writes files and database rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from offboarding.cases.store import audit
from offboarding.storage.db import utcnow
from offboarding.storage.models import AccountRow, CaseRow
from offboarding.storage.models.winback import (
    WinbackOutcomeRow,
    WinbackOutreachRow,
    WinbackPreferenceRow,
)
from offboarding.winback.sample.population import Sample
from offboarding.winback.store.signals import ingest_signals

__all__ = ["load_into_store", "write_sample"]


def write_sample(sample: Sample, out: Path) -> dict[str, Any]:
    """candidates.parquet, signals.parquet and sample.json (the night they were made for)."""
    out.mkdir(parents=True, exist_ok=True)
    sample.candidates.write_parquet(out / "candidates.parquet", row_group_size=256_000)
    sample.signals.write_parquet(out / "signals.parquet", row_group_size=1_000_000)
    meta = {
        "night": sample.night.isoformat(),
        "accounts": sample.candidates.height,
        "signals": sample.signals.height,
        "files": {
            name: (out / name).stat().st_size for name in ("candidates.parquet", "signals.parquet")
        },
    }
    (out / "sample.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta


def load_into_store(session: Session, sample: Sample) -> dict[str, Any]:
    """Write a generated population into the store as accounts with closed cases, contact
    preferences, earlier outreach and outcomes, and ingest its signals. For demos and tests:
    it is the state the nightly flow would find after real cancellations."""
    now = utcnow()
    accounts, cases, prefs, history, outcomes = [], [], [], [], []
    for r in sample.candidates.iter_rows(named=True):
        aid, closed = r["account_id"], r["churned_on"]
        contacts = (
            [{"name": "Ops Lead", "email": f"ops@{r['domain']}", "role": "admin"}]
            if r["domain"]
            else []
        )
        owner_name = r["owner"].split("@")[0].title()
        data = {
            "account_id": aid,
            "name": f"Sample {aid}",
            "segment": "enterprise" if r["strategic"] else "smb",
            "arr": 150_000.0 if r["strategic"] else 12_000.0,
            "currency": "USD",
            "contract_start": (closed - timedelta(days=730)).isoformat(),
            "contract_end": (closed + timedelta(days=30)).isoformat(),
            "strategic": r["strategic"],
            "region": "US",
            "locale": "en",
            "owner": {
                "name": owner_name,
                "title": "Customer Success Manager",
                "email": r["owner"],
                "phone": "+1 555 0100",
            },
            "contacts": contacts,
        }
        accounts.append(
            {
                "account_id": aid,
                "name": data["name"],
                "segment": data["segment"],
                "arr": data["arr"],
                "region": "US",
                "locale": "en",
                "data": data,
                "updated_at": now,
            }
        )
        asked = datetime.combine(closed - timedelta(days=14), time(9), UTC)
        reason = {"category": r["reason"], "detail": "generated sample"}
        if r["product_gap"]:
            reason["product_gap"] = r["product_gap"]
        if r["competitor"]:
            reason["competitor_name"] = r["competitor"]
        cases.append(
            {
                "case_id": r["case_id"],
                "account_id": aid,
                "external_ref": f"SAMPLE-{r['case_id']}",
                "status": "closed",
                "channel": "email",
                "requested_by": f"ops@{r['domain'] or 'sample.example'}",
                "requested_at": asked,
                "request": {"account_id": aid, "generated": True},
                "reason": reason,
                "closed_on": closed,
                "completed_at": datetime.combine(closed, time(17), UTC),
                "legal_hold": False,
                "winback_candidate": r["candidate"],
                "created_at": asked,
                "updated_at": now,
            }
        )
        if r["opted_out"] or r["clean_break"]:
            prefs.append(
                {
                    "account_id": aid,
                    "opted_out": r["opted_out"],
                    "clean_break": r["clean_break"],
                    "recorded_by": "sample@example.com",
                    "note": "generated sample",
                    "at": now,
                }
            )
        if r["last_outreach_on"] is not None:
            history.append(
                {
                    "outreach_id": f"W-{aid}-{r['last_outreach_on']:%Y%m%d}",
                    "night": r["last_outreach_on"],
                    "account_id": aid,
                    "case_id": r["case_id"],
                    "owner": r["owner"],
                    "strategic": r["strategic"],
                    "signal_id": None,
                    "signal_type": "stack_pain_post",
                    "strength": 0.0,
                    "why": "an earlier outreach (generated sample)",
                    "status": "sent",
                    "message_seq": 0,
                    "review_note": "",
                    "created_at": now,
                }
            )
        if r["won_back"]:
            outcomes.append(
                {
                    "case_id": r["case_id"],
                    "account_id": aid,
                    "won_back_on": min(closed + timedelta(days=30), sample.night),
                    "recorded_by": "sample@example.com",
                    "note": "generated sample",
                    "at": now,
                }
            )
    for model, rows in (
        (AccountRow, accounts),
        (CaseRow, cases),
        (WinbackPreferenceRow, prefs),
        (WinbackOutreachRow, history),
        (WinbackOutcomeRow, outcomes),
    ):
        for i in range(0, len(rows), 2_000):
            session.execute(model.__table__.insert(), rows[i : i + 2_000])
    stored = ingest_signals(session, sample.signals)
    audit(session, None, "sample", "winback_sample_loaded", f"{len(cases)} churned cases")
    return {"accounts": len(accounts), "signals": stored["new"]}
