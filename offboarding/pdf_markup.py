"""PDF documents from templates: a Jinja2 template writes a small line-based markup, reportlab
lays it out. Wording lives in `templates/report/*.j2` (per locale), layout lives here.

Markup, one construct per line (blank lines end paragraphs):
    # Title            ## Heading         - bullet
    | a | b |          table row (the first row of a block is the header)
    [[chart:name]]     a chart passed in by the caller (reportlab Drawing)
    ---                page break
Everything else is paragraph text; reportlab's inline tags (<b>, <i>, <font>) work. Values are
XML-escaped by the template environment, so data cannot inject markup.

Output is byte-for-byte reproducible (`invariant=True`: no creation time, fixed document id),
so a rerun of an export writes the same report with the same SHA-256.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

__all__ = ["bar_chart", "hbar_chart", "render_pdf", "render_template"]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "report"
FALLBACK_LOCALE = "en"
_CJK_FONT = "HeiseiKakuGo-W5"
ACCENT = colors.HexColor("#1f4e79")


def render_template(name: str, context: Mapping[str, Any], locale: str = FALLBACK_LOCALE) -> str:
    """`templates/report/<name>.<locale>.md.j2`, falling back to English."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # values become XML text for reportlab's paragraph parser
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["thousands"] = lambda n: f"{int(n):,}" if n is not None else "–"
    for loc in dict.fromkeys([locale, FALLBACK_LOCALE]):
        try:
            return env.get_template(f"{name}.{loc}.md.j2").render(**context)
        except TemplateNotFound:
            continue
    raise TemplateNotFound(f"{name}.{FALLBACK_LOCALE}.md.j2")


def _styles(cjk: bool) -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    font = _CJK_FONT if cjk else None
    out = {}
    for key, name in (("title", "Title"), ("h2", "Heading2"), ("p", "BodyText")):
        style = ParagraphStyle(f"{key}-x", parent=base[name])
        if font:
            style.fontName = font
        out[key] = style
    out["h2"].textColor = ACCENT
    out["cell"] = ParagraphStyle("cell", parent=out["p"], fontSize=8.5, leading=10.5)
    return out


def _table(rows: list[list[str]], styles: dict[str, ParagraphStyle], width: float) -> Table:
    cells = [[Paragraph(c, styles["cell"]) for c in row] for row in rows]
    t = Table(cells, repeatRows=1, colWidths=[width / max(1, len(rows[0]))] * len(rows[0]))
    t.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde7f0")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return t


def render_pdf(markup: str, title: str, charts: Mapping[str, Drawing] | None = None) -> bytes:
    charts = charts or {}
    cjk = any(ord(ch) > 0x2FFF for ch in markup)
    if cjk and _CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))
    styles = _styles(cjk)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=title,
        author="offboarding",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        invariant=True,
    )
    story: list[Any] = []
    para: list[str] = []
    bullets: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if para:
            story.append(Paragraph(" ".join(para), styles["p"]))
            para.clear()
        if bullets:
            items = [ListItem(Paragraph(b, styles["p"]), leftIndent=10) for b in bullets]
            story.append(ListFlowable(items, bulletType="bullet", start="•", leftIndent=10))
            bullets.clear()
        if table:
            story.append(_table(table, styles, doc.width))
            story.append(Spacer(1, 6))
            table.clear()

    for raw in markup.splitlines():
        line = raw.strip()
        kind = "table" if line.startswith("|") else "bullet" if line.startswith("- ") else "text"
        if (kind != "table" and table) or (kind != "bullet" and bullets):
            flush()
        if not line:
            flush()
        elif line.startswith("## "):
            flush()
            story.append(Paragraph(line[3:], styles["h2"]))
        elif line.startswith("# "):
            flush()
            story.append(Paragraph(line[2:], styles["title"]))
        elif line == "---":
            flush()
            story.append(PageBreak())
        elif line.startswith("[[chart:") and line.endswith("]]"):
            flush()
            name = line[len("[[chart:") : -2]
            if name in charts:
                story.append(charts[name])
                story.append(Spacer(1, 6))
        elif kind == "table":
            para and flush()
            table.append([c.strip() for c in line.strip("|").split("|")])
        elif kind == "bullet":
            para and flush()
            bullets.append(line[2:])
        else:
            para.append(line)
    flush()
    doc.build(story)
    return buf.getvalue()


def _empty(width: float, height: float, text: str) -> Drawing:
    d = Drawing(width, height)
    d.add(String(10, height / 2, text, fontSize=9, fillColor=colors.grey))
    return d


def bar_chart(
    labels: list[str], values: list[float], title: str, width: float = 480, height: float = 170
) -> Drawing:
    """Vertical bars, e.g. rows per month."""
    if not values:
        return _empty(width, height, f"{title}: no data")
    d = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 30, width - 50, height - 50
    chart.data = [values]
    chart.bars[0].fillColor = ACCENT
    chart.valueAxis.valueMin = 0
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.angle = 45 if len(labels) > 8 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 8 else "n"
    chart.categoryAxis.labels.fontSize = 6.5
    chart.valueAxis.labels.fontSize = 7
    d.add(chart)
    d.add(String(40, height - 12, title, fontSize=9, fillColor=ACCENT))
    return d


def hbar_chart(
    labels: list[str], values: list[float], title: str, width: float = 480, height: float = 190
) -> Drawing:
    """Horizontal bars, e.g. the ten most frequent events."""
    if not values:
        return _empty(width, height, f"{title}: no data")
    d = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 120, 10, width - 140, height - 35
    chart.data = [list(reversed(values))]
    chart.bars[0].fillColor = ACCENT
    chart.valueAxis.valueMin = 0
    chart.categoryAxis.categoryNames = list(reversed(labels))
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    d.add(chart)
    d.add(String(120, height - 12, title, fontSize=9, fillColor=ACCENT))
    return d
