"""The retention karte (seed 003, §14): one sheet per account for whoever takes the call —
tenure, plan, the usage trend, open at-risk episodes, recent tickets, earlier save attempts,
the reasons similar churned accounts gave, and the pattern it matches (segment × tenure ×
reason × usage trend, from the policy's `karte.patterns`) with its talk track and offer.

Seasonal subscribers are marked "don't hold back: invite them again when their season
returns" (their pattern has `hold_back: false`; the save protocol attempts no save). Pure:
facts in, the karte out (its rows serve the CLI, the decision brief, the forms and pages).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from offboarding.domain import Account
from offboarding.policy import KartePattern, Policy

__all__ = [
    "KARTE_DECISIONS",
    "Karte",
    "KarteFacts",
    "build_karte",
    "karte_markdown",
    "match_pattern",
    "sparkline",
    "usage_trend",
]

#: Decisions whose decider takes the customer's call: their brief carries the karte. Never a
#: confirmation by the account's own contacts: the karte is internal.
KARTE_DECISIONS = ("verification", "save")

BARS = "▁▂▃▄▅▆▇█"
SEASONAL_NOTE = "Seasonal subscriber: don't hold back — invite them again when their season returns"


@dataclass(frozen=True)
class KarteFacts:
    """What the karte is made of, gathered by `early_warning.store.karte`."""

    account: Account
    as_of: date
    weekly_usage: tuple[int, ...] = ()  # oldest week first; empty: no usage data
    open_episodes: tuple[dict, ...] = ()  # episode views, most pressing first
    recent_tickets: tuple[dict, ...] = ()
    save_attempts: tuple[dict, ...] = ()
    similar_reasons: tuple[tuple[str, int], ...] = ()  # (reason, churned accounts), most first
    case_reason: str | None = None  # the reason of the account's cancellation, if it asked
    health: int | None = None
    renewal_on: date | None = None


@dataclass(frozen=True)
class Karte:
    account_id: str
    name: str
    segment: str
    plan: str
    tenure_years: float
    tenure: str
    usage_trend: str
    sparkline: str
    weekly_usage: tuple[int, ...]
    reason: str | None
    pattern: KartePattern
    seasonal: bool
    note: str
    health: int | None
    renewal_on: date | None
    open_episodes: tuple[dict, ...] = ()
    recent_tickets: tuple[dict, ...] = ()
    save_attempts: tuple[dict, ...] = ()
    similar_reasons: tuple[tuple[str, int], ...] = ()
    extra: dict = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str]]:
        """Label/value rows, in the order a person reads them on a call."""
        usage = f"{self.sparkline}  {self.usage_trend}" if self.weekly_usage else "no usage data"
        rows = [
            ("Karte", f"{self.name} ({self.account_id})"),
            ("Tenure and plan", f"{self.tenure_years:.1f} years ({self.tenure}); {self.plan}"),
            (f"Usage, last {len(self.weekly_usage)} weeks", usage),
            ("Health", "unknown" if self.health is None else str(self.health)),
            ("Renewal", self.renewal_on.isoformat() if self.renewal_on else "unknown"),
            ("Pattern", f"{self.pattern.name} (segment {self.segment}, tenure {self.tenure}, "
                        f"reason {self.reason or 'none yet'}, usage {self.usage_trend})"),
            ("Talk track", self.pattern.talk_track),
            ("Offer", self.pattern.offer),
        ]  # fmt: skip
        if self.note:
            rows.append(("Note", self.note))
        open_ = "; ".join(f"{e['cause']} ({e['priority']}): {e['latest_evidence']}"
                          for e in self.open_episodes)  # fmt: skip
        rows.append(("Open at-risk episodes", open_ or "none"))
        tickets = "; ".join(f"{t['opened_on']} {t['feature']} ({t['severity']}, {t['status']})"
                            for t in self.recent_tickets)  # fmt: skip
        rows.append(("Recent tickets", tickets or "none"))
        saves = "; ".join(f"{a['case_id']} #{a['number']}: {a['outcome']}"
                          + (f" (offered {a['offered']})" if a.get("offered") else "")
                          for a in self.save_attempts)  # fmt: skip
        rows.append(("Earlier save attempts", saves or "none"))
        similar = ", ".join(f"{r} ×{n}" for r, n in self.similar_reasons)
        rows.append(("Similar churned accounts said", similar or "no similar churned accounts"))
        return rows

    def to_dict(self) -> dict:
        d = asdict(self)
        d["pattern"] = self.pattern.model_dump()
        d["renewal_on"] = self.renewal_on.isoformat() if self.renewal_on else None
        d["similar_reasons"] = [{"reason": r, "accounts": n} for r, n in self.similar_reasons]
        d["rows"] = [{"label": k, "value": v} for k, v in self.rows()]
        return d


def sparkline(values: tuple[int, ...] | list[int]) -> str:
    """Weekly counts as block characters, scaled to the largest week."""
    top = max(values, default=0)
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, int(v * (len(BARS) - 1) / top + 0.5))] for v in values)


def usage_trend(weekly: tuple[int, ...] | list[int], policy: Policy) -> str:
    """inactive, growing, declining or steady: the last four weeks against the ones before."""
    kp = policy.karte
    recent, before = list(weekly[-4:]), list(weekly[:-4])
    if not weekly or sum(recent) == 0:
        return "inactive"
    if not before or sum(before) == 0:
        return "growing" if sum(recent) else "inactive"
    ratio = (sum(recent) / len(recent)) / (sum(before) / len(before))
    if ratio >= 1 + kp.growing_at:
        return "growing"
    return "declining" if ratio <= 1 - kp.declining_at else "steady"


def tenure_band(years: float, policy: Policy) -> str:
    low, high = policy.karte.tenure_years
    return "new" if years < low else "established" if years < high else "long"


def match_pattern(
    segment: str, tenure: str, reason: str | None, usage: str, seasonal: bool, policy: Policy
) -> KartePattern:
    """The most specific pattern whose every given field fits (list order breaks ties); a
    seasonal subscriber's pattern wins over any other (seed 003: never held back)."""
    facts = {"segment": segment, "tenure": tenure, "reason": reason, "usage": usage,
             "seasonal": seasonal}  # fmt: skip
    best, score = None, -1
    for p in policy.karte.patterns:
        fields = {k: getattr(p, k) for k in facts if getattr(p, k) is not None}
        fit = len(fields) + (100 if p.seasonal else 0)
        if all(facts[k] == v for k, v in fields.items()) and fit > score:
            best, score = p, fit
    if best is None:
        return KartePattern(name="default", talk_track="Listen first.", offer="None yet.")
    return best


