"""Export side effects: each part streamed to S3 once; a rerun skips parts already complete."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pyarrow as pa
from prefect import task

from offboarding import product_data
from offboarding.cases import audit, get_account, record_step, step_result
from offboarding.objectstore import ObjectStore, existing_record
from offboarding.settings import get_settings
from offboarding.storage.db import utcnow
from offboarding.storage.models import ExportRow
from offboarding.table_writers import RowCounter, csv_chunks, jsonl_chunks
from tasks.common import RETRYING, db

#: (category, format) parts of an export; JSON documents for structured data, CSV for tables,
#: JSON Lines beside CSV for the large usage table.
PARTS = (
    ("account_and_users", "json"),
    ("account_and_users", "csv"),
    ("content", "csv"),
    ("usage", "csv"),
    ("usage", "jsonl"),
    ("integrations_and_configuration", "json"),
    ("generated_reports", "csv"),
)
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
}


def store() -> ObjectStore:
    s = get_settings()
    st = ObjectStore(s.bucket, s.prefix)
    st.ensure_bucket()
    return st


def export_key(st: ObjectStore, account_id: str, export_id: str, name: str) -> str:
    return st.key("exports", account_id, export_id, name)


@task(name="start-export", **RETRYING)
def start_export(account_id: str, case_id: str | None, export_id: str | None) -> str:
    """One export per case (its id derives from the case), so a rerun reuses it."""
    export_id = export_id or (f"{case_id}-export" if case_id else None)
    if export_id is None:
        raise ValueError("a standalone export needs an export_id")
    with db() as s:
        get_account(s, account_id)
        if s.get(ExportRow, export_id) is None:
            s.add(
                ExportRow(
                    export_id=export_id,
                    account_id=account_id,
                    case_id=case_id,
                    status="running",
                    requested_at=utcnow(),
                )
            )
            audit(s, case_id, "export", "export_started", export_id)
    return export_id


def _batches(account_id: str, category: str) -> tuple[list[pa.RecordBatch] | Any, dict | None]:
    with db() as s:
        account = get_account(s, account_id)
    if category == "account_and_users":
        doc = {
            "account": account.model_dump(mode="json"),
            "users": product_data.users(account).to_pylist(),
        }
        return product_data.users(account).to_batches(), doc
    if category == "content":
        return product_data.content(account).to_batches(), None
    if category == "usage":
        return product_data.usage_batches(account), None
    if category == "integrations_and_configuration":
        return [], product_data.configuration(account)
    if category == "generated_reports":
        return product_data.generated_reports(account).to_batches(), None
    raise ValueError(f"unknown category {category!r}")


@task(name="export-part", **RETRYING)
def export_part(account_id: str, export_id: str, category: str, fmt: str) -> dict[str, Any]:
    st = store()
    key = export_key(st, account_id, export_id, f"{category}.{fmt}")
    done = existing_record(st, key)
    if done is not None:
        return {**asdict(done), "category": category, "format": fmt, "skipped": True}
    batches, doc = _batches(account_id, category)
    if fmt == "json":
        data = json.dumps(doc, ensure_ascii=False, indent=2, default=str).encode()
        record = st.put_bytes(key, data, CONTENT_TYPES[fmt])
    else:
        counted = RowCounter(batches)
        chunks = csv_chunks(counted) if fmt == "csv" else jsonl_chunks(counted)
        record = st.stream_upload(key, chunks, CONTENT_TYPES[fmt], rows=counted)
    return {**asdict(record), "category": category, "format": fmt, "skipped": False}


@task(name="write-manifest", **RETRYING)
def write_manifest(account_id: str, export_id: str, parts: list[dict[str, Any]]) -> dict:
    st = store()
    objects = sorted(
        (
            {
                k: p[k]
                for k in ("key", "bytes", "rows", "sha256", "content_type", "category", "format")
            }
            for p in parts
        ),
        key=lambda o: o["key"],
    )
    manifest = {
        "export_id": export_id,
        "account_id": account_id,
        "objects": objects,
        "formats": {
            "csv": "table (RFC 4180, UTF-8, header)",
            "jsonl": "table as JSON Lines",
            "json": "structured document",
        },
    }
    key = export_key(st, account_id, export_id, "manifest.json")
    st.put_bytes(key, json.dumps(manifest, indent=2, sort_keys=True).encode(), "application/json")
    with db() as s:
        row = s.get(ExportRow, export_id)
        row.manifest_key, row.manifest = key, manifest
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
        manifest = row.manifest
    if done is None:
        st = store()
        expiry = policy.retention.export_link_expiry_days * 86_400
        links = [
            {"name": o["key"].rsplit("/", 1)[-1], "url": st.presign(o["key"], expiry)}
            for o in manifest["objects"]
        ]
        links.append({"name": "manifest.json", "url": st.presign(row.manifest_key, expiry)})
        expires = (utcnow() + timedelta(seconds=expiry)).date().isoformat()
        send_message.fn(
            case_id, "export_ready", extra={"export": {"links": links, "expires_on": expires}}
        )
        with db() as s:
            row = s.get(ExportRow, export_id)
            now = utcnow()
            row.status, row.delivered_at = "delivered", row.delivered_at or now
            hours = (now - row.requested_at.replace(tzinfo=now.tzinfo)).total_seconds() / 3600
            done = {
                "export_id": export_id,
                "hours": round(hours, 4),
                "target_hours": policy.retention.export_target_hours,
                "met": hours <= policy.retention.export_target_hours,
            }
            record_step(s, case_id, "export_delivered", done)
    return done
