"""Writing one export object: a category's rows streamed from its source into S3 as CSV or JSON
Lines (memory bounded by one record batch and one multipart part), or as a JSON document.

Pure of Prefect: the tasks in `tasks/export.py` call these with a store and a catalogue, and the
benchmark and memory tests call them directly.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from offboarding.adapters.s3.object_store import ObjectRecord, ObjectStore
from offboarding.domain import Account
from offboarding.export.catalogue import Catalogue, CatalogueError, open_source, source_schema
from offboarding.export.jsonl_writer import jsonl_stream
from offboarding.export.report import FORMAT_KINDS, SummaryTap
from offboarding.export.table_writers import CSV_CONTENT_TYPE, RowCounter, csv_chunks

__all__ = [
    "CONTENT_TYPES",
    "MANIFEST_NAME",
    "REPORT_NAME",
    "AccountGuard",
    "account_profile",
    "document_bytes",
    "export_key",
    "manifest_document",
    "object_name",
    "write_part",
]

CONTENT_TYPES = {
    "csv": CSV_CONTENT_TYPE,
    "jsonl": "application/x-ndjson",
    "json": "application/json",
    "pdf": "application/pdf",
}
REPORT_NAME = "report.pdf"
MANIFEST_NAME = "manifest.json"
#: Fields of our account record that are the customer's own facts (no internal scores).
PROFILE_FIELDS = (
    "account_id",
    "name",
    "currency",
    "contract_start",
    "contract_end",
    "billing_period",
    "region",
    "locale",
    "timezone",
    "owner",
    "contacts",
)


def object_name(category: str, fmt: str) -> str:
    return f"{category}.{fmt}"


def export_key(store: ObjectStore, account_id: str, export_id: str, name: str) -> str:
    """`exports/{account}/{export_id}/{name}` under the store's prefix."""
    return store.key("exports", account_id, export_id, name)


def account_profile(account: Account) -> dict[str, Any]:
    data = account.model_dump(mode="json")
    return {k: data[k] for k in PROFILE_FIELDS if k in data}


class AccountGuard:
    """Refuse any row of another account (defence in depth behind the source's filter: a SQL
    query that forgot its WHERE clause fails the export instead of leaking data)."""

    def __init__(self, batches: Iterable[pa.RecordBatch], column: str, account_id: str) -> None:
        self._batches, self.column, self.account_id = batches, column, account_id

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            if self.column in batch.schema.names and batch.num_rows:
                col = batch.column(self.column)
                same = pc.all(pc.equal(col.cast(pa.string()), self.account_id)).as_py()
                if not same or col.null_count:
                    raise CatalogueError(
                        f"source returned rows of another account (column {self.column!r}); "
                        "the export was stopped and nothing was published"
                    )
            yield batch


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | dt.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def document_bytes(
    catalogue: Catalogue, category: str, account: Account, batches: Iterable[pa.RecordBatch]
) -> tuple[bytes, int]:
    """A category as one JSON document (structured data, bounded by `max_document_rows`)."""
    spec = catalogue.categories[category]
    rows: list[dict[str, Any]] = []
    for batch in batches:
        rows.extend(batch.to_pylist())
        if len(rows) > spec.max_document_rows:
            raise CatalogueError(
                f"{category}: more than {spec.max_document_rows} rows for a JSON document; "
                "export it as jsonl instead"
            )
    doc: dict[str, Any] = {"account_id": account.account_id, "category": category}
    if category == "account_and_users":
        doc["account"] = account_profile(account)
    group = spec.document_group_by
    if group:
        for row in rows:
            doc.setdefault(str(row.pop(group, None)), []).append(row)
    else:
        doc["users" if category == "account_and_users" else "records"] = rows
    text = json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default) + "\n"
    return text.encode("utf-8"), len(rows)


def write_part(
    store: ObjectStore,
    catalogue: Catalogue,
    account: Account,
    key: str,
    category: str,
    fmt: str,
    part_size: int | None = None,
) -> tuple[ObjectRecord, dict[str, Any] | None]:
    """Stream one (category, format) object of `account` into `key`; returns its record and,
    for the first format of a category with a summary, the usage summary gathered on the way."""
    spec = catalogue.categories[category]
    batches: Iterable[pa.RecordBatch] = AccountGuard(
        open_source(catalogue, category, account.account_id),
        spec.source.account_column,
        account.account_id,
    )
    # one format's pass gathers the summary (the report takes the first it finds); the
    # others skip its cost
    gather = spec.summary is not None and fmt == spec.formats[0]
    tap = SummaryTap(batches, spec.summary.time, spec.summary.group) if gather else None
    if tap is not None:
        batches = tap
    if fmt == "json":
        data, rows = document_bytes(catalogue, category, account, batches)
        record = store.put_bytes(key, data, CONTENT_TYPES[fmt], rows=rows)
    elif fmt in ("csv", "jsonl"):
        counted = RowCounter(batches)
        if fmt == "csv":
            chunks = csv_chunks(counted, schema=source_schema(catalogue, category))
        else:
            chunks = jsonl_stream(counted)
        kwargs = {"part_size": part_size} if part_size else {}
        record = store.stream_upload(key, chunks, CONTENT_TYPES[fmt], rows=counted, **kwargs)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return record, (tap.to_dict() if tap is not None else None)


def manifest_document(
    account_id: str,
    export_id: str,
    bucket: str,
    manifest_key: str,
    requested_at: str,
    objects: list[dict[str, Any]],
) -> dict[str, Any]:
    """The manifest: every object with bytes, rows, SHA-256, content type and what it is.

    Only stable facts go in, so a rerun of the same export writes the same manifest.
    """
    listed = sorted(
        (
            {
                "name": o["name"],
                "key": o["key"],
                "category": o["category"],
                "format": o["format"],
                "kind": FORMAT_KINDS[o["format"]],
                "content_type": o["content_type"],
                "bytes": o["bytes"],
                "rows": o["rows"],
                "sha256": o["sha256"],
            }
            for o in objects
        ),
        key=lambda o: o["key"],
    )
    return {
        "manifest_version": 1,
        "export_id": export_id,
        "account_id": account_id,
        "requested_at": requested_at,
        "bucket": bucket,
        "manifest_key": manifest_key,
        "objects": listed,
        "formats": FORMAT_KINDS,
        "checksums": "sha256 of each object's bytes, hex",
    }
