"""Thresholds, roles and timings from a policy file; defaults are the playbook's numbers.

Rules read these values instead of constants, so a team can tune its playbook without code.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator

from offboarding.domain import SignalType


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


class TrustPolicy(BaseModel):
    """The trust boundary: who may ask for a cancellation, who issues tokens, how long proofs
    last, how many wrong proofs a person may give on a case before a manager must unlock."""

    authorised_roles: list[str] = Field(
        default_factory=lambda: ["owner", "admin", "ceo"],
        description="Contact roles that may cancel and receive the account's data",
    )
    confirmation_days: float = Field(
        7, gt=0, description="A stranger's request unconfirmed this long ends as 'unconfirmed'"
    )
    security_contact: str = Field(
        "security@example.com", description="Told when an account says 'this wasn't us'"
    )
    admins: list[str] = Field(
        default_factory=lambda: ["cs-lead@example.com"],
        description="People who may issue and revoke personal API tokens",
    )
    proof_days: float = Field(7, gt=0, description="Decision codes and links expire after")
    max_wrong_proofs: int = Field(
        5, ge=1, description="Wrong codes per case and person, then a lockout"
    )


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


#: §14 the six early-warning causes; each fired rule names its evidence.
CAUSES = (
    "usage_drop",
    "failed_login_burst",
    "champion_inactive",
    "ticket_cluster",
    "health_decline",
    "feature_abandoned",
)
LEVELS = ("low", "medium", "high", "critical")  # impact, urgency and priority share the scale


class CauseSpec(BaseModel):
    """What a cause weighs before business context (§14 "impact × urgency"), the §2 reason it
    most often becomes, and the owner's suggested first sentence to the customer."""

    impact: str = "medium"
    urgency: str = "medium"
    reason: str = "other"
    opening: str = Field("", description="Overrides the alert's sentence (any language)")

    @field_validator("impact", "urgency")
    @classmethod
    def _level(cls, v: str) -> str:
        if v not in LEVELS:
            raise ValueError(f"{v!r}: one of {', '.join(LEVELS)}")
        return v


DEFAULT_CAUSES = {
    "usage_drop": CauseSpec(impact="high", urgency="medium", reason="outcome"),
    "failed_login_burst": CauseSpec(impact="high", urgency="high", reason="experience"),
    "champion_inactive": CauseSpec(impact="high", urgency="medium", reason="expectation"),
    "ticket_cluster": CauseSpec(impact="medium", urgency="high", reason="experience"),
    "health_decline": CauseSpec(impact="medium", urgency="medium", reason="outcome"),
    "feature_abandoned": CauseSpec(impact="medium", urgency="low", reason="product_gap"),
}
#: The owner's suggested first sentence per cause when the policy gives none (the alert's
#: templates carry the same sentences in each language).
DEFAULT_OPENINGS = {
    "usage_drop": "We noticed your team has been using the product a lot less this week; is "
    "something getting in the way that we can help with?",
    "failed_login_burst": "We saw several failed sign-ins on your account; is anyone locked "
    "out, for example after a change to SSO or passwords?",
    "champion_inactive": "It has been a little while since we last saw you in the product; is "
    "there anything on your side we should know about, or someone new we should meet?",
    "ticket_cluster": "I saw your team opened several tickets about the same feature this "
    "week; I would like to make sure we solve the underlying problem, not just the tickets.",
    "health_decline": "I would like to check in on how things are going for your team, and "
    "whether you are getting the results you expected from us.",
    "feature_abandoned": "I noticed your team stopped using a feature it relied on; did it "
    "stop fitting your workflow, or did something break?",
}


DEFAULT_RESPONSE_HOURS = {
    "enterprise": {"critical": 2, "high": 4, "medium": 24, "low": 72},
    "mid-market": {"critical": 4, "high": 8, "medium": 48, "low": 120},
    "smb": {"critical": 8, "high": 24, "medium": 72, "low": 168},
}


