"""Reading a PDF the way a reader's viewer does: which fonts it carries (embedded or not), which
characters each font draws (its ToUnicode map) and whether the embedded font program really
has a glyph for each of them (fontTools on the embedded bytes), and the text it gives back."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

_HEX = re.compile(r"<([0-9A-Fa-f]+)>")


@dataclass
class PdfFont:
    """One font object of the document (one reportlab subset: at most 256 glyphs)."""

    base_font: str
    subtype: str
    program: bytes | None  # the embedded font file, None when the font is only named
    to_unicode: dict[int, str] = field(default_factory=dict)  # character code -> text

    @property
    def embedded(self) -> bool:
        return self.program is not None or self.subtype == "/Type3"

    @property
    def subset(self) -> bool:
        """Subset fonts carry a six-letter tag: AAAAAA+IPAexGothic."""
        return re.match(r"^/?[A-Z]{6}\+", self.base_font) is not None


def _utf16(hexstr: str) -> str:
    return bytes.fromhex(hexstr).decode("utf-16-be")


def parse_to_unicode(cmap: str) -> dict[int, str]:
    """The bfchar and bfrange entries of a ToUnicode CMap."""
    out: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for line in block.strip().splitlines():
            codes = _HEX.findall(line)
            if len(codes) == 2:
                out[int(codes[0], 16)] = _utf16(codes[1])
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for line in block.strip().splitlines():
            codes = _HEX.findall(line)
            if len(codes) == 3:
                lo, hi, start = int(codes[0], 16), int(codes[1], 16), int(codes[2], 16)
                for i, code in enumerate(range(lo, hi + 1)):
                    out[code] = chr(start + i)
    return out


def _font(obj: DictionaryObject) -> PdfFont:
    subtype = str(obj.get("/Subtype"))
    descriptor_owner = obj
    if subtype == "/Type0":
        descriptor_owner = obj["/DescendantFonts"][0].get_object()
    program = None
    descriptor = descriptor_owner.get("/FontDescriptor")
    if descriptor is not None:
        descriptor = descriptor.get_object()
        for key in ("/FontFile", "/FontFile2", "/FontFile3"):
            if key in descriptor:
                program = descriptor[key].get_object().get_data()
    to_unicode = {}
    if "/ToUnicode" in obj:
        to_unicode = parse_to_unicode(obj["/ToUnicode"].get_object().get_data().decode("latin-1"))
    return PdfFont(str(obj.get("/BaseFont")), subtype, program, to_unicode)


def _walk(resources: Any, seen: dict[int, PdfFont]) -> None:
    if resources is None:
        return
    resources = resources.get_object()
    for ref in (resources.get("/Font") or {}).values():
        key = ref.idnum if hasattr(ref, "idnum") else id(ref)
        if key not in seen:
            seen[key] = _font(ref.get_object())
    for ref in (resources.get("/XObject") or {}).values():  # forms may name fonts of their own
        xobj = ref.get_object()
        if xobj.get("/Subtype") == "/Form":
            _walk(xobj.get("/Resources"), seen)


def fonts(pdf: bytes) -> list[PdfFont]:
    """Every font object any page (or form on it) uses."""
    seen: dict[int, PdfFont] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        _walk(page.get("/Resources"), seen)
    return list(seen.values())


def drawn(pdf: bytes) -> dict[str, set[str]]:
    """The characters each font really draws (BaseFont -> characters), read from the pages'
    text operators: a subset's ToUnicode map also lists ASCII slots nothing uses."""
    out: dict[str, set[str]] = {}

    def visit(piece: str, _cm: Any, _tm: Any, font: Any, _size: Any) -> None:
        chars = {ch for ch in piece if not ch.isspace()}
        if chars:
            key = str(font.get("/BaseFont")) if font is not None else "(no font)"
            out.setdefault(key, set()).update(chars)

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return out


def missing_glyphs(font: PdfFont, chars: set[str]) -> list[str]:
    """Characters of `chars` the font draws with no real glyph in its embedded program: no
    code for them, a code its cmap leaves out or maps to .notdef, or an empty outline."""
    if font.program is None:
        return sorted(chars)
    codes = {t: code for code, t in font.to_unicode.items()}
    tt = TTFont(io.BytesIO(font.program))
    cmap: dict[int, str] = {}
    for table in tt["cmap"].tables:
        cmap.update(table.cmap)
    glyf = tt.get("glyf")
    missing = []
    for ch in sorted(chars):
        if unicodedata.category(ch) == "Cc":
            continue
        name = cmap.get(codes[ch]) if ch in codes else None
        empty = name is not None and glyf is not None and glyf[name].numberOfContours == 0
        if name in (None, ".notdef") or (empty and not ch.isspace()):
            missing.append(ch)
    return missing


def text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def squeeze(s: str) -> str:
    """No whitespace: line breaks and run boundaries fall anywhere in extracted text."""
    return re.sub(r"\s+", "", s)
