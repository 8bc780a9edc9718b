"""Exit-survey responses and exit interviews in our database, and survey-tool imports.

A survey-tool response is keyed by its own response id: importing a file again records
nothing twice. Functions take an open Session (callers own the transaction) and write their
audit entries in it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases.store import OffboardingError, audit, get_account, get_case
from offboarding.feedback.survey import NO_FEEDBACK_STATUSES, InterviewNotes, SurveyResponse
from offboarding.feedback.survey_tool import ImportResult, RowError, parse_responses
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import CaseRow
from offboarding.storage.models.feedback import ExitFeedbackRow, ExitInterviewRow

__all__ = ["import_responses", "record_interview", "record_survey"]


def _feedback_case(session: Session, case_id: str) -> CaseRow:
    case = get_case(session, case_id)
    why = NO_FEEDBACK_STATUSES.get(case.status)
    if why:
        raise OffboardingError(
            f"case {case_id} {why}: exit feedback is for customers who are leaving"
        )
    return case


def _same(row: ExitFeedbackRow, r: SurveyResponse) -> bool:
    return (
        row.case_id == r.case_id
        and row.data.get("answers") == r.answers()
        and (row.status == ("declined" if r.declined else "answered"))
    )


def record_survey(
    session: Session, response: SurveyResponse, source: str, recorded_by: str
) -> tuple[ExitFeedbackRow, bool]:
    """Store one response once: (row, created). The same response id again is not a new row;
    the same id with different content is refused (a survey tool never edits an id)."""
    existing = session.scalar(
        select(ExitFeedbackRow).where(ExitFeedbackRow.response_id == response.response_id)
    )
    if existing is not None:
        if not _same(existing, response):
            raise OffboardingError(
                f"response {response.response_id} is already recorded for case "
                f"{existing.case_id} with other answers; give a new response id to correct it"
            )
        return existing, False
    _feedback_case(session, response.case_id)
    now = utcnow()
    answers = response.answers()
    row = ExitFeedbackRow(
        response_id=response.response_id,
        case_id=response.case_id,
        source=source,
        status="declined" if response.declined else "answered",
        main_reason=response.main_reason,
        main_reason_category=answers.get("main_reason_category"),
        could_do_better=response.could_do_better,
        overall_rating=response.overall_rating,
        would_use_again=response.would_use_again,
        recommend_score=response.recommend_score,
        recommend_why=response.recommend_why,
        satisfaction=response.satisfaction,
        product_gap=(response.product_gap or "").strip() or None,
        service_issue=(response.service_issue or "").strip() or None,
        responded_at=as_utc(response.responded_at) or now,
        recorded_at=now,
        recorded_by=recorded_by,
        data={"answers": answers},
    )
    session.add(row)
    session.flush()
    audit(
        session,
        response.case_id,
        recorded_by,
        "exit_feedback_declined" if response.declined else "exit_feedback_recorded",
        f"survey response {response.response_id} ({source})",
        data={"response_id": response.response_id, **answers},
    )
    return row, True


def record_interview(
    session: Session, notes: InterviewNotes, recorded_by: str
) -> tuple[ExitInterviewRow, bool]:
    """One interview per case: (row, changed). Recording it again with new notes replaces them;
    the audit log keeps the previous version, so nothing said is lost."""
    case = _feedback_case(session, notes.case_id)
    account = get_account(session, case.account_id)
    status = "declined" if notes.declined else "held"
    neutral = notes.facilitator != str(account.owner.email).lower()
    held_at = None if notes.declined else (as_utc(notes.held_at) or utcnow())
    row = session.get(ExitInterviewRow, notes.case_id)
    if row is not None:
        unchanged = (row.status, row.facilitator, row.notes) == (
            status,
            notes.facilitator,
            notes.notes,
        )
        if unchanged:
            return row, False
        previous = {"status": row.status, "facilitator": row.facilitator, "notes": row.notes}
    else:
        previous = None
        row = ExitInterviewRow(case_id=notes.case_id)
        session.add(row)
    row.status, row.facilitator, row.facilitator_neutral = status, notes.facilitator, neutral
    row.held_at, row.notes = held_at, notes.notes
    row.recorded_at, row.recorded_by = utcnow(), recorded_by
    audit(
        session,
        notes.case_id,
        recorded_by,
        "exit_interview_declined" if notes.declined else "exit_interview_recorded",
        f"facilitated by {notes.facilitator}" + (" (neutral)" if neutral else " (their CSM)"),
        data={"previous": previous, "strategic": account.strategic},
    )
    return row, True


def import_responses(session: Session, path: Path, recorded_by: str) -> ImportResult:
    """Record every good row of a survey-tool file (each in its own savepoint) and report the
    bad ones; running it again records nothing new."""
    good, bad, n = parse_responses(path)
    result = ImportResult(file=path.name, rows=n, errors=list(bad))
    source = f"survey_tool:{path.suffix.lower().lstrip('.')}"
    for line, response in good:
        try:
            with session.begin_nested():
                _, created = record_survey(session, response, source, recorded_by)
        except OffboardingError as exc:
            result.errors.append(RowError(line, response.response_id, str(exc)))
            continue
        except IntegrityError:  # the same id recorded by a concurrent import: it is in
            result.already_recorded.append(response.response_id)
            continue
        (result.recorded if created else result.already_recorded).append(response.response_id)
    result.errors.sort(key=lambda e: e.row)
    audit(
        session,
        None,
        recorded_by,
        "exit_feedback_imported",
        f"{path.name}: {len(result.recorded)} recorded, {len(result.already_recorded)} already "
        f"recorded, {len(result.errors)} rejected",
        data={"rejected_rows": [e.row for e in result.errors]},
    )
    return result