class PriorityPolicy(BaseModel):
    """§14: impact × urgency first, then business context (ARR, days to renewal, health,
    executive visibility, competitive risk) raises or keeps the level."""

    high_at: int = Field(12, description="impact × urgency (1–4 each) at or above: high")
    medium_at: int = Field(6, description="impact × urgency at or above: medium, else low")
    high_arr: float = Field(100_000, description="ARR at or above: +2 context points")
    mid_arr: float = Field(25_000, description="ARR at or above: +1 context point")
    renewal_soon_days: int = Field(45, description="Renewal within: +2 context points")
    renewal_near_days: int = Field(90, description="Renewal within: +1 context point")
    raise_at: int = Field(3, description="Context points at or above: one level up")
    response_hours: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_RESPONSE_HOURS.items()},
        description="Segment SLA: first response within hours, per priority level",
    )

    @field_validator("response_hours", mode="before")
    @classmethod
    def _merge_hours(cls, value: object) -> object:
        """A policy file may tune one segment or level; the rest keep the defaults."""
        if isinstance(value, dict):
            merged = {k: dict(v) for k, v in DEFAULT_RESPONSE_HOURS.items()}
            for seg, levels in value.items():
                merged[seg] = {**merged.get(seg, DEFAULT_RESPONSE_HOURS["smb"]), **(levels or {})}
            return merged
        return value


class EarlyWarningPolicy(BaseModel):
    """§14 early warning: thresholds of the daily scan ("the key is setting the threshold")."""

    baseline_weeks: int = Field(4, ge=1, description="Usage baseline: the weeks before last")
    usage_drop_ratio: float = Field(0.4, gt=0, lt=1, description="Last week this far below")
    usage_min_baseline: float = Field(50, description="Baseline median events a week to judge")
    failed_login_hours: int = Field(72, ge=1, description="Window of a failed-login burst")
    failed_login_burst: int = Field(5, ge=1, description="Failed logins in the window: burst")
    champion_inactive_days: int = Field(7, ge=1, description="Champion without a login for")
    ticket_days: int = Field(7, ge=1, description="Window of the ticket cluster")
    tickets_per_feature: int = Field(4, ge=2, description="Tickets on one feature in window")
    health_yellow_below: int = Field(70, description="Health score below: yellow")
    health_red_below: int = Field(40, description="Health score below: red")
    health_lookback_days: int = Field(30, ge=1, description="Compared with the score then")
    abandon_days: int = Field(14, ge=1, description="A feature unused this long")
    abandon_min_weekly: float = Field(5, description="…after this many events a week before")
    history_days: int = Field(42, ge=7, description="Logins read back this far")
    max_data_lag_days: int = Field(2, ge=0, description="Older data: its rules are skipped")
    quiet_days_after_resolve: int = Field(14, ge=0, description="No new episode of a cause")
    executive_roles: list[str] = Field(
        default_factory=lambda: ["ceo", "cfo", "cto", "coo", "vp", "director"],
        description="A champion in one of these roles: executive visibility",
    )
    causes: dict[str, CauseSpec] = Field(default_factory=lambda: dict(DEFAULT_CAUSES))
    priority: PriorityPolicy = PriorityPolicy()

    @field_validator("causes", mode="before")
    @classmethod
    def _merge_causes(cls, value: object) -> object:
        if isinstance(value, dict):
            merged = {k: v.model_dump() for k, v in DEFAULT_CAUSES.items()}
            for k, v in value.items():
                merged[k] = {**merged.get(k, {}), **(v or {})}
            return merged
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EarlyWarningPolicy:
        if set(self.causes) != set(CAUSES):
            raise ValueError(f"early_warning.causes: expected exactly {', '.join(CAUSES)}")
        if not self.health_red_below <= self.health_yellow_below:
            raise ValueError("early_warning: health_red_below must not exceed yellow_below")
        if self.history_days < self.baseline_weeks * 7 + 7:
            raise ValueError("early_warning.history_days must cover the usage baseline")
        return self

    def opening(self, cause: str) -> str:
        """The suggested first sentence to the customer for this cause."""
        return self.causes[cause].opening or DEFAULT_OPENINGS[cause]

    def band(self, score: float | None) -> str | None:
        """green, yellow or red for a health score (None when unknown)."""
        if score is None:
            return None
        if score < self.health_red_below:
            return "red"
        return "yellow" if score < self.health_yellow_below else "green"


class KartePattern(BaseModel):
    """One retention-karte pattern (seed 003): who it fits (empty: any) and what to say."""

    name: str
    segment: str | None = None
    tenure: str | None = Field(None, description="new, established or long")
    reason: str | None = Field(None, description="§2 reason category, or an at-risk cause's")
    usage: str | None = Field(None, description="growing, steady, declining or inactive")
    seasonal: bool | None = None
    talk_track: str
    offer: str
    hold_back: bool = Field(True, description="False: no save attempt, invite back later")


