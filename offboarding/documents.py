"""PDF documents rendered in memory with reportlab (fast here; see PERFORMANCE_NOTES)."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from offboarding.billing import FinalInvoice


def invoice_pdf(invoice: FinalInvoice, account_name: str) -> bytes:
    buf = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=f"Final invoice {account_name}")
    rows = [["Description", f"Amount ({invoice.currency})"]]
    rows += [[line.description, str(line.amount)] for line in invoice.lines]
    rows += [
        ["Total", str(invoice.total)],
        ["Amount due", str(invoice.amount_due)],
        ["Refund due", str(invoice.refund_due)],
    ]
    story = [
        Paragraph(f"Final invoice — {account_name}", styles["Title"]),
        Paragraph(
            f"Account {invoice.account_id}. Issued {invoice.issued_on}. "
            f"Closure {invoice.closure_on}. Nothing is billed after closure.",
            styles["Normal"],
        ),
        Spacer(1, 12),
        Table(rows),
    ]
    doc.build(story)
    return buf.getvalue()
