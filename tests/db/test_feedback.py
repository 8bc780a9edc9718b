"""Exit feedback, survey-tool imports, churn patterns and the dashboard loader on a real
database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from pydantic import ValidationError
from sqlalchemy import func, inspect, select

from offboarding.cases.store import OffboardingError, UnknownCase
from offboarding.dashboard.measures import compute_dashboard
from offboarding.dashboard.store import load_citations, load_dashboard_data
from offboarding.feedback.patterns import feature_shipped_signal_id
from offboarding.feedback.store.patterns import list_patterns, mark_fixed, record_patterns
from offboarding.feedback.store.responses import import_responses, record_interview, record_survey
from offboarding.feedback.survey import InterviewNotes, SurveyResponse
from offboarding.storage.db import alembic_config, as_utc, engine_for, session_scope, upgrade
from offboarding.storage.models import AuditRow
from offboarding.storage.models.feedback import (
    ExitFeedbackRow,
    ExitInterviewRow,
    FeedbackPatternRow,
)
from offboarding.storage.models.winback import WinbackSignalRow
from tests.db.feedback_seed import OWNER, seed_accounts, seed_all, seed_cases
from tests.unit.dashboard import measures_fixtures as fx

BY = "ops@example.com"


@pytest.fixture
def url(db_url: str) -> str:
    """The fixed dataset's accounts and cases (no feedback yet)."""
    with session_scope(db_url) as s:
        seed_accounts(s)
        seed_cases(s)
    return db_url


def count(url: str, model, *where) -> int:  # noqa: ANN001
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def answers(**kw) -> SurveyResponse:
    return SurveyResponse(**{"response_id": "R-1", "case_id": "C1", "satisfaction": 8, **kw})


# -- survey answers and declines -------------------------------------------------------------


def test_answers_and_a_decline_are_both_recorded(url: str) -> None:
    with session_scope(url) as s:
        row, created = record_survey(
            s,
            answers(
                main_reason="needed SSO",
                main_reason_category="product_gap",
                could_do_better="ship SSO",
                overall_rating=4,
                would_use_again="yes",
                recommend_score=9,
                recommend_why="great support",
                product_gap="SAML SSO",
            ),
            "staff",
            BY,
        )
        assert created and row.status == "answered" and row.would_use_again is True
        declined, _ = record_survey(
            s, SurveyResponse(response_id="R-2", case_id="C2", declined=True), "staff", BY
        )
        assert declined.status == "declined" and declined.satisfaction is None
    with session_scope(url) as s:
        rows = {r.response_id: r for r in s.scalars(select(ExitFeedbackRow))}
        assert rows["R-1"].main_reason_category == "product_gap"
        assert rows["R-1"].recommend_score == 9
        assert rows["R-2"].status == "declined"
        actions = [a.action for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]
        assert actions == ["exit_feedback_recorded", "exit_feedback_declined"]


def test_the_same_response_id_is_recorded_once(url: str) -> None:
    with session_scope(url) as s:
        _, first = record_survey(s, answers(), "staff", BY)
        _, again = record_survey(s, answers(), "staff", BY)
    assert (first, again) == (True, False)
    assert count(url, ExitFeedbackRow) == 1
    with session_scope(url) as s, pytest.raises(OffboardingError, match="other answers"):
        record_survey(s, answers(satisfaction=2), "staff", BY)
    assert count(url, ExitFeedbackRow) == 1


def test_feedback_is_for_departures_only(url: str) -> None:
    with session_scope(url) as s:
        with pytest.raises(OffboardingError, match="was saved"):
            record_survey(s, answers(case_id="C4"), "staff", BY)
        with pytest.raises(OffboardingError, match="not a cancellation"):
            record_survey(s, answers(case_id="C5"), "staff", BY)
        with pytest.raises(UnknownCase):
            record_survey(s, answers(case_id="C-NOPE"), "staff", BY)
    assert count(url, ExitFeedbackRow) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"declined": True, "satisfaction": 5}, "declined survey carries no answers"),
        ({"satisfaction": None}, "record a refusal as declined"),
        ({"satisfaction": 11}, "less than or equal to 10"),
        ({"recommend_score": -1}, "greater than or equal to 0"),
        ({"overall_rating": 6}, "less than or equal to 5"),
        ({"main_reason_category": "vibes"}, "main_reason_category"),
    ],
)
def test_bad_survey_answers_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        answers(**data)


