"""Thresholds, roles and timings from a policy file; defaults are the playbook's numbers.

Rules read these values instead of constants, so a team can tune its playbook without code.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator

from offboarding.winback_types import SignalType


class SavePolicy(BaseModel):
    """§3 save attempt protocol."""

    strategic_arr_threshold: float = Field(100_000, description="High value: ARR at or above")
    low_value_arr_threshold: float = Field(5_000, description="Low value: ARR below")
    long_tenure_years: float = Field(3.0, description="Long tenure, with a strong relationship")
    max_conversations: int = 1
    max_conversations_strategic: int = 2


class ApprovalPolicy(BaseModel):
    """§4 approval routing and who holds which role."""

    manager_arr_threshold: float = Field(100_000, description="Manager approval at or above ARR")
    refund_beyond_terms_tolerance: float = Field(0.0, description="Refund above terms needs legal")
    roles: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "manager": ["maya.manager@example.com", "cs-lead@example.com"],
            "legal": ["lena.legal@example.com"],
        },
        description="role -> email addresses of people who hold it",
    )
    decision_timeout_days: float = Field(2.0, description="No decision within this escalates")


class TimelinePolicy(BaseModel):
    """§5 default plan, in days from the confirmation."""

    export_days: tuple[int, int] = (1, 3)
    knowledge_transfer_days: tuple[int, int] = (4, 7)
    access_reduction_day: int = 8
    closure_day: int = 15
    deactivation_day: int = 16


class RetentionPolicy(BaseModel):
    """§6 retention: data kept 90 days after cancellation, backups up to 12 months."""

    retention_days: int = 90
    backup_months: int = 12
    export_target_hours: float = 48
    export_link_expiry_days: int = 7


class CommsPolicy(BaseModel):
    acknowledgement_target_hours: float = 24
    locales: list[str] = Field(default_factory=lambda: ["en", "ja", "ms"])
    default_locale: str = "en"
    team_notify: list[str] = Field(default_factory=lambda: ["cs-team@example.com"])
    executive: str = "Erin Exec, VP Customer Success"


#: §11: "we built the change you said you needed" first; a post about stack pain last.
DEFAULT_SIGNAL_STRENGTHS = {
    "feature_shipped": 1.0,
    "champion_moved": 0.9,
    "competitor_acquired": 0.8,
    "season_returns": 0.7,
    "competitor_price_change": 0.6,
    "growth_phase": 0.5,
    "stack_pain_post": 0.4,
}


class WinbackPolicy(BaseModel):
    """§10–§11 win-back: reach out rarely, with a reason, never to those who said no."""

    reminder_months: tuple[int, int] = Field(
        (6, 12), description="First contact window, months after churn (a strong signal may skip)"
    )
    contact_gap_months: int = Field(12, ge=1, description="At most one outreach per account per")
    max_per_owner_per_night: int = Field(5, ge=0, description="Team capacity: outreach per owner")
    signal_max_age_days: int = Field(30, ge=1, description="Only signals observed this recently")
    strong_signal: float = Field(0.7, description="Strength at or above: may contact early")
    strengths: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SIGNAL_STRENGTHS),
        description="Signal type -> strength; orders outreach and decides 'strong'",
    )
    structural_reasons: list[str] = Field(
        default_factory=lambda: ["bankruptcy", "business_closure", "acquisition"],
        description="The company is gone: only a champion who moved brings it back",
    )

    @field_validator("strengths", mode="before")
    @classmethod
    def _merge_strengths(cls, value: object) -> object:
        """A policy file may tune some strengths; the others keep the playbook's values."""
        if isinstance(value, dict):
            return {**DEFAULT_SIGNAL_STRENGTHS, **value}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WinbackPolicy:
        low, high = self.reminder_months
        if not 0 <= low <= high:
            raise ValueError(f"winback.reminder_months {low}-{high}: need 0 <= first <= last")
        unknown = set(self.strengths) - {str(t) for t in SignalType}
        if unknown:
            raise ValueError(f"winback.strengths: unknown signal types {sorted(unknown)}")
        return self


class Policy(BaseModel):
    save: SavePolicy = SavePolicy()
    approvals: ApprovalPolicy = ApprovalPolicy()
    timeline: TimelinePolicy = TimelinePolicy()
    retention: RetentionPolicy = RetentionPolicy()
    comms: CommsPolicy = CommsPolicy()
    winback: WinbackPolicy = WinbackPolicy()

    def holders(self, role: str) -> set[str]:
        return {e.lower() for e in self.approvals.roles.get(role, [])}


def load_policy(path: str | Path | None) -> Policy:
    """Load a YAML or JSON policy file; missing keys keep the playbook defaults."""
    if not path:
        return Policy()
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"policy file not found: {p}")
    text = p.read_text(encoding="utf-8")
    data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    return Policy.model_validate(data or {})
