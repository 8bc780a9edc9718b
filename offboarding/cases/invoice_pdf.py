"""PDF documents rendered in memory with reportlab (fast here; see PERFORMANCE_NOTES).

The invoice uses the same embedded fonts as the export report (`adapters.pdf_fonts`): an
account name in Japanese prints as such on any reader, and the file is reproducible."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from offboarding.adapters.pdf import paragraph, styles
from offboarding.adapters.pdf_fonts import LATIN
from offboarding.cases.billing import FinalInvoice


def invoice_pdf(invoice: FinalInvoice, account_name: str) -> bytes:
    buf = io.BytesIO()
    st = styles()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=f"Final invoice {account_name}",
        initialFontName=LATIN,
        invariant=True,
    )
    rows = [["Description", f"Amount ({invoice.currency})"]]
    rows += [[line.description, str(line.amount)] for line in invoice.lines]
    rows += [
        ["Total", str(invoice.total)],
        ["Amount due", str(invoice.amount_due)],
        ["Refund due", str(invoice.refund_due)],
    ]
    table = Table([[paragraph(escape(c), st["cell"]) for c in row] for row in rows])
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), LATIN)])
    )
    story = [
        paragraph(f"Final invoice — {escape(account_name)}", st["title"]),
        paragraph(
            f"Account {escape(invoice.account_id)}. Issued {invoice.issued_on}. "
            f"Closure {invoice.closure_on}. Nothing is billed after closure.",
            st["p"],
        ),
        Spacer(1, 12),
        table,
    ]
    doc.build(story)
    return buf.getvalue()
