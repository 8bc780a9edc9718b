"""Churn patterns (§8, §10): the same product gap or service issue cited by at least N
customers within 90 days, and what closing the loop sends to win-back.

Citations come from the record: a case's reason (its product gap; the detail of an
`experience` reason is its service issue) and exit-survey answers tagged with a product gap
or service issue. Wording is normalised (`themes.normalise_text`) so "SAML SSO" and
"sso (saml)" are one pattern. Pure: recording, notices and `mark_fixed` are in
`feedback.store`.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from offboarding.feedback.themes import as_text, normalise_text

__all__ = [
    "Citation",
    "FoundPattern",
    "PATTERN_RECIPIENTS",
    "PATTERN_SENDER",
    "PATTERN_THRESHOLD",
    "PATTERN_WINDOW_DAYS",
    "citation_record",
    "citations_from_frames",
    "feature_shipped_codes",
    "feature_shipped_signal_id",
    "find_patterns",
    "pattern_id_for",
    "pattern_notice",
]

PATTERN_THRESHOLD = 3
PATTERN_WINDOW_DAYS = 90
#: §8 "goes to product, support and CS leadership"; the policy's team list is added to these.
PATTERN_RECIPIENTS = (
    "product@example.com",
    "support-lead@example.com",
    "cs-leadership@example.com",
)
PATTERN_SENDER = "offboarding@example.com"
#: Cases whose reasons count: departures, not saves and not misrouted tickets.
_NOT_DEPARTURES = ("saved", "not_a_cancellation", "unconfirmed", "refused_by_account")


@dataclass(frozen=True)
class Citation:
    """One customer naming a gap or issue once: the unit a pattern counts."""

    kind: str  # product_gap | service_issue
    key: str
    label: str
    account_id: str
    case_id: str
    cited_at: datetime
    source: str  # reason | feedback


@dataclass
class FoundPattern:
    """A gap or issue that reached the threshold, with every citation from its window on."""

    kind: str
    key: str
    label: str
    window_start: datetime
    window_end: datetime
    citations: list[Citation] = field(default_factory=list)

    @property
    def accounts(self) -> list[str]:
        return sorted({c.account_id for c in self.citations})


def citations_from_frames(cases: pd.DataFrame, feedback: pd.DataFrame) -> list[Citation]:
    """Citations from the dashboard's case and feedback tables (see dashboard.measures)."""
    out: list[Citation] = []
    dep = cases[~cases["status"].isin(_NOT_DEPARTURES) & cases["reason_category"].notna()]
    gap = dep[as_text(dep["product_gap"]) != ""]
    exp = dep[(dep["reason_category"] == "experience") & (as_text(dep["reason_detail"]) != "")]
    for kind, frame, col in (
        ("product_gap", gap, "product_gap"),
        ("service_issue", exp, "reason_detail"),
    ):
        for r in frame[["case_id", "account_id", "requested_at", col]].itertuples(index=False):
            out.append(_citation(kind, r[3], r[1], r[0], r[2], "reason"))
    fb = feedback[feedback["status"] == "answered"]
    if len(fb):
        acc = dict(zip(cases["case_id"], cases["account_id"], strict=True))
        for kind in ("product_gap", "service_issue"):
            tagged = fb[as_text(fb[kind]) != ""]
            for r in tagged[["case_id", "responded_at", kind]].itertuples(index=False):
                if r[0] in acc:
                    out.append(_citation(kind, r[2], acc[r[0]], r[0], r[1], "feedback"))
    return [c for c in out if c.key]


def _citation(kind: str, label: Any, account: str, case: str, at: Any, source: str) -> Citation:
    ts = pd.Timestamp(at)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    text = " ".join(str(label).split())
    return Citation(kind, normalise_text(text), text, account, case, ts.to_pydatetime(), source)


