"""The export's PDF report (§6 "PDF for reports"): account overview, what the export contains
with row counts, usage summary with charts, retention and deletion dates, how to open each file.

The usage summary is gathered while the usage table streams (`SummaryTap`), so the report
needs no second pass over millions of rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from offboarding.pdf_markup import bar_chart, hbar_chart, render_pdf, render_template

__all__ = ["FORMAT_KINDS", "HOW_TO_OPEN", "SummaryTap", "export_report_pdf"]

#: What each format is, as the manifest and the report say it.
FORMAT_KINDS = {
    "csv": "table: CSV (RFC 4180, UTF-8, header row)",
    "jsonl": "large table: JSON Lines (one JSON object per line)",
    "json": "structured data: JSON document",
    "pdf": "report: PDF",
}
HOW_TO_OPEN = {
    "csv": "Any spreadsheet (Excel: Data > From Text/CSV, choose UTF-8), a database import, "
    "or pandas.read_csv. Text fields may contain commas and line breaks inside quotes.",
    "jsonl": "Line by line with any JSON parser: jq -c . FILE, pandas.read_json(FILE, "
    "lines=True), or import into a document database.",
    "json": "Any text editor or browser; jq . FILE pretty-prints it.",
    "pdf": "Any PDF reader.",
}
TOP_GROUPS = 10


class SummaryTap:
    """Pass record batches through unchanged while counting rows per month and per group."""

    def __init__(self, batches: Iterable[pa.RecordBatch], time: str, group: str | None) -> None:
        self._batches = batches
        self.time, self.group = time, group
        self.rows = 0
        self.months: Counter[str] = Counter()
        self.groups: Counter[str] = Counter()
        self.first: Any = None
        self.last: Any = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches:
            self._add(batch)
            yield batch

    def _add(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        names = batch.schema.names
        if self.time in names and batch.num_rows:
            ts = batch.column(self.time)
            if pa.types.is_timestamp(ts.type) or pa.types.is_date(ts.type):
                # year * 100 + month in the column's own time zone: 10x faster than strftime
                months = pc.add(pc.multiply(pc.year(ts), 100), pc.month(ts))
                for item in pc.value_counts(months).to_pylist():
                    if item["values"] is not None:
                        year, month = divmod(item["values"], 100)
                        self.months[f"{year:04d}-{month:02d}"] += item["counts"]
                lo, hi = pc.min_max(ts).values()
                lo, hi = lo.as_py(), hi.as_py()
                if lo is not None:
                    self.first = lo if self.first is None else min(self.first, lo)
                    self.last = hi if self.last is None else max(self.last, hi)
        if self.group and self.group in names and batch.num_rows:
            for item in pc.value_counts(batch.column(self.group)).to_pylist():
                self.groups[str(item["values"])] += item["counts"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "time_column": self.time,
            "group_column": self.group,
            "first": self.first.isoformat() if self.first is not None else None,
            "last": self.last.isoformat() if self.last is not None else None,
            "months": dict(sorted(self.months.items())),
            "groups": dict(sorted(self.groups.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


def _charts(summary: dict[str, Any] | None) -> dict[str, Any]:
    if not summary:
        return {}
    months = summary.get("months") or {}
    groups = list((summary.get("groups") or {}).items())[:TOP_GROUPS]
    return {
        "usage_by_month": bar_chart(list(months), list(months.values()), "Events per month"),
        "usage_by_group": hbar_chart(
            [g for g, _ in groups],
            [n for _, n in groups],
            f"Top {len(groups)} by {summary.get('group_column') or 'group'}",
        ),
    }


def export_report_pdf(
    account: dict[str, Any],
    export_id: str,
    prepared_on: date,
    objects: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    retention: dict[str, Any] | None,
    link_expiry_days: int,
    locale: str = "en",
) -> bytes:
    """Render the report. `objects`: name, category, format, rows, bytes of each data file."""
    formats = sorted({o["format"] for o in objects} | {"pdf"})
    context = {
        "account": account,
        "export_id": export_id,
        "prepared_on": prepared_on.isoformat(),
        "objects": objects,
        "total_rows": sum(o.get("rows") or 0 for o in objects),
        "total_bytes": sum(o.get("bytes") or 0 for o in objects),
        "usage": usage,
        "top_groups": list((usage or {}).get("groups", {}).items())[:TOP_GROUPS],
        "retention": retention,
        "link_expiry_days": link_expiry_days,
        "formats": [(f, FORMAT_KINDS[f], HOW_TO_OPEN[f]) for f in formats],
    }
    markup = render_template("export_report", context, locale)
    return render_pdf(markup, f"Data export — {account['name']}", _charts(usage))
