"""Exit feedback (§8) as plain data: survey answers, declines and exit-interview notes.

Optional means optional: a customer who says no is recorded as `declined`, so the response
rate can tell a refusal from silence, and nobody is asked twice. Pure: the checks live here
so the CLI, the survey-tool import and the store all refuse the same bad input the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from offboarding.domain import ReasonCategory, check_email

__all__ = [
    "ANSWER_FIELDS",
    "NO_FEEDBACK_STATUSES",
    "InterviewNotes",
    "SurveyResponse",
    "staff_response_id",
]

#: Feedback belongs to a departure: a saved customer stays, a misrouted ticket was no request.
NO_FEEDBACK_STATUSES = {
    "saved": "was saved",
    "not_a_cancellation": "was not a cancellation",
    "unconfirmed": "was never confirmed by the account",
    "refused_by_account": "was refused by the account",
}

ANSWER_FIELDS = (
    "main_reason",
    "main_reason_category",
    "could_do_better",
    "overall_rating",
    "would_use_again",
    "recommend_score",
    "recommend_why",
    "satisfaction",
    "product_gap",
    "service_issue",
)
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


class SurveyResponse(BaseModel):
    """One exit-survey response: every answer optional, or `declined` with none at all."""

    response_id: str = Field(min_length=1, max_length=200)
    case_id: str = Field(min_length=1, max_length=32)
    declined: bool = False
    main_reason: str = ""
    main_reason_category: ReasonCategory | None = None
    could_do_better: str = ""
    overall_rating: int | None = Field(None, ge=1, le=5, description="Overall experience 1–5")
    would_use_again: bool | None = None
    recommend_score: int | None = Field(None, ge=0, le=10, description="Likelihood 0–10 (NPS)")
    recommend_why: str = ""
    satisfaction: int | None = Field(None, ge=0, le=10, description="Offboarding 0–10")
    product_gap: str | None = Field(None, max_length=200)
    service_issue: str | None = Field(None, max_length=200)
    responded_at: datetime | None = None

    @field_validator("response_id", "case_id", mode="before")
    @classmethod
    def _strip(cls, v: Any) -> Any:
        return v.strip() if isinstance(v, str) else v

    @field_validator("would_use_again", "declined", mode="before")
    @classmethod
    def _yes_no(cls, v: Any) -> Any:
        if isinstance(v, str):
            low = v.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        return v

    @model_validator(mode="after")
    def _declined_or_answered(self) -> SurveyResponse:
        given = [f for f in ANSWER_FIELDS if not _blank(getattr(self, f))]
        if self.declined and given:
            raise ValueError(f"a declined survey carries no answers (got {', '.join(given)})")
        if not self.declined and not given:
            raise ValueError("no answers: record a refusal as declined instead")
        return self

    def answers(self) -> dict[str, Any]:
        """The answers given, as stored in the audit log and compared on a re-import."""
        return {
            f: (str(v) if isinstance(v, ReasonCategory) else v)
            for f in ANSWER_FIELDS
            if not _blank(v := getattr(self, f))
        }


class InterviewNotes(BaseModel):
    """The exit interview (§8): who facilitated, when, and what was said — or that it was
    declined."""

    case_id: str = Field(min_length=1, max_length=32)
    facilitator: str
    declined: bool = False
    notes: str = ""
    held_at: datetime | None = None

    @field_validator("facilitator")
    @classmethod
    def _email(cls, v: str) -> str:
        return check_email(v)

    @model_validator(mode="after")
    def _notes_unless_declined(self) -> InterviewNotes:
        if self.declined and self.notes.strip():
            raise ValueError("a declined interview has no notes")
        if not self.declined and not self.notes.strip():
            raise ValueError("interview notes are empty: record a refusal as declined instead")
        return self


def staff_response_id(case_id: str, at: datetime | None = None) -> str:
    """A response typed in by staff: one per case and day, so a repeated command is a no-op."""
    day = (at or datetime.now(UTC)).date().isoformat()
    return f"{case_id}-staff-{day}"