def karte_reason(facts: KarteFacts, policy: Policy) -> str | None:
    """The case's reason when the account asked to leave; else the reason the most pressing
    open at-risk episode usually becomes (policy `early_warning.causes[*].reason`)."""
    if facts.case_reason:
        return facts.case_reason
    for e in facts.open_episodes:
        return policy.early_warning.causes[e["cause"]].reason
    return None


def build_karte(facts: KarteFacts, policy: Policy) -> Karte:
    a = facts.account
    years = a.tenure_years(facts.as_of)
    tenure = tenure_band(years, policy)
    trend = usage_trend(facts.weekly_usage, policy)
    reason = karte_reason(facts, policy)
    pattern = match_pattern(str(a.segment), tenure, reason, trend, a.seasonal, policy)
    note = ""
    if a.seasonal or not pattern.hold_back:
        note = SEASONAL_NOTE + (f" ({a.season})" if a.season else "") + "; no save attempt"
    plan = f"{a.segment}, {a.billing_period} billing, ARR {a.arr:,.0f} {a.currency}"
    return Karte(
        account_id=a.account_id, name=a.name, segment=str(a.segment), plan=plan,
        tenure_years=round(years, 1), tenure=tenure, usage_trend=trend,
        sparkline=sparkline(facts.weekly_usage), weekly_usage=tuple(facts.weekly_usage),
        reason=reason, pattern=pattern, seasonal=a.seasonal or not pattern.hold_back, note=note,
        health=facts.health if facts.health is not None else a.health,
        renewal_on=facts.renewal_on or a.contract_end, open_episodes=facts.open_episodes,
        recent_tickets=facts.recent_tickets, save_attempts=facts.save_attempts,
        similar_reasons=facts.similar_reasons,
    )  # fmt: skip


def karte_markdown(rows: list[tuple[str, str]] | list[list[str]]) -> str:
    """The karte as a Markdown table (a Prefect form's description, an artifact)."""
    cell = [(str(k), str(v).replace("|", "/").replace("\n", " ")) for k, v in rows]
    return "\n".join(["### Retention karte", "", "| | |", "|---|---|",
                      *(f"| {k} | {v} |" for k, v in cell)])  # fmt: skip
