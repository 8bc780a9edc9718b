"""Exit feedback (§8): survey answers, declines, exit interviews, and survey-tool imports.

Optional means optional: a customer who says no is recorded as `declined`, so the response
rate can tell a refusal from silence, and nobody is asked twice. A survey-tool response is
keyed by its own response id: importing a file again records nothing twice. A file with some
bad rows keeps the good ones and reports each bad row with its line number and reason.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offboarding.cases import OffboardingError, audit, get_account, get_case
from offboarding.domain import ReasonCategory, check_email
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import CaseRow
from offboarding.storage.models_feedback import ExitFeedbackRow, ExitInterviewRow

__all__ = [
    "ANSWER_FIELDS",
    "ImportResult",
    "InterviewNotes",
    "SurveyResponse",
    "import_responses",
    "parse_responses",
    "record_interview",
    "record_survey",
]

#: Feedback belongs to a departure: a saved customer stays, a misrouted ticket was no request.
NO_FEEDBACK_STATUSES = {"saved": "was saved", "not_a_cancellation": "was not a cancellation"}

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
#: Column names survey tools commonly use, mapped to ours.
ALIASES = {
    "id": "response_id",
    "response": "response_id",
    "case": "case_id",
    "nps": "recommend_score",
    "likelihood_to_recommend": "recommend_score",
    "recommend": "recommend_score",
    "rating": "overall_rating",
    "overall_experience": "overall_rating",
    "offboarding_satisfaction": "satisfaction",
    "use_again": "would_use_again",
    "submitted_at": "responded_at",
    "reason": "main_reason",
}
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


# -- survey-tool files ----------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    response_id: str | None
    error: str


@dataclass
class ImportResult:
    file: str
    rows: int = 0
    recorded: list[str] = field(default_factory=list)
    already_recorded: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "recorded": len(self.recorded),
            "already_recorded": len(self.already_recorded),
            "errors": [e.__dict__ for e in self.errors],
            "recorded_ids": self.recorded,
        }


def _column(name: Any) -> str:
    """'Response ID' and 'response-id' are response_id; survey-tool names map to ours."""
    key = str(name).strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(key, key)


def _normalise_keys(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        key = _column(k)
        if isinstance(v, str):
            v = v.strip()
        if v is not None and v != "":  # a blank cell is a question not answered
            out[key] = v
    status = str(out.pop("status", "") or "").lower()
    if status == "declined":
        out.setdefault("declined", True)
    elif status not in {"", "answered", "completed", "complete"}:
        out["declined"] = f"unknown status {status!r}"  # fails validation with a clear message
    return out


def _short(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_responses(path: Path) -> tuple[list[tuple[int, SurveyResponse]], list[RowError], int]:
    """Read a JSON (list, or {"responses": [...]}) or CSV export of a survey tool.

    Returns (good rows with their row numbers, bad rows, rows read). A file that cannot be read
    at all raises OffboardingError and nothing is recorded.
    """
    if not path.exists():
        raise OffboardingError(f"no such file: {path}")
    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OffboardingError(f"{path.name} is not valid JSON: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("responses"), list):
            data = data["responses"]
        if not isinstance(data, list):
            raise OffboardingError(
                f'{path.name}: expected a list of responses or {{"responses": [...]}}'
            )
        raw_rows = list(enumerate(data, start=1))
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise OffboardingError(f"{path.name} is empty: a CSV needs a header row")
        cols = {_column(c) for c in reader.fieldnames}
        missing = {"response_id", "case_id"} - cols
        if missing:
            raise OffboardingError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
        raw_rows = list(enumerate(reader, start=2))  # line numbers, the header is line 1
    else:
        raise OffboardingError(f"{path.name}: survey responses must be .json or .csv")
    good: list[tuple[int, SurveyResponse]] = []
    bad: list[RowError] = []
    for n, raw in raw_rows:
        if not isinstance(raw, dict):
            bad.append(RowError(n, None, "not an object"))
            continue
        row = _normalise_keys({k: v for k, v in raw.items() if k is not None})
        rid = row.get("response_id")
        if None in raw:  # csv.DictReader puts surplus cells under the None key
            bad.append(RowError(n, str(rid) if rid else None, "more cells than header columns"))
            continue
        try:
            good.append((n, SurveyResponse.model_validate(row)))
        except ValidationError as exc:
            bad.append(RowError(n, str(rid) if rid is not None else None, _short(exc)))
    return good, bad, len(raw_rows)


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


def staff_response_id(case_id: str, at: datetime | None = None) -> str:
    """A response typed in by staff: one per case and day, so a repeated command is a no-op."""
    day = (at or datetime.now(UTC)).date().isoformat()
    return f"{case_id}-staff-{day}"
