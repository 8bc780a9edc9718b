"""Win-back side effects as Prefect tasks: tonight's selection recorded, messages sent once,
the outreach table published.

Idempotent on natural keys in our database: the night (one evaluation per night), the
outreach (account + night) and the message (case + `winback_outreach` + sequence), so a
rerun or a retry repeats nothing.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.logging import get_run_logger

from offboarding.domain import OutreachStatus, SignalType
from offboarding.settings import get_settings
from offboarding.storage.db import as_utc
from offboarding.storage.models.winback import WinbackOutreachRow, WinbackSignalRow
from offboarding.winback.selection import select_outreach
from offboarding.winback.store.candidates import load_candidates
from offboarding.winback.store.outreach import (
    get_outreach,
    mark_sent,
    night_recorded,
    outreach_rows,
    outreach_view,
    record_night,
    withdraw_if_unwanted,
)
from offboarding.winback.store.signals import load_signals
from tasks.common import RETRYING, current_flow_run_id, db, is_transient
from tasks.messaging import send_message

KIND = "winback_outreach"
ARTIFACT_KEY = "winback-nightly"


def tonight() -> date:
    """Today's date where the win-back team works (the cron's time zone)."""
    return datetime.now(ZoneInfo(get_settings().winback_timezone)).date()


@task(name="winback-evaluate-night", **RETRYING)
def evaluate_night(night: date) -> dict[str, Any]:
    """Select tonight's outreach over the whole population and record it, once per night."""
    with db() as s:
        done = night_recorded(s, night)
        if done is not None:
            return {"night": night.isoformat(), "created": 0, "already_recorded": True}
        policy = get_settings().policy()
        candidates = load_candidates(s)
        signals = load_signals(s, night, policy)
    selected = select_outreach(candidates, signals, night, policy)
    chosen = set(selected["signal_id"].to_list())
    details = {
        sid: json.loads(d)
        for sid, d in signals.select("signal_id", "details").iter_rows()
        if sid in chosen
    }
    with db() as s:
        result = record_night(
            s,
            night,
            selected,
            details,
            candidates=candidates.height,
            signals=signals.height,
            flow_run_id=current_flow_run_id(),
        )
    return {**result, "candidates": candidates.height, "signals": signals.height}


def message_extra(s, o: WinbackOutreachRow) -> dict[str, Any]:  # noqa: ANN001
    """What the `winback_outreach` template needs: the signal and the reason to write."""
    sig = s.get(WinbackSignalRow, o.signal_id) if o.signal_id else None
    details = (sig.details if sig else None) or {}
    case_gap = None
    if o.signal_type == SignalType.feature_shipped:
        from offboarding.cases.store import get_case

        case_gap = (get_case(s, o.case_id).reason or {}).get("product_gap")
    feature = details.get("feature") or case_gap or ", ".join(sig.codes if sig else [])
    return {
        "signal": {
            "type": o.signal_type,
            "feature": feature or "the change you asked for",
            "company": details.get("new_company") or "",
            "competitor": details.get("competitor") or (sig.competitor if sig else "") or "",
            "season": details.get("season") or "",
            "observed_on": o.signal_observed_at and as_utc(o.signal_observed_at).date().isoformat(),
            "source": sig.source if sig else "",
        },
        "why": o.why,
        "outreach_id": o.outreach_id,
        "personal_note": o.review_note,
    }


def send_one(outreach_id: str) -> dict[str, Any]:
    """Send one outreach whose status is to_send; already sent means nothing happens."""
    with db() as s:
        o = get_outreach(s, outreach_id)
        if o.status != OutreachStatus.to_send:
            return {"outreach_id": outreach_id, "sent_now": False, "status": o.status}
        if withdraw_if_unwanted(s, o) is not None:
            return {"outreach_id": outreach_id, "sent_now": False, "status": o.status}
        case_id, seq, extra = o.case_id, o.message_seq, message_extra(s, o)
    sent = send_message.fn(case_id, KIND, seq=seq, extra=extra)
    with db() as s:
        mark_sent(s, outreach_id, sent["location"])
    return {"outreach_id": outreach_id, "sent_now": sent["sent_now"], "status": "sent"}


@task(name="winback-send-outreach", **RETRYING)
def send_outreach() -> dict[str, list]:
    """Send every outreach waiting to go (tonight's, and any approved by an owner since)."""
    with db() as s:
        todo = [o.outreach_id for o in outreach_rows(s, status=str(OutreachStatus.to_send))]
    sent, failed = [], []
    for oid in todo:
        try:
            if send_one(oid)["status"] == OutreachStatus.sent:
                sent.append(oid)
        except Exception as exc:
            if is_transient(exc):
                raise  # the task retries; what was sent stays sent
            get_run_logger().error("win-back outreach %s not sent: %s", oid, exc)
            failed.append({"outreach_id": oid, "error": str(exc)[:300]})
    return {"sent": sent, "failed": failed}


@task(name="winback-publish-outreach", **RETRYING)
def publish_outreach(night: date, failed: list[dict]) -> list[dict[str, Any]]:
    """Tonight's outreach as a table artifact: who, why, on which signal, and where it stands."""
    errors = {f["outreach_id"]: f["error"] for f in failed}
    with db() as s:
        rows = [outreach_view(o) for o in outreach_rows(s, night=night)]
    table = [
        {
            "account": r["account_id"],
            "case": r["case_id"],
            "owner": r["owner"],
            "signal": r["signal_type"],
            "observed": (r["observed_at"] or "")[:10],
            "strength": r["strength"],
            "why": r["why"],
            "status": r["status"]
            + (f" (not sent: {errors[r['outreach_id']]})" if r["outreach_id"] in errors else ""),
        }
        for r in rows
    ]
    create_table_artifact(
        table or [{"account": "", "why": f"no outreach on {night}"}],
        key=ARTIFACT_KEY,
        description=f"Win-back outreach for the night of {night} ({len(rows)})",
    )
    return rows