def find_patterns(
    citations: list[Citation],
    threshold: int = PATTERN_THRESHOLD,
    window_days: int = PATTERN_WINDOW_DAYS,
    as_of: datetime | None = None,
    after: dict[tuple[str, str], datetime] | None = None,
) -> list[FoundPattern]:
    """Gaps and issues cited by >= `threshold` distinct accounts within `window_days`.

    The window is the first one (sliding over citation dates) that reaches the threshold; the
    pattern lists every citation from its start on. `after` ignores citations of a
    (kind, key) up to a date: those before a fix belong to the fixed pattern.
    """
    if threshold < 1 or window_days < 1:
        raise ValueError("threshold and window_days must be at least 1")
    window = timedelta(days=window_days)
    groups: dict[tuple[str, str], list[Citation]] = defaultdict(list)
    for c in citations:
        if as_of is not None and c.cited_at > as_of:
            continue
        if after and (cut := after.get((c.kind, c.key))) is not None and c.cited_at <= cut:
            continue
        groups[(c.kind, c.key)].append(c)
    found = []
    for (kind, key), cs in sorted(groups.items()):
        cs.sort(key=lambda c: (c.cited_at, c.case_id))
        per_account: Counter[str] = Counter()
        lo = 0
        for c in cs:
            per_account[c.account_id] += 1
            while cs[lo].cited_at < c.cited_at - window:
                per_account[cs[lo].account_id] -= 1
                if per_account[cs[lo].account_id] == 0:
                    del per_account[cs[lo].account_id]
                lo += 1
            if len(per_account) >= threshold:
                label = _label(cs)
                found.append(FoundPattern(kind, key, label, cs[lo].cited_at, c.cited_at, cs[lo:]))
                break
    return found


def _label(cs: list[Citation]) -> str:
    """The most common wording; on a tie the most recent one (cs is sorted by date)."""
    counts = Counter(c.label for c in cs)
    last = {c.label: i for i, c in enumerate(cs)}
    return max(counts, key=lambda w: (counts[w], last[w]))


def pattern_id_for(kind: str, key: str, generation: int) -> str:
    """Derived from what the pattern is, so two refreshes racing record the same id once."""
    digest = hashlib.sha1(f"{kind}|{key}|{generation}".encode()).hexdigest()[:8].upper()
    return f"PAT-{digest}"


def citation_record(c: Citation) -> dict[str, Any]:
    """A citation as the pattern row keeps it (JSON)."""
    return {
        "account_id": c.account_id,
        "case_id": c.case_id,
        "cited_at": c.cited_at.isoformat(),
        "label": c.label,
        "source": c.source,
    }


def pattern_notice(view: dict[str, Any]) -> tuple[str, str]:
    """(subject, plain text) of the internal notice to product, support and CS leadership."""
    what = view["kind"].replace("_", " ")
    lines = [
        f'A churn pattern: the {what} "{view["label"]}" was cited by {view["customers"]} '
        f"customers between {view['window_start'][:10]} and {view['window_end'][:10]}.",
        "",
        "Accounts that cited it:",
        *(f"- {a}" for a in view["accounts"]),
        "",
        "Cases: " + ", ".join(view["cases"]),
        "",
        "When it is fixed, close the loop with:",
        f"  offboard patterns --mark-fixed {view['pattern_id']} --by YOU --note 'what shipped'",
        "Each churned account above then gets a 'feature shipped' win-back signal.",
    ]
    subject = (
        f'Churn pattern {view["pattern_id"]}: {what} "{view["label"]}" '
        f"({view['customers']} customers)"
    )
    return subject, "\n".join(lines) + "\n"


# -- closing the loop: what a fix sends to win-back ------------------------------------------


def _code(text: str) -> str:
    """The win-back rules compare codes as lower-case words separated by single spaces."""
    return " ".join(str(text).strip().lower().split())


def feature_shipped_codes(
    pattern_label: str, cited_label: str, reason: dict[str, Any]
) -> list[str]:
    """The codes a `feature_shipped` signal carries, so the win-back rules match it to the
    account's churn reason however it was worded: the pattern's wording, the customer's, and
    the case's product gap and reason category."""
    codes = [
        _code(pattern_label),
        _code(cited_label),
        _code(reason.get("product_gap") or ""),
        _code(reason.get("category") or ""),
    ]
    return [c for c in dict.fromkeys(codes) if c]


def feature_shipped_signal_id(account_id: str, pattern_id: str) -> str:
    """One signal per (account, pattern): marking a pattern fixed again adds none twice.
    Migration 0007 derives the same id for the signals it folds in."""
    digest = hashlib.sha1(f"feature_shipped|{account_id}|{pattern_id}".encode()).hexdigest()
    return f"S-{digest[:16]}"
