"""§14 priority of a problem: impact × urgency, then the business context, then the segment's
response target (seed 004).

The level comes from impact × urgency (each low 1 … critical 4): at or above `high_at` high,
at or above `medium_at` medium, else low. Business context adds points — ARR (+2 at
`high_arr`, +1 at `mid_arr`), days to renewal (+2 within `renewal_soon_days`, +1 within
`renewal_near_days`), health (+2 red, +1 yellow), executive visibility (+1), competitive risk
(+1) — and `raise_at` points or more lift the level one step. So the same bug is high for a
$500K account renewing next month with a yellow score, and medium for a $15K account that
renewed last quarter. Within a level the queue is ordered by impact × urgency, then ARR,
days to renewal, health, executive visibility and competitive risk. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from offboarding.policy import LEVELS, Policy

#: The queue's order of levels, most pressing first.
ORDER = tuple(reversed(LEVELS))


@dataclass(frozen=True)
class AccountContext:
    """The business context of an account on the scan's day."""

    account_id: str
    segment: str = "smb"
    arr: float = 0.0
    renewal_on: date | None = None
    health: int | None = None
    executive_visibility: bool = False
    competitive_risk: bool = False


@dataclass(frozen=True)
class Priority:
    level: str
    base: int  # impact × urgency, 1–16
    points: int  # business-context points
    reasons: tuple[str, ...]  # what raised it, in words
    respond_within_hours: float
    days_to_renewal: int | None

    def describe(self) -> str:
        why = f" ({', '.join(self.reasons)})" if self.reasons else ""
        return f"{self.level}: impact × urgency {self.base}, context +{self.points}{why}"


def weight(level: str) -> int:
    return LEVELS.index(level) + 1


def days_to_renewal(ctx: AccountContext, day: date) -> int | None:
    """Days from the scan to the next renewal; None when unknown or already past."""
    if ctx.renewal_on is None or ctx.renewal_on < day:
        return None
    return (ctx.renewal_on - day).days


def context_points(ctx: AccountContext, day: date, policy: Policy) -> tuple[int, tuple[str, ...]]:
    """Business-context points and what earned them."""
    pp = policy.early_warning.priority
    points, reasons = 0, []
    if ctx.arr >= pp.high_arr:
        points, reasons = points + 2, [*reasons, f"ARR {ctx.arr:,.0f}"]
    elif ctx.arr >= pp.mid_arr:
        points, reasons = points + 1, [*reasons, f"ARR {ctx.arr:,.0f}"]
    days = days_to_renewal(ctx, day)
    if days is not None and days <= pp.renewal_near_days:
        points += 2 if days <= pp.renewal_soon_days else 1
        reasons.append(f"renews in {days} days")
    band = policy.early_warning.band(ctx.health)
    if band in ("yellow", "red"):
        points += 2 if band == "red" else 1
        reasons.append(f"health {band}")
    if ctx.executive_visibility:
        points, reasons = points + 1, [*reasons, "executive visibility"]
    if ctx.competitive_risk:
        points, reasons = points + 1, [*reasons, "competitive risk"]
    return points, tuple(reasons)


def level_of(base: int, points: int, policy: Policy) -> str:
    pp = policy.early_warning.priority
    level = "high" if base >= pp.high_at else "medium" if base >= pp.medium_at else "low"
    if points >= pp.raise_at:
        level = LEVELS[min(LEVELS.index(level) + 1, len(LEVELS) - 1)]
    return level


def response_hours(segment: str, level: str, policy: Policy) -> float:
    """The segment's SLA for a first response at this level (SMB's when unknown)."""
    table = policy.early_warning.priority.response_hours
    return (table.get(segment) or table["smb"])[level]


def priority(impact: str, urgency: str, ctx: AccountContext, day: date, policy: Policy) -> Priority:
    base = weight(impact) * weight(urgency)
    points, reasons = context_points(ctx, day, policy)
    level = level_of(base, points, policy)
    return Priority(
        level=level,
        base=base,
        points=points,
        reasons=reasons,
        respond_within_hours=response_hours(ctx.segment, level, policy),
        days_to_renewal=days_to_renewal(ctx, day),
    )


def rank_key(p: Priority, ctx: AccountContext, account_id: str = "", cause: str = "") -> tuple:
    """Most pressing first: level, impact × urgency, ARR, days to renewal, health, executive
    visibility, competitive risk (then account and cause, a stable tie-break)."""
    return (
        ORDER.index(p.level),
        -p.base,
        -ctx.arr,
        p.days_to_renewal if p.days_to_renewal is not None else 10**6,
        ctx.health if ctx.health is not None else 101,
        not ctx.executive_visibility,
        not ctx.competitive_risk,
        account_id,
        cause,
    )


def ranked(
    items: Iterable[tuple[str, str, str, str]],
    contexts: dict[str, AccountContext],
    day: date,
    policy: Policy,
) -> list[tuple[str, str, Priority]]:
    """(account, cause, impact, urgency) items as (account, cause, priority), most pressing
    first; an account without context is a plain SMB account."""
    out = []
    for account_id, cause, impact, urgency in items:
        ctx = contexts.get(account_id) or AccountContext(account_id)
        out.append((account_id, cause, priority(impact, urgency, ctx, day, policy), ctx))
    out.sort(key=lambda t: rank_key(t[2], t[3], t[0], t[1]))
    return [(a, c, p) for a, c, p, _ in out]
