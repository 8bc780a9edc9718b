"""The deletion certificate (§6 "written deletion confirmation"): what was deleted (object keys,
count, bytes, SHA-256), when, by which run, what was erased in our own records, and the date
the last backup holding the data expires. JSON for machines, PDF for people; no personal data.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from offboarding.pdf_markup import render_pdf, render_template
from offboarding.timeline import add_months

__all__ = ["build_certificate", "certificate_json", "certificate_pdf", "certificate_id_for"]


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


def certificate_pdf(cert: dict[str, Any], locale: str = "en") -> bytes:
    markup = render_template("deletion_certificate", {"c": cert}, locale)
    return render_pdf(markup, f"Deletion certificate {cert['certificate_id']}")
