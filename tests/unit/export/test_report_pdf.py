"""The export report, the deletion certificate and the final invoice as PDF files (issue 16):
in each locale every font is embedded (a subset), the text extracts back in the customer's
language, every character is drawn by an embedded font that has a glyph for it, Latin text is
set in the Latin font and Japanese in the CJK font, and the same input writes the same bytes,
in this process and in a fresh one. Page 1 of the Japanese report is rendered to a PNG
(pypdfium2, no poppler needed), left in benchmarks/out/ for people to look at."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from offboarding.cases.billing import FinalInvoice, InvoiceLine
from offboarding.cases.invoice_pdf import invoice_pdf
from offboarding.export.deletion_certificate import certificate_markup, certificate_pdf
from offboarding.export.report import export_report_markup, export_report_pdf
from tests.unit.export.pdf_checks import PdfFont, drawn, fonts, missing_glyphs, squeeze, text
from tests.unit.export.report_fixtures import (
    BY_LOCALE,
    LOCALES,
    certificate,
    document_text,
    profile,
    report_args,
)

REPO = Path(__file__).resolve().parents[3]
PICTURE = REPO / "benchmarks" / "out" / "export-report-ja-page1.png"

#: Strings each locale's documents must give back when their text is extracted.
SAYS = {
    "en": {
        "report": ["Your data export — Acme Bakeries", "To reach a person", "March 2, 2026"],
        "certificate": ["Deletion certificate", "June 14, 2027", "To reach a person"],
    },
    "ja": {
        "report": [
            "Sakura Design KK様 データエクスポートのご案内",
            "カスタマーサクセス担当",  # the owner's title, the empty boxes of the issue
            "担当者に直接ご連絡いただけます",
            "2026年3月2日",
            "月別の利用イベント数",  # a chart title
        ],
        "certificate": ["データ削除証明書", "2026年6月14日 11:00", "2027年6月14日まで"],
    },
    "ms": {
        "report": [
            "Eksport data anda — Kampung Digital Sdn Bhd",
            "Untuk berhubung terus dengan seseorang",
            "Pengurus Kejayaan Pelanggan",
            "2 Mac 2026",
            "Peristiwa setiap bulan",
        ],
        "certificate": ["Sijil pemadaman data", "14 Jun 2027", "dipadam secara kekal"],
    },
}
_CJK_CHAR = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")


def _report(locale: str) -> tuple[bytes, str]:
    args = report_args(profile(BY_LOCALE[locale]))
    return export_report_pdf(**args), export_report_markup(**args).markup


def _certificate(locale: str) -> tuple[bytes, str]:
    account = profile(BY_LOCALE[locale])
    cert = certificate(account)
    return certificate_pdf(cert, locale, account), certificate_markup(cert, locale, account).markup


DOCS = {"report": _report, "certificate": _certificate}


def _fmt(fs: list[PdfFont]) -> str:
    return ", ".join(f"{f.base_font} {f.subtype} emb={'yes' if f.embedded else 'no'}" for f in fs)


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_font_is_an_embedded_subset(locale: str, doc: str) -> None:
    found = fonts(DOCS[doc](locale)[0])
    assert found, "no fonts at all"
    assert [f for f in found if not (f.embedded and f.subset)] == [], _fmt(found)
    families = {f.base_font.split("+", 1)[1] for f in found}
    assert "BitstreamVeraSans-Roman" in families
    if locale == "ja":
        assert "IPAexGothic" in families


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("locale", LOCALES)
def test_the_text_extracts_in_the_customers_language(locale: str, doc: str) -> None:
    extracted = squeeze(text(DOCS[doc](locale)[0]))
    missing = [s for s in SAYS[locale][doc] if squeeze(s) not in extracted]
    assert missing == [], extracted[:1500]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_character_is_drawn_by_an_embedded_font_with_its_glyph(locale: str, doc: str) -> None:
    pdf, markup = DOCS[doc](locale)
    by_font = {f.base_font: f for f in fonts(pdf)}
    used = drawn(pdf)
    assert set(used) <= set(by_font), "text drawn in a font the pages do not carry"
    # each character a font draws has a real glyph in that font's embedded program
    holes = {name: missing_glyphs(by_font[name], chars) for name, chars in used.items()}
    assert {k: v for k, v in holes.items() if v} == {}
    # and every character of the document is drawn by one of them
    wanted = set(squeeze(document_text(markup)))
    assert sorted(wanted - set().union(*used.values())) == []


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("locale", LOCALES)
def test_latin_in_the_latin_font_and_cjk_in_the_cjk_font(locale: str, doc: str) -> None:
    """Run by run: 'SAKURA-JP' and 'JSON' keep Latin metrics inside a Japanese document."""
    for name, chars in drawn(DOCS[doc](locale)[0]).items():
        used = "".join(sorted(chars))
        if "IPAexGothic" in name:
            assert not re.search(r"[A-Za-z0-9]", used), (name, used)
        else:
            assert not _CJK_CHAR.search(used), (name, used)
    if locale == "ja":
        assert any("IPAexGothic" in name for name in drawn(DOCS[doc](locale)[0]))


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("locale", LOCALES)
def test_the_same_document_writes_the_same_bytes(locale: str, doc: str) -> None:
    first, _ = DOCS[doc](locale)
    again, _ = DOCS[doc](locale)
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(again).hexdigest()
    assert first == again


def test_a_fresh_process_writes_the_same_bytes() -> None:
    """Font registration order and process state do not leak into the bytes: a new Python
    (fonts registered from scratch, the certificate first) gives the same SHA-256."""
    code = (
        "import hashlib, json\n"
        "from tests.unit.export.test_report_pdf import DOCS\n"
        "out = {}\n"
        "for doc in ('certificate', 'report'):\n"
        "    for loc in ('ja', 'ms', 'en'):\n"
        "        out[f'{doc}.{loc}'] = hashlib.sha256(DOCS[doc](loc)[0]).hexdigest()\n"
        "print(json.dumps(out))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    there = json.loads(run.stdout.strip().splitlines()[-1])
    here = {
        f"{doc}.{loc}": hashlib.sha256(DOCS[doc](loc)[0]).hexdigest()
        for doc in DOCS
        for loc in LOCALES
    }
    assert there == here


def test_the_final_invoice_embeds_its_fonts_and_prints_a_japanese_name() -> None:
    invoice = FinalInvoice(
        account_id="SAKURA-JP",
        currency="JPY",
        issued_on=date(2026, 3, 16),
        closure_on=date(2026, 3, 16),
        lines=(InvoiceLine("Subscription to closure & notice", Decimal("4000")),),
    )
    pdf = invoice_pdf(invoice, "さくらデザイン株式会社")
    assert pdf == invoice_pdf(invoice, "さくらデザイン株式会社")
    found = fonts(pdf)
    assert [f for f in found if not f.embedded] == [], _fmt(found)
    by_font = {f.base_font: f for f in found}
    holes = {name: missing_glyphs(by_font[name], chars) for name, chars in drawn(pdf).items()}
    assert {k: v for k, v in holes.items() if v} == {}
    assert squeeze("さくらデザイン株式会社") in squeeze(text(pdf))
    assert "Subscription to closure & notice" in text(pdf)


def test_page_one_of_the_japanese_report_as_a_picture() -> None:
    """The picture a person sees: ink where the title and the text are, the accent blue of
    headings and bars, many shades (anti-aliased glyphs). Left in benchmarks/out/."""
    import numpy as np
    import pypdfium2 as pdfium

    pdf, _ = _report("ja")
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=2).to_pil().convert("RGB")
    finally:
        document.close()
    PICTURE.parent.mkdir(parents=True, exist_ok=True)
    image.save(PICTURE)
    print(f"page 1 of the Japanese report: {PICTURE}")
    pixels = np.asarray(image)
    height, width, _ = pixels.shape
    assert (width, height) == (1191, 1684)  # A4 (595.3 x 841.9 pt) at 144 dpi
    ink = pixels.min(axis=-1) < 128
    assert ink.mean() > 0.02, "the page is (nearly) blank"
    title_band = ink[: height // 8]
    assert title_band[:, width // 4 : 3 * width // 4].mean() > 0.01, "no title at the top"
    accent = np.all(np.abs(pixels.astype(int) - (0x1F, 0x4E, 0x79)) < 12, axis=-1)
    assert accent.sum() > 5_000, "no headings or chart bars in the accent colour"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
