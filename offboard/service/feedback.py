"""Exit feedback (§8) and churn patterns: what `offboard feedback` and `offboard patterns` do,
and what the demo does to answer (or decline) the exit survey of the cases it closed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from offboard.service.database import store_session
from offboarding.domain import check_email


def survey_response(
    case_id: str,
    answers: Mapping[str, Any],
    *,
    declined: bool = False,
    responded_at: datetime | None = None,
    response_id: str | None = None,
) -> dict[str, Any]:
    """A survey response typed in by staff (fields of `SurveyResponse`). Its id defaults to one
    per case and day, so the same command twice records one response."""
    from offboarding.feedback.survey import staff_response_id

    return {
        "response_id": response_id or staff_response_id(case_id, responded_at),
        "case_id": case_id,
        "declined": declined,
        **answers,
        "responded_at": responded_at,
    }


def record_feedback(
    case_id: str,
    survey: Mapping[str, Any] | None,
    interview: Mapping[str, Any] | None,
    by: str,
) -> dict[str, Any]:
    """Both parts in one transaction: either is optional, at least one is given."""
    from offboarding.feedback.store.responses import record_interview, record_survey
    from offboarding.feedback.survey import InterviewNotes, SurveyResponse

    check_email(by)
    out: dict[str, Any] = {"case_id": case_id}
    with store_session() as s:
        if survey is not None:
            row, created = record_survey(
                s, SurveyResponse.model_validate(survey), "staff", by.lower()
            )
            out["survey"] = {"response_id": row.response_id, "status": row.status, "new": created}
        if interview is not None:
            irow, changed = record_interview(
                s, InterviewNotes.model_validate(interview), by.lower()
            )
            out["interview"] = {
                "status": irow.status,
                "facilitator": irow.facilitator,
                "neutral": irow.facilitator_neutral,
                "changed": changed,
            }
    return out


def import_feedback(path: Path, by: str) -> dict[str, Any]:
    """A survey tool's export: known response ids skipped, bad rows listed, good rows kept."""
    from offboarding.feedback.store.responses import import_responses

    with store_session() as s:
        return import_responses(s, path, by).to_dict()


def churn_patterns(
    threshold: int,
    window_days: int,
    status: str | None = None,
    fixed_pattern: str | None = None,
    by: str | None = None,
    note: str = "",
    refresh: bool = True,
) -> dict[str, Any]:
    """The recorded patterns, after marking one fixed (its churned accounts get a win-back
    signal) or, by default, after detecting new ones and telling product about them once."""
    from offboarding.feedback.store.patterns import list_patterns, mark_fixed

    out: dict[str, Any] = {}
    if fixed_pattern:
        with store_session() as s:
            out["fixed"] = mark_fixed(s, fixed_pattern, check_email(by or ""), note)
    elif refresh:
        from tasks.dashboard import notify_patterns_now, refresh_patterns_now

        out["refresh"] = refresh_patterns_now(threshold, window_days)
        out["notified"] = notify_patterns_now()
    with store_session() as s:
        out["patterns"] = list_patterns(s, status)
    return out
