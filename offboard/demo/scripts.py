"""The demo's scripted cancellations: seven accounts, the decisions taken on each, the status
each must end in, and the exit-survey replies of the customers who left (three answer, one
declines, one never replies), so the dashboard has response rate, satisfaction and NPS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

MANAGER, LEGAL = "maya.manager@example.com", "lena.legal@example.com"


@dataclass
class Script:
    """One scripted cancellation: the request, the decisions taken on it in order, the status
    it must end in, and how the customer treats the exit survey afterwards."""

    title: str
    account_id: str
    requested_by: str
    reason_text: str
    steps: list[tuple[str, dict[str, Any]]]
    end: str
    channel: str = "email"
    #: The customer's exit-survey answers (fields of `SurveyResponse`); none: no reply at all.
    survey_answers: dict[str, Any] = field(default_factory=dict)
    #: The customer said no to the survey (recorded as declined, which is not silence).
    declines_survey: bool = False
    path: list[str] = field(default_factory=list)

    @property
    def handled_by(self) -> str:
        """Who handled the case (the verifier), and so records the customer's survey reply."""
        return next(p["decided_by"] for verb, p in self.steps if verb == "verify")


def scripts() -> list[Script]:
    """The seven cancellations of the demo (README, "Two commands")."""
    soon = (date.today() + timedelta(days=20)).isoformat()
    return [
        Script(
            "structural churn (bankruptcy)",
            "ACME-SMB",
            "ann@acme-bakeries.example",
            "We are filing for bankruptcy, please close our account.",
            [
                (
                    "verify",
                    {
                        "decided_by": "sam.carter@example.com",
                        "reason": "bankruptcy",
                        "reason_detail": "Chapter 7 filing; stores closing",
                    },
                )
            ],
            end="purged",
            channel="support_ticket",
            declines_survey=True,
        ),
        Script(
            "strategic enterprise",
            "GLOBEX-ENT",
            "hank@globex.example",
            "We are consolidating onto another platform.",
            [
                (
                    "verify",
                    {
                        "decided_by": "priya.raman@example.com",
                        "reason": "competitor",
                        "reason_detail": "Consolidating tooling after a reorganisation",
                        "competitor_name": "Initrode",
                        "agreed_closure_date": soon,
                        "waive_notice": True,
                        "needs_knowledge_transfer": True,
                        "preventable": True,
                        "missed_warning_signs": "champion stopped logging in",
                    },
                ),
                (
                    "save-outcome",
                    {
                        "decided_by": "priya.raman@example.com",
                        "outcome": "declined_conversation",
                        "why": "Decision made at board level",
                    },
                ),
                (
                    "approve",
                    {
                        "decided_by": "dana.lee@example.com",
                        "decision": "approve",
                        "comment": "not a manager: must be refused",
                    },
                ),
                (
                    "approve",
                    {
                        "decided_by": MANAGER,
                        "decision": "approve",
                        "comment": "Waive notice for goodwill; reference relationship",
                    },
                ),
                (
                    "approve",
                    {
                        "decided_by": LEGAL,
                        "decision": "approve",
                        "comment": "Early termination and notice waiver approved",
                    },
                ),
            ],
            end="purged",
            survey_answers={
                "main_reason": "Consolidating tooling after a reorganisation",
                "main_reason_category": "competitor",
                "could_do_better": "Talk to us before the renewal, not after",
                "overall_rating": 4,
                "would_use_again": True,
                "recommend_score": 9,
                "satisfaction": 8,
            },
        ),
        Script(
            "saved case (a VP's request, confirmed by the account's admin)",
            "INITECH-MM",
            "bill@initech.example",
            "Too expensive for what we use.",
            [
                # Bill is a VP, not an authorised contact: Initech's admin confirms first
                ("confirm-requester", {"decided_by": "peter@initech.example"}),
                (
                    "verify",
                    {
                        "decided_by": "dana.lee@example.com",
                        "reason": "cost",
                        "reason_detail": "Pays for 40 seats, uses 12",
                    },
                ),
                (
                    "save-outcome",
                    {
                        "decided_by": "dana.lee@example.com",
                        "outcome": "saved",
                        "offered": "Right-size to 15 seats at renewal",
                        "customer_said": "That works for us",
                        "why": "cost fixed",
                    },
                ),
            ],
            end="saved",
        ),
        Script(
            "misrouted support ticket",
            "UMBRELLA-MM",
            "alice@umbrella.example",
            "Export button broken AGAIN. Cancel everything!!",
            [
                (
                    "verify",
                    {
                        "decided_by": "oliver.hughes@example.com",
                        "is_cancellation": False,
                        "reason_detail": "export button error; wants it fixed",
                    },
                )
            ],
            end="not_a_cancellation",
            channel="support_ticket",
        ),
        Script(
            "EU account (GDPR)",
            "SOYLENT-EU",
            "jonas@soylent.example",
            "We need SAML SSO for compliance; please cancel.",
            [
                (
                    "verify",
                    {
                        "decided_by": "lena.fischer@example.com",
                        "reason": "product_gap",
                        "product_gap": "SAML SSO",
                        "reason_detail": "SSO required by IT",
                        "customer_declines_sales_conversation": True,
                    },
                )
            ],
            end="purged",
            channel="portal",
            survey_answers={
                "main_reason": "SAML SSO is required by our IT department",
                "main_reason_category": "product_gap",
                "product_gap": "SAML SSO",
                "overall_rating": 3,
                "recommend_score": 6,
                "satisfaction": 6,
            },
        ),
        Script(
            "Japanese account (low value)",
            "SAKURA-JP",
            "hanako@sakura-design.example",
            "事業方針の変更により解約します。",
            [
                (
                    "verify",
                    {
                        "decided_by": "yuki.tanaka@example.com",
                        "reason": "policy_change",
                        "reason_detail": "社内ツールの統一",
                    },
                )
            ],
            end="purged",
            survey_answers={
                "main_reason": "社内ツールの統一",
                "main_reason_category": "policy_change",
                "overall_rating": 5,
                "would_use_again": True,
                "recommend_score": 10,
                "satisfaction": 9,
            },
        ),
        Script(
            "Malaysian account (cost)",
            "KAMPUNG-MY",
            "ahmad@kampung.example",
            "Kos terlalu tinggi untuk pasukan kecil kami.",
            [
                (
                    "verify",
                    {
                        "decided_by": "aisyah.rahman@example.com",
                        "reason": "cost",
                        "reason_detail": "Harga per pengguna terlalu tinggi",
                        "firm_decision": True,
                    },
                )
            ],
            end="purged",
            channel="portal",
        ),
    ]


def decision_input(verb: str, p: dict[str, Any]) -> dict[str, Any]:
    """A scripted verification confirms a cancellation unless it says otherwise."""
    if verb == "verify":
        return {"is_cancellation": True, **p}
    return p