def _p(name: str, talk: str, offer: str, **fit: object) -> KartePattern:
    return KartePattern(name=name, talk_track=talk, offer=offer, **fit)


DEFAULT_PATTERNS = [
    _p("seasonal subscriber", "Thank them for the season; make leaving easy and keep their "
       "setup; ask when the season starts again.", "Don't hold back: invite them again when "
       "their season returns.", seasonal=True, hold_back=False),
    _p("enterprise, long tenure, outcome", "Review the goals set at the last QBR against what "
       "they got; bring an executive sponsor.", "A success plan with named owners and a "
       "90-day checkpoint.", segment="enterprise", tenure="long", reason="outcome"),
    _p("enterprise, product gap", "Ask what the missing feature blocks; share the roadmap "
       "honestly.", "Roadmap session with product; a workaround now.", segment="enterprise",
       reason="product_gap"),
    _p("enterprise, experience", "Own the problems they had; say what changes and who owns "
       "it.", "A named support engineer and a service review in 30 days.", segment="enterprise",
       reason="experience"),
    _p("enterprise, competitor", "Ask what the competitor offers that we do not; compare on "
       "their goals, not features.", "A side-by-side on their use case; migration help "
       "back.", segment="enterprise", reason="competitor"),
    _p("mid-market, declining usage", "Ask what changed in their team or process; offer to "
       "re-onboard the people who stopped.", "A free re-onboarding workshop.",
       segment="mid-market", usage="declining"),
    _p("mid-market, cost", "Ask how they measure the value; show the usage they pay for.",
       "A right-sized plan at the next renewal.", segment="mid-market", reason="cost"),
    _p("new customer, misunderstanding", "Ask what they expected to do with us in the first "
       "months; fix the setup together.", "A guided setup call.", tenure="new",
       reason="misunderstanding"),
    _p("new customer, declining usage", "Ask which first goal they have not reached yet.",
       "Onboarding again with a success checklist.", tenure="new", usage="declining"),
    _p("SMB, cost", "Acknowledge the budget; show the cheaper way to keep what they use.",
       "A smaller plan or a pause instead of cancelling.", segment="smb", reason="cost"),
    _p("SMB, inactive", "Ask whether the need is gone or the tool did not fit.",
       "A pause of up to three months.", segment="smb", usage="inactive"),
    _p("long tenure, experience", "Thank them for the years; listen first; admit what went "
       "wrong.", "A call with the head of support.", tenure="long", reason="experience"),
    _p("product gap", "Find out exactly which feature and what it blocks.", "Tell them when "
       "it ships (win-back signal).", reason="product_gap"),
    _p("expectation", "Share where the product is going and ask what they need from it.",
       "A roadmap preview.", reason="expectation"),
    _p("default", "Listen first: ask what made them consider leaving, and what would have to "
       "change.", "No offer before you understand the reason."),
]  # fmt: skip


class KartePolicy(BaseModel):
    """The retention karte: tenure bands, the usage trend, and the patterns (most specific
    match wins; list order breaks ties)."""

    tenure_years: tuple[float, float] = Field((1.0, 3.0), description="new < a ≤ est. < b")
    weeks: int = Field(12, ge=4, description="Weeks of usage on the karte")
    growing_at: float = Field(0.15, description="Last 4 weeks this much above the 8 before")
    declining_at: float = Field(0.25, description="…this much below: declining")
    similar_limit: int = Field(5, ge=1, description="Reasons of similar churned accounts")
    patterns: list[KartePattern] = Field(default_factory=lambda: list(DEFAULT_PATTERNS))


class Policy(BaseModel):
    save: SavePolicy = SavePolicy()
    approvals: ApprovalPolicy = ApprovalPolicy()
    timeline: TimelinePolicy = TimelinePolicy()
    retention: RetentionPolicy = RetentionPolicy()
    comms: CommsPolicy = CommsPolicy()
    winback: WinbackPolicy = WinbackPolicy()
    trust: TrustPolicy = TrustPolicy()
    early_warning: EarlyWarningPolicy = EarlyWarningPolicy()
    karte: KartePolicy = KartePolicy()

    def holders(self, role: str) -> set[str]:
        return {e.lower() for e in self.approvals.roles.get(role, [])}

    def is_admin(self, email: str) -> bool:
        return email.strip().lower() in {a.lower() for a in self.trust.admins}


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
