"""Fonts that travel with the document: every PDF we write embeds subsets of TrueType fonts,
so a reader without Japanese fonts still sees the text, and the file looks the same anywhere.

- Latin: Bitstream Vera Sans (regular, bold, italic, bold italic), shipped inside reportlab
  (`reportlab/fonts/Vera*.ttf`, licence `bitstream-vera-license.txt` beside them).
- CJK: IPAexGothic 003.01, committed in `fonts/` with the IPA Font License v1.0, which allows
  embedding in documents (its fsType is 0: installable embedding).

Text is set run by run: a character the Latin font has stays in it, any other goes to the CJK
font. One Japanese character therefore no longer switches a whole paragraph (or document) to
the CJK font's Latin metrics ("SAKURA-J P"). reportlab's TTFont embeds only the glyphs used,
with a ToUnicode map (text can be extracted) and stable subset names (AAAAAA+...), so the same
document still gives the same bytes.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

__all__ = [
    "CJK",
    "FONT_FILES",
    "LATIN",
    "LATIN_BOLD",
    "font_for",
    "has_cjk",
    "mark_scripts",
    "register_fonts",
    "script_runs",
]

FONT_DIR = Path(__file__).resolve().parent / "fonts"
_REPORTLAB_FONTS = Path(reportlab.__file__).resolve().parent / "fonts"

LATIN = "DocLatin"
LATIN_BOLD = "DocLatin-Bold"
LATIN_ITALIC = "DocLatin-Italic"
LATIN_BOLD_ITALIC = "DocLatin-BoldItalic"
CJK = "DocCJK"

#: Registered name -> font file. IPAexGothic has one weight: bold CJK is set in it too.
FONT_FILES: dict[str, Path] = {
    LATIN: _REPORTLAB_FONTS / "Vera.ttf",
    LATIN_BOLD: _REPORTLAB_FONTS / "VeraBd.ttf",
    LATIN_ITALIC: _REPORTLAB_FONTS / "VeraIt.ttf",
    LATIN_BOLD_ITALIC: _REPORTLAB_FONTS / "VeraBI.ttf",
    CJK: FONT_DIR / "ipaexg.ttf",
}

_LOCK = threading.Lock()
#: Inline markup and character entities: never split, never wrapped (entities are ASCII).
_MARKUP = re.compile(r"(<[^>]*>|&#?\w+;)")


@dataclass(frozen=True)
class Coverage:
    """Which code points each font has a glyph for (from the fonts' own cmaps)."""

    latin: frozenset[int]
    cjk: frozenset[int]


@lru_cache(maxsize=1)
def register_fonts() -> Coverage:
    """Register the fonts with reportlab once per process (thread-safe) and return their cmaps.

    The CJK font is 6 MB: parsing it costs a moment once, then every document reuses it.
    """
    with _LOCK:
        registered = set(pdfmetrics.getRegisteredFontNames())
        faces = {}
        for name, path in FONT_FILES.items():
            font = pdfmetrics.getFont(name) if name in registered else TTFont(name, str(path))
            if name not in registered:
                pdfmetrics.registerFont(font)
            faces[name] = font
        pdfmetrics.registerFontFamily(
            LATIN, normal=LATIN, bold=LATIN_BOLD, italic=LATIN_ITALIC, boldItalic=LATIN_BOLD_ITALIC
        )
        pdfmetrics.registerFontFamily(CJK, normal=CJK, bold=CJK, italic=CJK, boldItalic=CJK)
        return Coverage(
            latin=frozenset(faces[LATIN].face.charToGlyph),
            cjk=frozenset(faces[CJK].face.charToGlyph),
        )


def _needs_cjk(ch: str, cov: Coverage) -> bool:
    code = ord(ch)
    return code not in cov.latin and code in cov.cjk


def has_cjk(text: str) -> bool:
    """Whether any character of `text` is set in the CJK font (then lines wrap CJK-style)."""
    cov = register_fonts()
    return any(_needs_cjk(ch, cov) for ch in text)


def font_for(texts: list[str] | str) -> str:
    """One font for strings that cannot mix fonts (chart labels): CJK if any character needs
    it (its Latin glyphs are acceptable there), else Latin."""
    items = [texts] if isinstance(texts, str) else texts
    return CJK if any(has_cjk(t) for t in items) else LATIN


def script_runs(text: str) -> list[tuple[str, bool]]:
    """Plain text as (run, is_cjk) pairs, in order: each run is set in one font."""
    cov = register_fonts()
    runs: list[tuple[str, bool]] = []
    for ch in text:
        cjk = _needs_cjk(ch, cov)
        if runs and runs[-1][1] == cjk:
            runs[-1] = (runs[-1][0] + ch, cjk)
        else:
            runs.append((ch, cjk))
    return runs


def mark_scripts(markup: str) -> str:
    """Paragraph markup with every run of CJK-font characters wrapped in `<font name=...>`.

    Tags and entities are kept as they are; runs are split only inside text between tags,
    so the result nests correctly (`<b>山田</b>` -> `<b><font name="DocCJK">山田</font></b>`).
    """
    out: list[str] = []
    for piece in _MARKUP.split(markup):
        if not piece or _MARKUP.fullmatch(piece):
            out.append(piece)
            continue
        for run, cjk in script_runs(piece):
            out.append(f'<font name="{CJK}">{run}</font>' if cjk else run)
    return "".join(out)
