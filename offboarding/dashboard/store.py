"""Read the dashboard's plain tables (`measures.DashboardData`) from the store.

Only what the measures read, with JSON fields extracted by the database, so 100 k cases and
1 M messages load in seconds: every case, save attempt, export and survey response, but
messages and steps only where a measure looks at them — the last week's messages (the
spot-check sample, with subjects) and the record of cases finished this quarter (the audit).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Date, DateTime, Select, String, case, or_, select, type_coerce
from sqlalchemy.orm import Session

from offboarding.dashboard.measures import REQUIRED_STEPS, DashboardData, quarter_start
from offboarding.dashboard.measures.periods import as_utc
from offboarding.feedback.patterns import Citation, citations_from_frames
from offboarding.feedback.store.patterns import list_patterns
from offboarding.storage.models import (
    AccountRow,
    CaseRow,
    ExportRow,
    MessageRow,
    SaveAttemptRow,
    StepRow,
)
from offboarding.storage.models.early_warning import RiskEpisodeRow
from offboarding.storage.models.feedback import ExitFeedbackRow, ExitInterviewRow
from offboarding.storage.models.winback import WinbackOutcomeRow, WinbackSignalRow

RETURNS_FROM_OUTCOMES = "win-back outcomes recorded as won back (winback_outcomes)"


def _frame(session: Session, query: Select) -> pd.DataFrame:
    """Rows as a frame, fast: Core (no ORM objects), plain tuples, and on SQLite the date
    columns as text, parsed once per column by pandas instead of once per row."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        query = query.with_only_columns(
            *(
                type_coerce(c, String).label(c.name) if isinstance(c.type, Date | DateTime) else c
                for c in query.selected_columns
            ),
            maintain_column_froms=True,
        )
    result = conn.execute(query)
    keys = list(result.keys())
    return pd.DataFrame.from_records(list(map(tuple, result.fetchall())), columns=keys)


def _cases_query() -> Select:
    r = CaseRow.reason
    return select(
        CaseRow.case_id,
        CaseRow.account_id,
        AccountRow.name.label("account_name"),
        AccountRow.segment,
        AccountRow.arr,
        AccountRow.data["strategic"].as_boolean().label("strategic"),
        CaseRow.status,
        CaseRow.requested_at,
        CaseRow.acknowledged_at,
        CaseRow.completed_at,
        CaseRow.closed_on,
        r["category"].as_string().label("reason_category"),
        r["detail"].as_string().label("reason_detail"),
        r["product_gap"].as_string().label("product_gap"),
        r["preventable"].as_boolean().label("preventable"),
        r["missed_warning_signs"].as_string().label("missed_warning_signs"),
        CaseRow.winback_candidate,
        CaseRow.winback_remind_on,
        CaseRow.waiting_for,
        CaseRow.decision_due,
    ).join(AccountRow, AccountRow.account_id == CaseRow.account_id)


def load_cases(session: Session) -> pd.DataFrame:
    return _frame(session, _cases_query())


def load_feedback(session: Session) -> pd.DataFrame:
    fb = ExitFeedbackRow
    return _frame(
        session,
        select(
            fb.response_id,
            fb.case_id,
            fb.status,
            fb.responded_at,
            fb.satisfaction,
            fb.recommend_score,
            fb.overall_rating,
            fb.would_use_again,
            fb.main_reason,
            fb.could_do_better,
            fb.recommend_why,
            fb.product_gap,
            fb.service_issue,
        ),
    )


def load_citations(session: Session) -> list[Citation]:
    """Every product gap and service issue cited in the record (see feedback.patterns)."""
    data = DashboardData.from_records(cases=load_cases(session), feedback=load_feedback(session))
    return citations_from_frames(data.cases, data.feedback)


def load_dashboard_data(session: Session, as_of: datetime) -> DashboardData:
    """Every table the measures read, as of now (rows written later are ignored by the
    measures, which all filter on `as_of`)."""
    week_ago = (as_utc(as_of) - timedelta(days=8)).to_pydatetime()
    recent = MessageRow.sent_at > week_ago
    audited = select(CaseRow.case_id).where(
        CaseRow.completed_at >= quarter_start(as_of).to_pydatetime(),
        CaseRow.status.in_(list(REQUIRED_STEPS)),
    )
    messages = _frame(
        session,
        select(
            MessageRow.id.label("message_id"),
            MessageRow.case_id,
            MessageRow.kind,
            MessageRow.sent_at,
            case((recent, MessageRow.subject), else_=None).label("subject"),
            case((recent, MessageRow.location), else_=None).label("location"),
        ).where(or_(recent, MessageRow.case_id.in_(audited))),
    )
    returns = _frame(
        session,
        select(WinbackOutcomeRow.account_id, WinbackOutcomeRow.won_back_on.label("returned_on")),
    )
    signals = _frame(
        session,
        select(
            WinbackSignalRow.account_id,
            WinbackSignalRow.type.label("kind"),
            WinbackSignalRow.source.label("source_key"),
            WinbackSignalRow.observed_at,
        ).where(
            WinbackSignalRow.type == "feature_shipped", WinbackSignalRow.account_id.is_not(None)
        ),
    )
    return DashboardData.from_records(
        cases=load_cases(session),
        save_attempts=_frame(
            session,
            select(
                SaveAttemptRow.case_id,
                SaveAttemptRow.number,
                SaveAttemptRow.outcome,
                SaveAttemptRow.at,
            ),
        ),
        messages=messages,
        exports=_frame(
            session,
            select(
                ExportRow.export_id,
                ExportRow.case_id,
                ExportRow.requested_at,
                ExportRow.delivered_at,
            ),
        ),
        steps=_frame(
            session, select(StepRow.case_id, StepRow.step).where(StepRow.case_id.in_(audited))
        ),
        feedback=load_feedback(session),
        interviews=_frame(
            session,
            select(
                ExitInterviewRow.case_id,
                ExitInterviewRow.status,
                ExitInterviewRow.facilitator,
                ExitInterviewRow.facilitator_neutral,
                ExitInterviewRow.held_at,
                ExitInterviewRow.notes,
            ),
        ),
        returns=returns,
        signals=signals,
        episodes=_frame(
            session,
            select(
                RiskEpisodeRow.account_id,
                RiskEpisodeRow.cause,
                RiskEpisodeRow.level,
                RiskEpisodeRow.opened_on,
                RiskEpisodeRow.respond_by,
                RiskEpisodeRow.notified_at,
                RiskEpisodeRow.resolved_at,
                RiskEpisodeRow.latest_evidence,
            ),
        ),
        patterns=list_patterns(session),
        notes={"winback": RETURNS_FROM_OUTCOMES},
    )
