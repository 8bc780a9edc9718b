"""Is this message a cancellation? A keyword table in English, Japanese and Malay. Only a
clear request ("cancel my account", 解約, tutup akaun) opens a case; a message that merely
mentions cancelling, asks how to, or says not to, goes to triage for a person. Nothing is
dropped, so the table errs towards triage. Pure."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

CANCELLATION = "cancellation"
MAYBE = "maybe"
OTHER = "other"

_NOUNS_EN = r"(?:account|subscription|contract|plan|service|membership|workspace|licen[cs]es?)"
_VERBS_EN = r"(?:cancel|terminate|close|end|discontinue|stop|delete)"
_DET_EN = r"(?:my|our|the|this|your|its|all|their)"

#: A clear request to end the relationship.
STRONG: tuple[tuple[str, str], ...] = (
    ("en", rf"\b{_VERBS_EN}\s+(?:{_DET_EN}\s+)+(?:[\w'-]+\s+)?{_NOUNS_EN}\b"),
    ("en", rf"\bcancel+ation\s+of\s+(?:{_DET_EN}\s+)+(?:[\w'-]+\s+)?{_NOUNS_EN}\b"),
    ("en", r"\bcancel(?:l?ation)?\s+(?:request|notice)\b"),
    ("en", r"\b(?:request|notice)\s+(?:of|for|to)\s+(?:cancel(?:l?ation)?|terminat(?:e|ion))\b"),
    # "we want to cancel." with nothing after it that could be something else (a meeting)
    (
        "en",
        r"\b(?:we|i)\s+(?:would like|want|wish|need|have decided)\s+to\s+cancel\b"
        r"(?=\s*(?:[.,!;]|$|\s(?:now|please|today|immediately|effective)\b))",
    ),
    ("en", r"\bnot\s+(?:be\s+)?renew(?:ing)?\b"),
    ("ja", r"解約"),
    ("ja", r"退会"),
    (
        "ja",
        r"(?:契約|アカウント|サブスクリプション|サブスク|プラン|サービス)\S{0,4}"
        r"(?:キャンセル|終了|停止|削除|閉鎖)",
    ),
    ("ja", r"キャンセル\S{0,3}(?:したい|します|希望|お願い)"),
    (
        "ms",
        r"\b(?:batal(?:kan)?|tamatkan|hentikan|tutup|padam(?:kan)?)\s+"
        r"(?:\w+\s+){0,2}?(?:akaun|langganan|kontrak|perkhidmatan|pelan|keahlian)\b",
    ),
    ("ms", r"\bpembatalan\s+(?:akaun|langganan|kontrak|perkhidmatan)\b"),
    ("ms", r"\b(?:mahu|ingin|hendak|nak)\s+(?:mem)?batal(?:kan)?\b"),
)

#: Words that may be about cancelling something else (an order, a meeting, an invoice).
WEAK: tuple[tuple[str, str], ...] = (
    ("en", r"\bcancel(?:l?ed|l?ing|l?ation|s)?\b"),
    ("en", r"\bterminat(?:e|ion|ed)\b"),
    ("en", r"\bunsubscribe\b"),
    ("en", r"\bchurn\b"),
    ("ja", r"キャンセル"),
    ("ja", r"(?:契約|利用)\S{0,2}(?:終了|停止)"),
    ("ms", r"\b(?:batal|pembatalan|tamat)\b"),
)

#: Not a request: a question, a "don't", a withdrawal of an earlier request.
NEGATIVE: tuple[tuple[str, str], ...] = (
    ("en", r"\b(?:do\s*n[o']?t|don't|not|never|no longer)\s+(?:want\s+to\s+|wish\s+to\s+)?cancel"),
    ("en", r"\b(?:how|can|could)\s+(?:do\s+|can\s+)?(?:i|we|you)\s+cancel\b"),
    ("en", r"\b(?:withdraw|revoke|undo)\w*\s+(?:\w+\s+){0,2}?cancel"),
    ("en", r"\bchanged\s+(?:my|our)\s+minds?\b"),
    ("ja", r"(?:解約|退会|キャンセル)\S{0,3}(?:しない|しません|したくない|やめ|取り消|撤回)"),
    ("ja", r"(?:解約|退会|キャンセル)\S{0,4}(?:方法|手順|ますか|できますか)"),
    ("ms", r"\b(?:tidak|tak|jangan|bukan)\s+(?:mahu\s+|ingin\s+|nak\s+)?(?:mem)?batal"),
    ("ms", r"\bbagaimana(?:kah)?\s+(?:\w+\s+){0,3}?batal"),
)


@dataclass(frozen=True)
class Classification:
    verdict: str  # cancellation, maybe or other
    matched: tuple[str, ...]  # "lang:text" of what matched
    why: str

    @property
    def is_cancellation(self) -> bool:
        return self.verdict == CANCELLATION


def _find(table: tuple[tuple[str, str], ...], text: str) -> list[str]:
    out = []
    for lang, pattern in table:
        m = re.search(pattern, text, re.IGNORECASE)
        if m:
            out.append(f"{lang}:{m.group(0).strip()}")
    return out


def normalise(text: str) -> str:
    """Full-width letters and compatibility forms folded (ｷｬﾝｾﾙ is キャンセル), spaces collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()


def classify(subject: str, body: str, tags: tuple[str, ...] = (), tag_words=()) -> Classification:  # noqa: ANN001
    """The verdict on a message's subject and body (and a helpdesk's tags: a tag in
    `tag_words` is as clear as a strong phrase)."""
    text = normalise(f"{subject}\n{body}")
    tagged = sorted({t for t in tags if t.lower() in {w.lower() for w in tag_words}})
    negative = _find(NEGATIVE, text)
    strong = _find(STRONG, text) + [f"tag:{t}" for t in tagged]
    if negative:
        why = f"may not be a cancellation: {', '.join(negative)}"
        return Classification(MAYBE, tuple(negative + strong), why)
    if strong:
        return Classification(CANCELLATION, tuple(strong), f"asks to cancel: {strong[0]}")
    weak = _find(WEAK, text)
    if weak:
        why = f"may not be a cancellation (mentions {', '.join(weak)})"
        return Classification(MAYBE, tuple(weak), why)
    return Classification(OTHER, (), "not a cancellation: no cancellation words")
