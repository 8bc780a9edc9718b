"""Export side effects: each object streamed to S3 once; a rerun skips objects already complete
with a matching checksum and rewrites the same manifest."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from prefect import task
from sqlalchemy import select

from offboarding.adapters.s3.client import return_part_buffers_to_os
from offboarding.adapters.s3.object_store import (
    DEFAULT_UPLOAD_CONCURRENCY,
    ObjectRecord,
    ObjectStore,
    existing_record,
)
from offboarding.cases.store import (
    OffboardingError,
    audit,
    get_account,
    get_case,
    record_step,
    step_result,
)
from offboarding.export.catalogue import Catalogue, active_catalogue, open_source
from offboarding.export.exporter import (
    CONTENT_TYPES,
    MANIFEST_NAME,
    REPORT_NAME,
    account_profile,
    export_key,
    manifest_document,
    object_name,
    write_part,
)
from offboarding.export.report import FORMAT_KINDS, SummaryTap, export_report_pdf
from offboarding.settings import get_settings
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import AccountRow, ExportRow
from offboarding.storage.models.export import ExportObjectRow
from offboarding.trust.receipts import sign
from offboarding.trust.secrets import signing_key
from tasks.common import RETRYING, chaos_fail, db

SAMPLE_ACCOUNTS = Path(__file__).resolve().parent.parent / "offboarding" / "sample_data"


def store() -> ObjectStore:
    s = get_settings()
    return_part_buffers_to_os()  # keeps the export's peak memory flat (see its docstring)
    st = ObjectStore(s.bucket, s.prefix, upload_concurrency=_upload_concurrency())
    st.ensure_bucket()
    return st


def _known_accounts() -> list[str]:
    """Accounts the generated sample dataset covers: the sample accounts and ours."""
    sample = json.loads((SAMPLE_ACCOUNTS / "accounts.json").read_text(encoding="utf-8"))
    with db() as s:
        ours = list(s.scalars(select(AccountRow.account_id)))
    return list(dict.fromkeys([a["account_id"] for a in sample] + sorted(ours)))


def catalogue() -> Catalogue:
    return active_catalogue(get_settings().state_dir, _known_accounts)


def _part_size() -> int:
    """Multipart part size, `OFFBOARDING_EXPORT_PART_MIB` (default 16; S3's minimum is 5)."""
    return int(float(os.environ.get("OFFBOARDING_EXPORT_PART_MIB", "16")) * 1024 * 1024)


def _upload_concurrency() -> int:
    """Parts of one object in flight at once, `OFFBOARDING_EXPORT_UPLOAD_CONCURRENCY`
    (default 4); each costs one part of memory."""
    raw = os.environ.get("OFFBOARDING_EXPORT_UPLOAD_CONCURRENCY")
    return int(raw) if raw else DEFAULT_UPLOAD_CONCURRENCY


def new_export_id() -> str:
    """A standalone (data-portability) export's id: sortable by time, unique."""
    return f"E-{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


@task(name="start-export", **RETRYING)
def start_export(account_id: str, case_id: str | None, export_id: str | None) -> dict[str, Any]:
    """One export per case (its id derives from the case), so a rerun reuses it; a standalone
    export reruns under the id it was given."""
    export_id = export_id or (f"{case_id}-export" if case_id else new_export_id())
    with db() as s:
        get_account(s, account_id)
        row = s.get(ExportRow, export_id)
        if row is not None and row.account_id != account_id:
            raise OffboardingError(f"export {export_id} belongs to account {row.account_id}")
        if row is None:
            s.add(
                ExportRow(
                    export_id=export_id,
                    account_id=account_id,
                    case_id=case_id,
                    status="running",
                    requested_at=utcnow(),
                )
            )
            audit(s, case_id, "export", "export_started", export_id, data={"account": account_id})
    # first use may generate the sample dataset: done here, once
    parts = catalogue().parts_largest_first()
    return {"export_id": export_id, "parts": [list(p) for p in parts]}


def _part_dict(
    record: ObjectRecord, name: str, category: str, fmt: str, summary: dict | None, skipped: bool
) -> dict[str, Any]:
    return {
        "name": name,
        "key": record.key,
        "category": category,
        "format": fmt,
        "bytes": record.bytes,
        "rows": record.rows,
        "sha256": record.sha256,
        "content_type": record.content_type,
        "summary": summary,
        "skipped": skipped,
    }


def _remember(export_id: str, part: dict[str, Any]) -> None:
    with db() as s:
        row = s.scalar(
            select(ExportObjectRow).where(
                ExportObjectRow.export_id == export_id, ExportObjectRow.name == part["name"]
            )
        )
        if row is None:
            row = ExportObjectRow(export_id=export_id, name=part["name"])
            s.add(row)
        for field in ("key", "category", "format", "bytes", "rows", "sha256", "content_type"):
            setattr(row, field, part[field])
        row.summary = part["summary"] if part["summary"] is not None else row.summary
        row.done_at = utcnow()


def _complete(
    st: ObjectStore, export_id: str, name: str, key: str
) -> tuple[ObjectRecord, dict | None] | None:
    """The object at `key` if it is complete and its checksum matches what we recorded."""
    found = existing_record(st, key)
    if found is None:
        return None
    with db() as s:
        row = s.scalar(
            select(ExportObjectRow).where(
                ExportObjectRow.export_id == export_id, ExportObjectRow.name == name
            )
        )
        if row is not None and (row.sha256, row.bytes) != (found.sha256, found.bytes):
            return None  # not the bytes we wrote: write again
        return found, (row.summary if row is not None else None)


#: A global concurrency limit that caps the parts written at once across runs, when set.
EXPORT_SLOTS_ENV = "OFFBOARDING_EXPORT_CONCURRENCY_LIMIT"


#: The task's retries are the common ones: an S3 outage is ridden out inside each call
#: (`adapters.s3.outage`, 300 s by default), so the retries here cover only what remains, an
#: orchestration fault such as a concurrency slot the API could not grant. (Longer task
#: retries stacked on the per-call window held a part for about 30 minutes in a long outage.)
@task(name="export-part", task_run_name="export-{category}-{fmt}", **RETRYING)
def export_part(account_id: str, export_id: str, category: str, fmt: str) -> dict[str, Any]:
    """One object of the export. With `prefect gcl create s3-export --limit N` and
    OFFBOARDING_EXPORT_CONCURRENCY_LIMIT=s3-export, at most N parts are written at once across
    runs. The slot is taken inside the task, not through a task tag (whose acquisition happens
    outside the task's retries), so a busy API is retried, never fatal to the case."""
    chaos_fail("export_part")
    limit = os.environ.get(EXPORT_SLOTS_ENV, "").strip()
    if not limit:
        return _export_part(account_id, export_id, category, fmt)
    from prefect.concurrency.sync import concurrency

    with concurrency(limit, occupy=1, strict=True):
        return _export_part(account_id, export_id, category, fmt)


def _export_part(account_id: str, export_id: str, category: str, fmt: str) -> dict[str, Any]:
    st = store()
    name = object_name(category, fmt)
    key = export_key(st, account_id, export_id, name)
    done = _complete(st, export_id, name, key)
    if done is not None:
        part = _part_dict(done[0], name, category, fmt, done[1], skipped=True)
    else:
        with db() as s:
            account = get_account(s, account_id)
        st.abort_unfinished(key)  # an interrupted earlier try's parts, never left to linger
        record, summary = write_part(
            st, catalogue(), account, key, category, fmt, part_size=_part_size()
        )
        part = _part_dict(record, name, category, fmt, summary, skipped=False)
    _remember(export_id, part)
    return part


def _usage_summary(account_id: str, parts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The summary gathered while streaming; a summary pass only if every such part was
    skipped by a rerun and its summary was never recorded."""
    cat = catalogue()
    for name, spec in cat.categories.items():
        if spec.summary is None:
            continue
        found = next((p["summary"] for p in parts if p["category"] == name and p["summary"]), None)
        if found is not None:
            return found
        cols = [c for c in (spec.summary.time, spec.summary.group) if c]
        batches = open_source(cat, name, account_id, columns=cols)
        tap = SummaryTap(batches, spec.summary.time, spec.summary.group)
        for _ in tap:
            pass
        return tap.to_dict()
    return None


def _retention(case_id: str | None) -> dict[str, Any] | None:
    if case_id is None:
        return None
    policy = get_settings().policy().retention
    with db() as s:
        plan = get_case(s, case_id).plan or {}
    if "closure_on" not in plan:
        return None
    return {
        "closed_on": plan["closure_on"],
        "purge_on": plan.get("purge_on"),
        "backups_expire_on": plan.get("backups_expire_on"),
        "retention_days": policy.retention_days,
    }


@task(name="export-report", **RETRYING)
def export_report(
    account_id: str, export_id: str, case_id: str | None, parts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The PDF summary: account overview, contents with row counts, usage charts, retention."""
    st = store()
    key = export_key(st, account_id, export_id, REPORT_NAME)
    done = _complete(st, export_id, REPORT_NAME, key)
    if done is not None:
        part = _part_dict(done[0], REPORT_NAME, "report", "pdf", None, skipped=True)
    else:
        with db() as s:
            account = get_account(s, account_id)
            requested = as_utc(s.get(ExportRow, export_id).requested_at)
        objects = [
            {**p, "kind": FORMAT_KINDS[p["format"]].split(":")[0]}
            for p in sorted(parts, key=lambda p: p["name"])
        ]
        pdf = export_report_pdf(
            account_profile(account),
            export_id,
            requested.date() if requested else date.today(),
            objects,
            _usage_summary(account_id, parts),
            _retention(case_id),
            get_settings().policy().retention.export_link_expiry_days,
            account.locale,
        )
        record = st.put_bytes(key, pdf, CONTENT_TYPES["pdf"])
        part = _part_dict(record, REPORT_NAME, "report", "pdf", None, skipped=False)
    _remember(export_id, part)
    return part


@task(name="write-manifest", **RETRYING)
def write_manifest(account_id: str, export_id: str, objects: list[dict[str, Any]]) -> dict:
    st = store()
    key = export_key(st, account_id, export_id, MANIFEST_NAME)
    with db() as s:
        requested = as_utc(s.get(ExportRow, export_id).requested_at)
    manifest = sign(  # a receipt anyone with our public key can check offline
        manifest_document(account_id, export_id, st.bucket, key, requested.isoformat(), objects),
        signing_key(get_settings()),
    )
    data = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    st.put_bytes(key, data, CONTENT_TYPES["json"])
    with db() as s:
        row = s.get(ExportRow, export_id)
        row.manifest_key, row.manifest = key, manifest
        if row.status != "delivered":
            row.status = "complete"
    return manifest


@task(name="deliver-export", **RETRYING)
def deliver_export(case_id: str, export_id: str) -> dict[str, Any]:
    """§6: links go to the customer once; delivery time is measured against 48 h."""
    from tasks.messaging import send_message

    settings = get_settings()
    policy = settings.policy()
    with db() as s:
        done = step_result(s, case_id, "export_delivered")
        row = s.get(ExportRow, export_id)
        manifest, manifest_key = row.manifest, row.manifest_key
    if done is None:
        st = store()
        expiry = policy.retention.export_link_expiry_days * 86_400
        links = [
            {"name": o["name"], "url": st.presign(o["key"], expiry)} for o in manifest["objects"]
        ]
        links.append({"name": MANIFEST_NAME, "url": st.presign(manifest_key, expiry)})
        expires = (utcnow() + timedelta(seconds=expiry)).date().isoformat()
        send_message.fn(
            case_id, "export_ready", extra={"export": {"links": links, "expires_on": expires}}
        )
        with db() as s:
            row = s.get(ExportRow, export_id)
            now = utcnow()
            row.status, row.delivered_at = "delivered", row.delivered_at or now
            hours = (as_utc(row.delivered_at) - as_utc(row.requested_at)).total_seconds() / 3600
            done = {
                "export_id": export_id,
                "requested_at": as_utc(row.requested_at).isoformat(),
                "delivered_at": as_utc(row.delivered_at).isoformat(),
                "hours": round(hours, 4),
                "target_hours": policy.retention.export_target_hours,
                "met": hours <= policy.retention.export_target_hours,
            }
            record_step(s, case_id, "export_delivered", done)
    return done
