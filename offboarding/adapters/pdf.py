"""PDF documents from markup: a template (rendered by the caller, e.g. `export.wording`) writes
a small line-based markup, reportlab lays it out here.

Markup, one construct per line (blank lines end paragraphs):
    # Title            ## Heading         - bullet
    | a | b |          table row (the first row of a block is the header)
    [[chart:name|Title]]  a chart passed in by the caller, titled in the document's language
    ---                page break
Everything else is paragraph text; reportlab's inline tags (<b>, <i>, <font>) work. Values are
XML-escaped by the template environment, so data cannot inject markup.

Fonts are embedded subsets (`pdf_fonts`): Latin runs in the Latin font, CJK runs in the CJK
font, and a paragraph holding CJK text wraps between characters as Japanese does. Output is
byte-for-byte reproducible (`invariant=True`: no creation time, fixed document id; subset
names are stable), so a rerun of an export writes the same report with the same SHA-256.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Mapping
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, Group, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
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

from offboarding.adapters.pdf_fonts import (
    CJK,
    LATIN,
    LATIN_BOLD,
    font_for,
    has_cjk,
    mark_scripts,
    register_fonts,
    script_runs,
)

__all__ = ["Chart", "bar_chart", "hbar_chart", "mixed_string", "paragraph", "render_pdf", "styles"]

ACCENT = colors.HexColor("#1f4e79")
#: A chart as the caller passes it: ready, or made from the title the document gives it.
Chart = Drawing | Callable[[str], Drawing]
_CHART = re.compile(r"^\[\[chart:([\w-]+)(?:\|(.*))?\]\]$")
_TAG = re.compile(r"<[^>]*>")


def styles() -> dict[str, ParagraphStyle]:
    """Title, heading, body and table-cell styles in the embedded Latin font."""
    register_fonts()
    base = getSampleStyleSheet()
    out = {}
    for key, name, font in (
        ("title", "Title", LATIN_BOLD),
        ("h2", "Heading2", LATIN_BOLD),
        ("p", "BodyText", LATIN),
    ):
        out[key] = ParagraphStyle(f"{key}-x", parent=base[name], fontName=font)
    out["h2"].textColor = ACCENT
    out["cell"] = ParagraphStyle("cell", parent=out["p"], fontSize=8.5, leading=10.5)
    return out


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph set run by run; one with CJK text breaks lines between characters (there
    are no spaces to break at) and keeps a Latin word whole where it can."""
    if has_cjk(text):
        style = ParagraphStyle(f"{style.name}-cjk", parent=style, wordWrap="CJK")
    return Paragraph(mark_scripts(text), style)


def _table(rows: list[list[str]], st: dict[str, ParagraphStyle], width: float) -> Table:
    cols = max(len(r) for r in rows)
    cells = [[paragraph(c, st["cell"]) for c in row] + [""] * (cols - len(row)) for row in rows]
    t = Table(cells, repeatRows=1, colWidths=[width / max(1, cols)] * cols)
    t.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde7f0")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), LATIN),  # reportlab's default is Helvetica
            ]
        )
    )
    return t


def _plain(markup: str) -> str:
    """Markup as text: no tags, entities decoded (document metadata, chart titles)."""
    return html.unescape(_TAG.sub("", markup)).strip()


def render_pdf(
    markup: str,
    title: str | None = None,
    charts: Mapping[str, Chart] | None = None,
    lang: str | None = None,
) -> bytes:
    """The document; `title` defaults to the markup's `# ` line, `lang` (BCP 47) tells
    readers and screen readers the document's language."""
    charts = charts or {}
    register_fonts()
    st = styles()
    heading = next((ln.strip()[2:] for ln in markup.splitlines() if ln.startswith("# ")), "")
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=title or _plain(heading),
        author="offboarding",
        lang=lang,
        initialFontName=LATIN,  # no unembedded Helvetica in the page resources
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
            story.append(paragraph(" ".join(para), st["p"]))
            para.clear()
        if bullets:
            items = [ListItem(paragraph(b, st["p"]), leftIndent=10) for b in bullets]
            story.append(
                ListFlowable(
                    items, bulletType="bullet", start="•", leftIndent=10, bulletFontName=LATIN
                )
            )
            bullets.clear()
        if table:
            story.append(_table(table, st, doc.width))
            story.append(Spacer(1, 6))
            table.clear()

    for raw in markup.splitlines():
        line = raw.strip()
        kind = "table" if line.startswith("|") else "bullet" if line.startswith("- ") else "text"
        if (kind != "table" and table) or (kind != "bullet" and bullets):
            flush()
        chart = _CHART.match(line)
        if not line:
            flush()
        elif line.startswith("## "):
            flush()
            story.append(paragraph(line[3:], st["h2"]))
        elif line.startswith("# "):
            flush()
            story.append(paragraph(line[2:], st["title"]))
        elif line == "---":
            flush()
            story.append(PageBreak())
        elif chart:
            flush()
            name, chart_title = chart.group(1), _plain(chart.group(2) or "")
            made = charts.get(name)
            if made is not None:
                story.append(made if isinstance(made, Drawing) else made(chart_title))
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


def mixed_string(x: float, y: float, text: str, size: float, color: Any = ACCENT) -> Group:
    """A one-line label set run by run (Latin font, CJK font), for drawings."""
    group = Group()
    for run, cjk in script_runs(text):
        font = CJK if cjk else LATIN
        group.add(String(x, y, run, fontName=font, fontSize=size, fillColor=color))
        x += stringWidth(run, font, size)
    return group


def _drawing(width: float, height: float) -> Drawing:
    """A drawing whose renderer starts in the embedded Latin font, not Helvetica."""
    d = Drawing(width, height)
    d.initialFontName = LATIN
    return d


def _empty(width: float, height: float, text: str) -> Drawing:
    d = _drawing(width, height)
    d.add(mixed_string(10, height / 2, f"{text}: –", 9, colors.grey))
    return d


def _axis_fonts(chart: Any, labels: list[str]) -> None:
    chart.categoryAxis.labels.fontName = font_for(labels)
    chart.valueAxis.labels.fontName = LATIN


def bar_chart(
    labels: list[str],
    values: list[float],
    title: str,
    width: float = 480,
    height: float = 170,
    number: Callable[[float], str] | None = None,
) -> Drawing:
    """Vertical bars, e.g. rows per month; `number` formats the value axis for the locale."""
    if not values:
        return _empty(width, height, title)
    d = _drawing(width, height)
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
    if number is not None:
        chart.valueAxis.labelTextFormat = number
    _axis_fonts(chart, labels)
    d.add(chart)
    d.add(mixed_string(40, height - 12, title, 9))
    return d


def hbar_chart(
    labels: list[str],
    values: list[float],
    title: str,
    width: float = 480,
    height: float = 190,
    number: Callable[[float], str] | None = None,
) -> Drawing:
    """Horizontal bars, e.g. the ten most frequent events."""
    if not values:
        return _empty(width, height, title)
    d = _drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 120, 10, width - 140, height - 35
    chart.data = [list(reversed(values))]
    chart.bars[0].fillColor = ACCENT
    chart.valueAxis.valueMin = 0
    chart.categoryAxis.categoryNames = list(reversed(labels))
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    if number is not None:
        chart.valueAxis.labelTextFormat = number
    _axis_fonts(chart, labels)
    d.add(chart)
    d.add(mixed_string(120, height - 12, title, 9))
    return d
