"""Frames as the per-account reference's plain data (`rules.ProductFacts`,
`priority.AccountContext`), so tests can hold the vectorised scan to the reference rules."""

from __future__ import annotations

from collections import defaultdict

import polars as pl

from offboarding.early_warning.priority import AccountContext
from offboarding.early_warning.rules import (
    Champion,
    HealthScore,
    Login,
    ProductFacts,
    Ticket,
    UsageEvent,
)

__all__ = ["account_contexts", "product_facts"]


def product_facts(tables: dict[str, pl.DataFrame], accounts: list[str]) -> list[ProductFacts]:
    """One `ProductFacts` per account of the population, from whole product tables."""
    rows: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in tables["usage_events"].iter_rows(named=True):
        rows[r["account_id"]]["usage"].append(UsageEvent(r["ts"], r["feature"]))
    for r in tables["logins"].iter_rows(named=True):
        rows[r["account_id"]]["logins"].append(Login(r["ts"], r["user_id"], r["success"]))
    for r in tables["tickets"].iter_rows(named=True):
        rows[r["account_id"]]["tickets"].append(
            Ticket(r["ticket_id"], r["opened_at"], r["feature"], r["severity"] or "medium",
                   r["closed_at"])
        )  # fmt: skip
    for r in tables["health_scores"].iter_rows(named=True):
        if r["score"] is not None:
            rows[r["account_id"]]["health"].append(HealthScore(r["on"], r["score"]))
    for r in tables["champions"].iter_rows(named=True):
        rows[r["account_id"]]["champions"].append(
            Champion(r["user_id"], r["name"], r["email"], r["role"] or "")
        )
    return [ProductFacts(a, **{k: tuple(v) for k, v in rows.get(a, {}).items()}) for a in accounts]


def account_contexts(ctx: pl.DataFrame) -> dict[str, AccountContext]:
    """The queue's context frame (`queue.contexts`) as `AccountContext` per account."""
    keep = ["account_id", "segment", "arr", "renewal_on", "health", "executive_visibility",
            "competitive_risk"]  # fmt: skip
    return {r["account_id"]: AccountContext(**r) for r in ctx.select(keep).iter_rows(named=True)}
