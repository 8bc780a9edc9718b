"""The deletion certificate (§6 "written deletion confirmation"): what was deleted (object keys,
count, bytes, SHA-256), when, by which run, what was erased in our own records, and the date
the last backup holding the data expires. JSON for machines, PDF for people; no personal data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from offboarding.adapters.pdf import render_pdf
from offboarding.cases.timeline import add_months
from offboarding.export.wording import RenderedReport, render_report

__all__ = [
    "build_certificate",
    "certificate_id_for",
    "certificate_json",
    "certificate_markup",
    "certificate_pdf",
]


def certificate_id_for(case_id: str) -> str:
    return f"DC-{case_id}"


def build_certificate(
    *,
    case_id: str,
    account_id: str,
    account_name: str,
    deleted_at: datetime,
    run_id: str | None,
    trigger: str,
    prefix: str,
    objects: list[dict[str, Any]],
    remaining_objects: int,
    unfinished_uploads: int,
    erased: dict[str, Any],
    closed_on: date | None,
    retention_days: int,
    planned_purge_on: date | None,
    backup_months: int,
) -> dict[str, Any]:
    """The certificate's content. Backups taken up to the deletion expire `backup_months`
    after it (§6: "backups holding it persist up to 12 months")."""
    items = sorted(objects, key=lambda o: o["key"])
    return {
        "certificate_version": 1,
        "certificate_id": certificate_id_for(case_id),
        "case_id": case_id,
        "account_id": account_id,
        "account_name": account_name,
        "deleted_at": deleted_at.isoformat(),
        "run": {"id": run_id, "trigger": trigger},
        "retention": {
            "closed_on": closed_on.isoformat() if closed_on else None,
            "retention_days": retention_days,
            "planned_purge_on": planned_purge_on.isoformat() if planned_purge_on else None,
            "backups_expire_on": add_months(deleted_at.date(), backup_months).isoformat(),
        },
        "objects": {
            "prefix": prefix,
            "count": len(items),
            "bytes": sum(int(o.get("bytes") or 0) for o in items),
            "items": items,
        },
        "verification": {
            "prefix_listed_after_delete": remaining_objects,
            "unfinished_uploads_after_delete": unfinished_uploads,
            "empty": remaining_objects == 0 and unfinished_uploads == 0,
        },
        "our_records_erased": erased,
        "kept": (
            "case id, dates, statuses, reason category and the audit log, which hold no "
            "personal data; the deletion certificate itself"
        ),
    }


def certificate_json(cert: dict[str, Any]) -> bytes:
    return (json.dumps(cert, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def certificate_markup(
    cert: dict[str, Any], locale: str = "en", account: Mapping[str, Any] | None = None
) -> RenderedReport:
    """The certificate's wording in `locale` (English fallback). `account` (its profile) gives
    the region and time zone its dates are written in and the owner the reader can reach;
    neither goes into the JSON, which stays free of personal data."""
    account = account or {}
    context = {"c": cert, "owner": account.get("owner")}
    region, tz = account.get("region"), account.get("timezone")
    return render_report("deletion_certificate", context, locale, region, tz)


def certificate_pdf(
    cert: dict[str, Any], locale: str = "en", account: Mapping[str, Any] | None = None
) -> bytes:
    """The certificate for people, as PDF with its fonts embedded (same input, same bytes)."""
    doc = certificate_markup(cert, locale, account)
    return render_pdf(doc.markup, lang=doc.locale)