def test_exit_interview_neutral_facilitator_and_correction_keep_history(url: str) -> None:
    with session_scope(url) as s:
        row, changed = record_interview(
            s,
            InterviewNotes(case_id="C1", facilitator="Neutral@Example.com", notes="SSO blocker"),
            BY,
        )
        assert changed and row.status == "held" and row.facilitator_neutral is True
        assert row.facilitator == "neutral@example.com"
        _, again = record_interview(
            s,
            InterviewNotes(case_id="C1", facilitator="neutral@example.com", notes="SSO blocker"),
            BY,
        )
        assert again is False
        row, changed = record_interview(
            s,
            InterviewNotes(case_id="C1", facilitator=OWNER.email, notes="SSO and SCIM"),
            BY,
        )
        assert changed and row.facilitator_neutral is False  # their own CSM held it
    with session_scope(url) as s:
        assert s.get(ExitInterviewRow, "C1").notes == "SSO and SCIM"
        audits = s.scalars(
            select(AuditRow).where(AuditRow.action == "exit_interview_recorded")
        ).all()
        assert len(audits) == 2
        assert audits[1].data["previous"]["notes"] == "SSO blocker"  # nothing said is lost


def test_a_declined_interview_is_recorded_as_declined(url: str) -> None:
    with session_scope(url) as s:
        row, _ = record_interview(
            s, InterviewNotes(case_id="C9", facilitator="vp@example.com", declined=True), BY
        )
        assert (row.status, row.held_at, row.notes) == ("declined", None, "")
    with pytest.raises(ValidationError, match="declined interview has no notes"):
        InterviewNotes(case_id="C9", facilitator="vp@example.com", declined=True, notes="x")
    with pytest.raises(ValidationError, match="empty"):
        InterviewNotes(case_id="C9", facilitator="vp@example.com")


# -- survey-tool files -----------------------------------------------------------------------

HEADER = "Response ID,case_id,status,NPS,offboarding_satisfaction,could_do_better,use_again"
CSV = f"""{HEADER},submitted_at
T-1,C1,completed,9,8,Ship SSO,yes,2025-03-12T10:00:00Z
T-2,C2,declined,,,,,2025-02-01T00:00:00Z
T-3,C3,completed,eleven,6,,no,2025-02-10T00:00:00Z
T-4,C-NOPE,completed,7,7,,,2025-02-10T00:00:00Z
T-5,C4,completed,7,7,,,2025-03-08T00:00:00Z
T-6,C9,completed,,,,,2024-02-01T00:00:00Z
T-7,C9,completed,10,9,,,2024-02-01T00:00:00Z,surplus
"""


def test_csv_import_keeps_good_rows_reports_bad_ones_and_is_idempotent(
    url: str, tmp_path: Path
) -> None:
    path = tmp_path / "responses.csv"
    path.write_text(CSV, encoding="utf-8")
    with session_scope(url) as s:
        result = import_responses(s, path, BY).to_dict()
    assert (result["rows"], result["recorded"], result["already_recorded"]) == (7, 2, 0)
    assert result["recorded_ids"] == ["T-1", "T-2"]
    errors = {e["row"]: (e["response_id"], e["error"]) for e in result["errors"]}
    assert sorted(errors) == [4, 5, 6, 7, 8]  # file lines (the header is line 1)
    assert "recommend_score" in errors[4][1]  # "eleven" is no score
    assert "unknown case" in errors[5][1]
    assert "was saved" in errors[6][1]
    assert "no answers" in errors[7][1]
    assert "more cells" in errors[8][1]
    with session_scope(url) as s:
        t1 = s.scalar(select(ExitFeedbackRow).where(ExitFeedbackRow.response_id == "T-1"))
        assert (t1.recommend_score, t1.satisfaction, t1.would_use_again) == (9, 8, True)
        assert t1.source == "survey_tool:csv"
        assert t1.responded_at.replace(tzinfo=None).isoformat() == "2025-03-12T10:00:00"
    with session_scope(url) as s:
        again = import_responses(s, path, BY).to_dict()
    assert (again["recorded"], again["already_recorded"], len(again["errors"])) == (0, 2, 5)
    assert count(url, ExitFeedbackRow) == 2


