"""The forms a person fills in to resume a waiting run (Prefect UI or `offboard` CLI).

Field descriptions become the UI form's help text; Literal fields become dropdowns.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from prefect.input import RunInput
from pydantic import Field

ReasonName = Literal[
    "outcome",
    "expectation",
    "experience",
    "cost",
    "business_closure",
    "acquisition",
    "bankruptcy",
    "downsizing",
    "policy_change",
    "competitor",
    "product_gap",
    "misunderstanding",
    "other",
]


class _WithKarte:
    """The form's description ends with the account's retention karte (§14, seed 003), as
    the decision request recorded it: whoever takes the call sees the pattern, its talk
    track and offer, and whether the customer is a seasonal subscriber not to hold back."""

    _karte_kind: ClassVar[str] = ""

    @classmethod
    def with_initial_data(cls, description: str | None = None, **kwargs: Any):  # noqa: ANN206
        if description is not None:
            from tasks.early_warning import form_with_karte

            description = form_with_karte(description, cls._karte_kind)
        return super().with_initial_data(description=description, **kwargs)


class VerificationInput(_WithKarte, RunInput):
    """§2 verify the cancellation is intended and capture the reason at high resolution."""

    _karte_kind: ClassVar[str] = "verification"

    decided_by: str = Field(description="Your work email (recorded in the audit log).")
    decision_code: str = Field(
        "",
        description="The one-time code from your decision email (it proves it is you; "
        "`offboard` fills it in from your personal API token).",
    )
    is_cancellation: bool | None = Field(
        None,
        description="Yes: the customer means to cancel. No: a misrouted, frustrated support "
        "ticket; the case goes back to support and ends as 'not a cancellation'. Choose one: "
        "a form sent without a choice is refused and asked again.",
    )
    reason: ReasonName = Field(
        "other",
        description="Main reason category (§2). Structural: business_closure, acquisition, "
        "bankruptcy, downsizing, policy_change.",
    )
    reason_detail: str = Field("", description="The reason in the customer's words, specific.")
    competitor_name: str = Field("", description="If moving to a competitor: which one.")
    competitor_contract_signed: bool = Field(
        False, description="The customer has already signed with the competitor."
    )
    product_gap: str = Field("", description="If a product gap: which feature is missing.")
    preventable: bool = Field(False, description="Could we have prevented this churn?")
    missed_warning_signs: str = Field("", description="Early warning signs we missed, if any.")
    agreed_closure_date: date | None = Field(
        None, description="Closure date agreed with the customer (YYYY-MM-DD); empty: day 15."
    )
    waive_notice: bool = Field(
        False, description="Waive the contract's notice period (needs legal approval)."
    )
    refund_amount: float | None = Field(
        None, description="Refund agreed, if different from pro rata (beyond terms: legal)."
    )
    unusual: bool = Field(False, description="Unusual situation: route to manager approval.")
    needs_knowledge_transfer: bool = Field(
        False, description="The customer wants help moving workflows and configuration."
    )
    customer_declines_sales_conversation: bool = Field(
        False, description="The customer said no to a sales conversation: no save attempt."
    )
    firm_decision: bool = Field(
        False, description="A firm, clearly communicated, considered decision: no save attempt."
    )


class SaveOutcomeInput(_WithKarte, RunInput):
    """§3 the outcome of one save conversation, saved or not."""

    _karte_kind: ClassVar[str] = "save"

    decided_by: str = Field(description="Your work email: who led the conversation.")
    decision_code: str = Field(
        "",
        description="The one-time code from your decision email (it proves it is you; "
        "`offboard` fills it in from your personal API token).",
    )
    outcome: Literal["saved", "not_saved", "declined_conversation"] = Field(
        description="saved: the customer stays. not_saved: they still leave. "
        "declined_conversation: they did not want to talk (ends the attempt)."
    )
    offered: str = Field("", description="What was offered.")
    customer_said: str = Field("", description="What the customer said.")
    why: str = Field("", description="Why they accepted or declined.")
    another_conversation_agreed: bool = Field(
        False, description="The customer agreed to one more conversation (strategic only, max 2)."
    )


class ApprovalInput(RunInput):
    """§4 approve or reject; only a holder of the role, never the requester."""

    decided_by: str = Field(description="Your work email; must hold the role asked for.")
    decision_code: str = Field(
        "",
        description="The one-time code from your decision email (it proves it is you; "
        "`offboard` fills it in from your personal API token).",
    )
    decision: Literal["approve", "reject"] = Field(description="approve or reject the plan.")
    comment: str = Field("", description="Why: recorded in the audit log.")


class RequesterConfirmationInput(RunInput):
    """§1 an authorised contact of the account confirms (or declines) a request made by someone
    who is not one: nothing happens to the account until they do."""

    decided_by: str = Field(description="The authorised contact's email (as on the account).")
    decision_code: str = Field(
        "", description="The confirmation code from the email that contact received."
    )
    decision: Literal["confirm", "deny"] = Field(
        description="confirm: the request is the account's; deny: nobody there made it."
    )
    comment: str = Field("", description="What the contact said, if anything.")


INPUTS: dict[str, type[RunInput]] = {
    "requester": RequesterConfirmationInput,
    "verification": VerificationInput,
    "save": SaveOutcomeInput,
    "approval": ApprovalInput,
}


def input_model_for(input_key: str) -> type[RunInput]:
    """The form for a waiting key: verification[-n], save-<i>[-n], approval-<role>[-n]."""
    return INPUTS[input_key.split("-")[0]]
