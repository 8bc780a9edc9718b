"""The plain tables every measure reads (`DashboardData`), with their columns fixed so a
missing table or column is empty rather than an error. Pure: the store fills them.

Input frames (columns; datetimes are UTC-aware, missing values are NaT/NaN/None):
- cases: case_id, account_id, account_name, segment, arr, strategic, status, requested_at,
  acknowledged_at, completed_at, closed_on, reason_category, reason_detail, product_gap,
  preventable, missed_warning_signs, winback_candidate, winback_remind_on, waiting_for,
  decision_due
- save_attempts: case_id, number, outcome, at
- messages: case_id, kind, sent_at (+ message_id, subject, location when known)
- exports: export_id, case_id, requested_at, delivered_at
- steps: case_id, step
- feedback: response_id, case_id, status, responded_at, satisfaction, recommend_score,
  main_reason, could_do_better, recommend_why, product_gap, service_issue
- interviews: case_id, status, facilitator, facilitator_neutral, held_at, notes
- returns: account_id, returned_on (a former customer's return date)
- signals: account_id, kind, source_key, observed_at (`feature_shipped` win-back signals)
- episodes: account_id, cause, level, opened_on, respond_by, notified_at, resolved_at,
  latest_evidence (§14 at-risk episodes)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

_COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": (
        "case_id",
        "account_id",
        "account_name",
        "segment",
        "arr",
        "strategic",
        "status",
        "requested_at",
        "acknowledged_at",
        "completed_at",
        "closed_on",
        "reason_category",
        "reason_detail",
        "product_gap",
        "preventable",
        "missed_warning_signs",
        "winback_candidate",
        "winback_remind_on",
        "waiting_for",
        "decision_due",
    ),
    "save_attempts": ("case_id", "number", "outcome", "at"),
    "messages": ("case_id", "kind", "sent_at"),
    "exports": ("export_id", "case_id", "requested_at", "delivered_at"),
    "steps": ("case_id", "step"),
    "feedback": (
        "response_id",
        "case_id",
        "status",
        "responded_at",
        "satisfaction",
        "recommend_score",
        "main_reason",
        "could_do_better",
        "recommend_why",
        "product_gap",
        "service_issue",
    ),
    "interviews": ("case_id", "status", "facilitator", "facilitator_neutral", "held_at", "notes"),
    "returns": ("account_id", "returned_on"),
    "signals": ("account_id", "kind", "source_key", "observed_at"),
    "episodes": (
        "account_id",
        "cause",
        "level",
        "opened_on",
        "respond_by",
        "notified_at",
        "resolved_at",
        "latest_evidence",
    ),
}
_DATETIMES = {
    "requested_at",
    "acknowledged_at",
    "completed_at",
    "decision_due",
    "at",
    "sent_at",
    "delivered_at",
    "responded_at",
    "held_at",
    "observed_at",
    "returned_on",
    "closed_on",
    "winback_remind_on",
    "opened_on",
    "respond_by",
    "notified_at",
    "resolved_at",
}


@dataclass
class DashboardData:
    """Everything the measures read, as plain tables; `notes` say where a figure came from."""

    cases: pd.DataFrame
    save_attempts: pd.DataFrame
    messages: pd.DataFrame
    exports: pd.DataFrame
    steps: pd.DataFrame
    feedback: pd.DataFrame
    interviews: pd.DataFrame
    returns: pd.DataFrame
    signals: pd.DataFrame
    episodes: pd.DataFrame
    patterns: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_records(cls, **tables: Any) -> DashboardData:
        """Build from lists of dicts (or frames); missing tables and columns become empty."""
        frames = {}
        for name, cols in _COLUMNS.items():
            frames[name] = _frame(tables.get(name), cols)
        return cls(
            **frames,
            patterns=list(tables.get("patterns") or []),
            notes=dict(tables.get("notes") or {}),
        )


def empty_data() -> DashboardData:
    """No rows at all: every measure must still answer ('no data')."""
    return DashboardData.from_records()


def _frame(data: Any, cols: tuple[str, ...]) -> pd.DataFrame:
    """A copy with every expected column present and the datetime columns parsed to UTC."""
    df = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data or []))
    for c in cols:
        if c not in df.columns:
            df[c] = pd.Series([None] * len(df), dtype=object)
    for c in df.columns:
        if c in _DATETIMES and not isinstance(df[c].dtype, pd.DatetimeTZDtype):
            df[c] = pd.to_datetime(df[c], utc=True, errors="coerce", format="ISO8601")
    return df