def test_json_import_accepts_a_list_or_an_object_with_responses(url: str, tmp_path: Path) -> None:
    data = {
        "responses": [
            {"id": "J-1", "case": "C1", "satisfaction": 7, "product_gap": "SAML SSO"},
            {"response_id": "J-2", "case_id": "C3", "declined": True},
            "not an object",
            {"response_id": "J-3", "case_id": "C3", "status": "maybe"},
        ]
    }
    path = tmp_path / "responses.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with session_scope(url) as s:
        result = import_responses(s, path, BY).to_dict()
    assert result["recorded_ids"] == ["J-1", "J-2"]
    assert [(e["row"], e["error"][:13]) for e in result["errors"]] == [
        (3, "not an object"),
        (4, "declined: Inp"),
    ]
    path.write_text(json.dumps(data["responses"][:2]), encoding="utf-8")
    with session_scope(url) as s:
        assert import_responses(s, path, BY).to_dict()["already_recorded"] == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.json", "{not json", "not valid JSON"),
        ("r.json", '{"rows": []}', "expected a list"),
        ("r.csv", "", "needs a header row"),
        ("r.csv", "case_id,satisfaction\nC1,8\n", r"missing column\(s\) response_id"),
        ("r.xlsx", "x", "must be .json or .csv"),
    ],
)
def test_an_unreadable_file_records_nothing(
    url: str, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with session_scope(url) as s, pytest.raises(OffboardingError, match=message):
        import_responses(s, path, BY)
    with session_scope(url) as s, pytest.raises(OffboardingError, match="no such file"):
        import_responses(s, tmp_path / "missing.csv", BY)
    assert count(url, ExitFeedbackRow) == 0


# -- patterns --------------------------------------------------------------------------------


def _three_sso_customers(url: str) -> None:
    """C1 and C3 cite the SSO gap in their reasons; C9's survey answer cites it too."""
    with session_scope(url) as s:
        record_survey(
            s,
            SurveyResponse(
                response_id="P-1",
                case_id="C9",
                product_gap="SAML SSO",
                responded_at=fx.t("2025-03-01 00:00"),
            ),
            "staff",
            BY,
        )


def test_a_pattern_is_recorded_once_then_fixed_into_winback_signals(url: str) -> None:
    _three_sso_customers(url)
    with session_scope(url) as s:
        result = record_patterns(s, load_citations(s), threshold=3, window_days=90)
        assert len(result["new"]) == 1
        assert record_patterns(s, load_citations(s), threshold=3) == {"new": [], "updated": []}
    with session_scope(url) as s:
        [p] = list_patterns(s)
    assert (p["kind"], p["label"], p["customers"], p["status"]) == (
        "product_gap",
        "SAML SSO",
        3,
        "open",
    )
    assert p["accounts"] == ["A1", "A3", "A9"]
    with session_scope(url) as s:
        fixed = mark_fixed(s, p["pattern_id"], BY, "SAML SSO shipped in 5.2")
    assert fixed["pattern"]["status"] == "fixed"
    assert sorted(x["account_id"] for x in fixed["signals"]) == ["A1", "A3", "A9"]
    assert all(x["new"] for x in fixed["signals"])
    assert {x["table"] for x in fixed["signals"]} == {"winback_signals"}
    with session_scope(url) as s:
        rows = s.scalars(
            select(WinbackSignalRow).where(WinbackSignalRow.type == "feature_shipped")
        ).all()
        assert sorted(r.account_id for r in rows) == ["A1", "A3", "A9"]
        a3 = next(r for r in rows if r.account_id == "A3")
        assert "saml sso" in a3.codes and "sso (saml)" in a3.codes
        assert a3.source == f"pattern:{p['pattern_id']}"
    # marking it fixed again adds no signal twice
    with session_scope(url) as s:
        again = mark_fixed(s, p["pattern_id"], BY)
    assert not any(x["new"] for x in again["signals"])


def test_after_a_fix_the_same_gap_needs_new_customers(url: str) -> None:
    _three_sso_customers(url)
    with session_scope(url) as s:
        [pid] = record_patterns(s, load_citations(s), threshold=3)["new"]
        mark_fixed(s, pid, BY, at=fx.t("2025-03-15 00:00"))
        assert record_patterns(s, load_citations(s), threshold=3)["new"] == []
        assert record_patterns(s, load_citations(s), threshold=2)["new"] == []


def test_an_open_pattern_collects_later_citations(url: str) -> None:
    with session_scope(url) as s:
        [pid] = record_patterns(s, load_citations(s), threshold=2)["new"]  # A1, A3
        record_survey(
            s,
            SurveyResponse(
                response_id="late",
                case_id="C10",
                product_gap="SAML SSO",
                responded_at=fx.t("2025-03-19 00:00"),
            ),
            "staff",
            BY,
        )
        assert record_patterns(s, load_citations(s), threshold=2)["updated"] == [pid]
        assert s.get(FeedbackPatternRow, pid).citations[-1]["account_id"] == "A10"


def test_mark_fixed_refuses_unknown_pattern_or_missing_person(url: str) -> None:
    with session_scope(url) as s:
        with pytest.raises(OffboardingError, match="unknown pattern"):
            mark_fixed(s, "PAT-NOPE", BY)
        with pytest.raises(OffboardingError, match="who marks"):
            mark_fixed(s, "PAT-NOPE", " ")


# -- migration 0007: the pending table folded into the win-back signals ---------------------

#: `pending_winback_signals` as migration 0006 created it (the model is gone).
PENDING = sa.table(
    "pending_winback_signals",
    sa.column("account_id", sa.String()),
    sa.column("case_id", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("source_key", sa.String()),
    sa.column("detail", sa.Text()),
    sa.column("observed_at", sa.DateTime(timezone=True)),
    sa.column("data", sa.JSON()),
    sa.column("handed_over_at", sa.DateTime(timezone=True)),
)


def pending(account_id: str, pattern_id: str, handed_over: bool = False) -> dict:
    """A row as the old `mark_fixed` wrote it in a build without the win-back table."""
    return {
        "account_id": account_id,
        "case_id": f"C-{account_id}",
        "kind": "feature_shipped",
        "source_key": pattern_id,
        "detail": "fixed: product gap 'SAML SSO'. shipped in 5.2",
        "observed_at": fx.t("2025-03-15 00:00"),
        "data": {"codes": ["saml sso", "product_gap"], "pattern_id": pattern_id},
        "handed_over_at": fx.t("2025-03-16 00:00") if handed_over else None,
    }


def insert_pending(url: str, *rows: dict) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(PENDING.insert(), list(rows))


def feature_shipped(url: str) -> list[WinbackSignalRow]:
    with session_scope(url, migrate=False) as s:
        return list(
            s.scalars(
                select(WinbackSignalRow)
                .where(WinbackSignalRow.type == "feature_shipped")
                .order_by(WinbackSignalRow.account_id)
            )
        )


def test_migration_0007_turns_waiting_pending_signals_into_winback_signals(db_url: str) -> None:
    upgrade(db_url, "0006")
    insert_pending(
        db_url,
        pending("A1", "PAT-OLD", handed_over=True),  # handed over already: not again
        pending("A3", "PAT-SSO"),
        pending("A9", "PAT-SSO"),
    )

    upgrade(db_url)

    assert "pending_winback_signals" not in inspect(engine_for(db_url)).get_table_names()
    rows = feature_shipped(db_url)
    assert [(r.account_id, r.type) for r in rows] == [
        ("A3", "feature_shipped"),
        ("A9", "feature_shipped"),
    ]
    a3 = rows[0]
    # the same signal `mark_fixed` writes: same id, so the nightly selection sees it once
    assert a3.signal_id == feature_shipped_signal_id("A3", "PAT-SSO")
    assert (a3.codes, a3.source) == (["saml sso", "product_gap"], "pattern:PAT-SSO")
    assert a3.details == {
        "pattern_id": "PAT-SSO",
        "case_id": "C-A3",
        "detail": "fixed: product gap 'SAML SSO'. shipped in 5.2",
    }
    assert as_utc(a3.observed_at) == fx.t("2025-03-15 00:00")
    with session_scope(db_url, migrate=False) as s:
        audited = s.scalars(select(AuditRow.what).where(AuditRow.action == "winback_signal"))
        assert sorted(audited) == sorted(f"feature_shipped {r.signal_id}" for r in rows)


def test_migration_0007_writes_a_signal_once_and_downgrades_to_an_empty_pending_table(
    db_url: str,
) -> None:
    upgrade(db_url, "0006")
    insert_pending(db_url, pending("A3", "PAT-SSO"))
    upgrade(db_url, "0007")
    [signal] = feature_shipped(db_url)

    command.downgrade(alembic_config(db_url), "0006")
    with engine_for(db_url).connect() as conn:  # recreated empty: the signal stays put
        assert conn.execute(select(func.count()).select_from(PENDING)).scalar_one() == 0
    assert [r.signal_id for r in feature_shipped(db_url)] == [signal.signal_id]

    insert_pending(db_url, pending("A3", "PAT-SSO"))  # the same signal waiting again
    upgrade(db_url, "0007")
    assert [r.signal_id for r in feature_shipped(db_url)] == [signal.signal_id]
    assert "pending_winback_signals" not in inspect(engine_for(db_url)).get_table_names()


# -- the dashboard from the store ------------------------------------------------------------

SECTIONS = (
    "open_requests",
    "processing_time",
    "acknowledgement_time",
    "export_delivery",
    "feedback_response",
    "save_rate",
    "satisfaction",
    "winback",
    "nps",
    "reengagement",
    "reasons",
    "spot_check",
    "themes",
    "audit",
)


def test_the_store_gives_the_same_measures_as_the_hand_checked_dataset(db_url: str) -> None:
    with session_scope(db_url) as s:
        seed_all(s)
    with session_scope(db_url) as s:
        data = load_dashboard_data(s, fx.AS_OF)
    from_store = compute_dashboard(data, fx.AS_OF)
    expected = compute_dashboard(fx.dataset(), fx.AS_OF)
    for m in from_store["spot_check"]["sample"]:  # the fixture has no outbox files
        assert m.pop("location").startswith(f"outbox/{m['case_id']}-")
    for m in expected["spot_check"]["sample"]:
        assert m.pop("location") == ""
    for key in SECTIONS:
        assert from_store[key] == expected[key], key
    assert from_store["save_rate"]["save_rate"] == 0.25  # and they are the hand-checked ones
    assert from_store["winback"]["horizons"][0]["rate"] == 0.5
    assert "outcomes" in data.notes["winback"]  # returns come from winback_outcomes


def test_the_loader_reads_subjects_of_last_weeks_messages_only(db_url: str) -> None:
    with session_scope(db_url) as s:
        seed_all(s)
    with session_scope(db_url) as s:
        m = load_dashboard_data(s, fx.AS_OF).messages
    recent = m["sent_at"] > fx.AS_OF - timedelta(days=8)
    assert m.loc[recent, "subject"].notna().all()
    assert m.loc[~recent, "subject"].isna().all()


# -- the notice to product: once, even across crashes and retries -----------------------------


class FakeMailer:
    provider = "fake"

    def __init__(self, replay_safe: bool = False, fail: Exception | None = None) -> None:
        self.replay_safe = replay_safe
        self.fail = fail
        self.sent: list = []

    def send(self, message):  # noqa: ANN001, ANN201 - the Mailer protocol
        if self.fail is not None:
            raise self.fail
        self.sent.append(message)
        from offboarding.comms.mailer import Delivery

        return Delivery(provider=self.provider, location=f"fake:{message.key}")


@pytest.fixture
def notify_env(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A recorded pattern (A1, A3 cite SSO) and the task helpers pointed at this database."""
    from offboarding.settings import get_settings

    monkeypatch.setenv("OFFBOARDING_DATABASE_URL", url)
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("OFFBOARDING_POLICY_FILE", raising=False)
    get_settings.cache_clear()
    with session_scope(url) as s:
        [pid] = record_patterns(s, load_citations(s), threshold=2)["new"]
    yield pid
    get_settings.cache_clear()


def use(monkeypatch: pytest.MonkeyPatch, mailer: FakeMailer) -> FakeMailer:
    import offboarding.comms.transport

    monkeypatch.setattr(offboarding.comms.transport, "build_mailer", lambda settings: mailer)
    return mailer


def notice_of(url: str, pid: str) -> tuple[str | None, bool]:
    with session_scope(url) as s:
        row = s.get(FeedbackPatternRow, pid)
        return row.notice_status, row.notified_at is not None


def test_a_pattern_notice_goes_once(
    url: str, notify_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.dashboard import notify_patterns_now

    mailer = use(monkeypatch, FakeMailer())
    [sent] = notify_patterns_now()
    assert sent["pattern_id"] == notify_env
    assert notify_patterns_now() == []
    [message] = mailer.sent
    assert message.key == f"offboarding-pattern-{notify_env}"
    assert "product@example.com" in message.to and "A3" in message.text
    assert notice_of(url, notify_env) == ("sent", True)


def test_a_transient_fault_frees_the_notice_for_the_retry(
    url: str, notify_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from offboarding.comms.mailer import TransientMailError
    from tasks.dashboard import notify_patterns_now

    use(monkeypatch, FakeMailer(fail=TransientMailError("503")))
    with pytest.raises(TransientMailError):
        notify_patterns_now()
    assert notice_of(url, notify_env) == (None, False)
    mailer = use(monkeypatch, FakeMailer())
    assert len(notify_patterns_now()) == 1 and len(mailer.sent) == 1


def test_a_refused_notice_is_not_sent_again(
    url: str, notify_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from offboarding.comms.mailer import PermanentMailError
    from tasks.dashboard import notify_patterns_now

    use(monkeypatch, FakeMailer(fail=PermanentMailError("bad address", status=400)))
    assert notify_patterns_now() == []
    assert notice_of(url, notify_env) == ("failed", False)
    mailer = use(monkeypatch, FakeMailer())
    assert notify_patterns_now() == [] and mailer.sent == []


@pytest.mark.parametrize(("replay_safe", "after"), [(False, "unknown"), (True, "sent")])
def test_a_sender_that_died_mid_send(
    url: str,
    notify_env: str,
    monkeypatch: pytest.MonkeyPatch,
    replay_safe: bool,
    after: str,
) -> None:
    """A claim left behind: SendGrid might have sent it (ask a person); a file is rewritten."""
    from offboarding.feedback.store.notices import claim_notice
    from offboarding.storage.db import utcnow
    from tasks.dashboard import notify_patterns_now

    with session_scope(url) as s:
        assert claim_notice(s, notify_env, utcnow())
    mailer = use(monkeypatch, FakeMailer(replay_safe=replay_safe))
    assert notify_patterns_now() == []  # a fresh claim: someone is sending right now
    with session_scope(url) as s:
        row = s.get(FeedbackPatternRow, notify_env)
        row.notice_claimed_at = utcnow() - timedelta(minutes=10)
    notify_patterns_now()
    assert notice_of(url, notify_env)[0] == after
    assert len(mailer.sent) == (1 if replay_safe else 0)
