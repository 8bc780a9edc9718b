"""The export report and the deletion certificate of the sample accounts, built as the export
and purge tasks build them (account profile, objects, usage summary, retention dates)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from offboarding.domain import Account
from offboarding.export.deletion_certificate import build_certificate
from offboarding.export.exporter import account_profile
from offboarding.export.report import FORMAT_KINDS

SAMPLE = Path(__file__).resolve().parents[3] / "offboarding" / "sample_data" / "accounts.json"
#: One account per locale the documents are written in.
BY_LOCALE = {"en": "ACME-SMB", "ja": "SAKURA-JP", "ms": "KAMPUNG-MY"}
LOCALES = tuple(BY_LOCALE)


def profile(account_id: str, **overrides: Any) -> dict[str, Any]:
    data = {a["account_id"]: a for a in json.loads(SAMPLE.read_text(encoding="utf-8"))}
    return account_profile(Account.model_validate({**data[account_id], **overrides}))


def objects() -> list[dict[str, Any]]:
    rows = [
        ("account_and_users", "csv", 12, 2_345),
        ("content", "csv", 4_210, 1_204_331),
        ("usage", "jsonl", 123_456, 98_765_432),
        ("integrations_and_configuration", "json", None, 3_456),
    ]
    return [
        {
            "name": f"{cat}.{fmt}",
            "category": cat,
            "format": fmt,
            "kind": FORMAT_KINDS[fmt].split(":")[0],
            "rows": n,
            "bytes": size,
        }
        for cat, fmt, n, size in rows
    ]


def usage(groups: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "rows": 123_456,
        "time_column": "ts",
        "group_column": "event",
        "first": "2025-01-03T01:02:03+00:00",
        "last": "2026-02-27T10:00:00+00:00",
        "months": {f"2025-{m:02d}": 1000 * m for m in range(1, 13)},
        "groups": groups or {"login": 50_000, "export": 3_000, "invite": 1_200},
    }


RETENTION = {
    "closed_on": "2026-03-16",
    "purge_on": "2026-06-14",
    "backups_expire_on": "2027-06-14",
    "retention_days": 90,
}


def report_args(account: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The arguments of `export_report_pdf` for a case export of `account`."""
    args = {
        "account": account,
        "export_id": "C-7F3A9B21-export",
        "prepared_on": date(2026, 3, 2),
        "objects": objects(),
        "usage": usage(),
        "retention": RETENTION,
        "link_expiry_days": 7,
        "locale": account["locale"],
    }
    return {**args, **overrides}


def certificate(account: dict[str, Any]) -> dict[str, Any]:
    aid = account["account_id"]
    return build_certificate(
        case_id="C-7F3A9B21",
        account_id=aid,
        account_name=account["name"],
        deleted_at=datetime(2026, 6, 14, 2, 0, tzinfo=UTC),
        run_id="3c9e1f2a-run",
        trigger="scheduled",
        prefix=f"exports/{aid}/",
        objects=[
            {
                "key": f"exports/{aid}/C-7F3A9B21-export/usage.jsonl",
                "bytes": 98_765_432,
                "sha256": "ab" * 32,
            },
            {"key": f"exports/{aid}/C-7F3A9B21-export/report.pdf", "bytes": 61_204, "sha256": None},
        ],  # fmt: skip
        remaining_objects=0,
        unfinished_uploads=0,
        erased={"contacts": 1, "case_requests": 1, "reason_texts": 1, "cases": 1},
        closed_on=date(2026, 3, 16),
        retention_days=90,
        planned_purge_on=date(2026, 6, 14),
        backup_months=12,
    )


_CHART = re.compile(r"^\[\[chart:[\w-]+(?:\|(.*))?\]\]$", re.M)


def document_text(markup: str) -> str:
    """What the document says: markup syntax, tags and entities gone; chart titles kept."""
    out = _CHART.sub(lambda m: m.group(1) or "", markup)
    out = re.sub(r"^(#+ |- |\s*\|)", "", out, flags=re.M).replace(" | ", " ")
    out = re.sub(r"\|\s*$", "", out, flags=re.M)
    return html.unescape(re.sub(r"<[^>]*>", "", out))
