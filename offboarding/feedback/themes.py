"""Free-text themes: the words of a reason or an answer, normalised so the same theme written
two ways counts once. Pure; the patterns and the dashboard's measures both read them."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

#: Churned cases: the account is gone (closed) or its data too (purged).
CHURNED = ("closed", "purged")

WORD = re.compile(r"[a-z0-9]+")
STOP_WORDS = frozenset(
    """a an and are as at be been but by can could did do for from had has have if in into is it
    its just more much not of on or our so than that the their them then there they this to too
    was we were what when which who will with would you your us any all very also get got
    about after before only out over some such no yes""".split()
)


def as_text(values: pd.Series) -> pd.Series:
    """Free text with missing values as "" (an all-missing column may arrive as floats)."""
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def normalise_text(text: Any) -> str:
    """Lower-case words in a stable order, so 'SAML SSO' and 'sso (saml)' are one theme."""
    if not isinstance(text, str):
        return ""
    return " ".join(sorted(set(WORD.findall(text.lower())) - STOP_WORDS))
