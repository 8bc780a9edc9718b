"""The export's PDF report (§6 "PDF for reports"): account overview, what the export contains
with row counts, usage summary with charts, retention and deletion dates, how to open each file.

The usage summary is gathered while the usage table streams (`SummaryTap`), so the report
needs no second pass over millions of rows. The wording is the account's language
(`export.wording`), with its fonts embedded (`adapters.pdf_fonts`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from offboarding.adapters.pdf import Chart, bar_chart, hbar_chart, render_pdf
from offboarding.adapters.pdf_fonts import LATIN, font_for
from offboarding.comms.locale_format import format_number
from offboarding.export.wording import RenderedReport, format_month, render_report

__all__ = [
    "FORMAT_KINDS",
    "HOW_TO_OPEN",
    "SummaryTap",
    "export_report_markup",
    "export_report_pdf",
]

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


def _charts(summary: dict[str, Any] | None, locale: str, region: str | None) -> dict[str, Chart]:
    """The usage charts, titled by the template (`[[chart:name|title]]`), with months and
    counts written for the locale."""
    if not summary:
        return {}
    months = summary.get("months") or {}
    groups = list((summary.get("groups") or {}).items())[:TOP_GROUPS]

    def number(v: float) -> str:
        return format_number(int(v) if float(v).is_integer() else v, locale, region)

    labels = [format_month(m, locale, region) for m in months]
    if font_for(labels) != LATIN:  # an axis label has one font: keep Latin digits in Latin
        labels = [format_month(m, locale, region, "yMM") for m in months]
    return {
        "usage_by_month": lambda title: bar_chart(
            labels, list(months.values()), title, number=number
        ),
        "usage_by_group": lambda title: hbar_chart(
            [g for g, _ in groups], [n for _, n in groups], title, number=number
        ),
    }


def export_report_markup(
    account: dict[str, Any],
    export_id: str,
    prepared_on: date,
    objects: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    retention: dict[str, Any] | None,
    link_expiry_days: int,
    locale: str = "en",
) -> RenderedReport:
    """The report's wording in `locale` (English fallback); the account's region and time
    zone format its values. `objects`: name, category, format, rows, bytes of each file."""
    formats = sorted({o["format"] for o in objects} | {"pdf"})
    context = {
        "account": account,
        "owner": account.get("owner"),
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
    region, tz = account.get("region"), account.get("timezone")
    return render_report("export_report", context, locale, region, tz)


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
    """The report as PDF, its fonts embedded; the same arguments give the same bytes."""
    doc = export_report_markup(
        account, export_id, prepared_on, objects, usage, retention, link_expiry_days, locale
    )
    charts = _charts(usage, doc.locale, account.get("region"))
    return render_pdf(doc.markup, charts=charts, lang=doc.locale)
