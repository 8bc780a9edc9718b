"""`offboard feedback`, `offboard patterns` and `offboard dashboard` against a real database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from offboard.cli import app
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.storage.models.feedback import ExitFeedbackRow, FeedbackPatternRow
from tests.db.feedback_seed import seed_accounts, seed_all, seed_cases

runner = CliRunner()


@pytest.fixture
def state(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state_dir = tmp_path / "state"
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(state_dir))
    monkeypatch.setenv("OFFBOARDING_DATABASE_URL", db_url)
    monkeypatch.delenv("OFFBOARDING_POLICY_FILE", raising=False)
    get_settings.cache_clear()
    with session_scope(db_url) as s:
        seed_accounts(s)
        seed_cases(s)
    yield state_dir
    get_settings.cache_clear()


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def feedback_rows() -> int:
    with session_scope(get_settings().db_url) as s:
        return s.scalar(select(func.count()).select_from(ExitFeedbackRow))


def test_feedback_answers_decline_and_interview(state: Path) -> None:
    r = cli("feedback", "C1", "--satisfaction", "8", "--recommend", "9", "--use-again",
            "--could-do-better", "ship SSO", "--by", "ops@example.com", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["survey"]["status"] == "answered" and out["survey"]["new"] is True
    assert out["survey"]["response_id"].startswith("C1-staff-")
    again = json.loads(cli("feedback", "C1", "--satisfaction", "8", "--recommend", "9",
                           "--use-again", "--could-do-better", "ship SSO", "--by",
                           "ops@example.com", "--json").stdout)  # fmt: skip
    assert again["survey"]["new"] is False  # the same command twice is one response
    r = cli("feedback", "C2", "--declined")
    assert r.exit_code == 0 and "survey declined" in r.stdout
    r = cli("feedback", "record", "C9", "--interview-notes", "moved to a competitor for price",
            "--facilitator", "vp@example.com", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["interview"] == {
        "status": "held",
        "facilitator": "vp@example.com",
        "neutral": True,
        "changed": True,
    }
    assert feedback_rows() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["C1"], "nothing to record"),
        (["C1", "--satisfaction", "12"], "invalid input"),
        (["C1", "--declined", "--satisfaction", "3"], "carries no answers"),
        (["C4", "--satisfaction", "5"], "was saved"),
        (["C-NOPE", "--satisfaction", "5"], "unknown case"),
        (["C1", "--interview-notes", "x"], "needs --facilitator"),
        (["C1", "--satisfaction", "5", "--responded-at", "yesterday"], "not an ISO date"),
        (["C1", "--satisfaction", "5", "--by", "not-an-email"], "malformed email"),
    ],
)
def test_bad_feedback_is_refused_with_one_line(state: Path, args: list[str], message: str) -> None:
    r = cli("feedback", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert feedback_rows() == 0


def test_feedback_import_reports_bad_rows_and_keeps_good_ones(state: Path, tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_text(
        "response_id,case_id,satisfaction,nps\nS-1,C1,8,9\nS-2,C3,99,5\nS-3,C9,9,10\n",
        encoding="utf-8",
    )
    r = cli("feedback", "import", str(path), "--json")
    assert r.exit_code == 1  # something to fix, but the good rows are in
    out = json.loads(r.stdout)
    assert out["recorded_ids"] == ["S-1", "S-3"]
    assert [(e["row"], e["response_id"]) for e in out["errors"]] == [(3, "S-2")]
    r = cli("feedback", "import", str(path))
    assert "0 recorded · 2 already recorded · 1 rejected" in r.stdout
    assert "S-2" in r.stderr
    assert feedback_rows() == 2
    assert cli("feedback", "import", str(tmp_path / "nope.csv")).exit_code == 2


def test_patterns_detect_notify_and_mark_fixed(state: Path) -> None:
    r = cli("patterns", "--threshold", "2", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    [p] = out["patterns"]
    assert (p["label"], p["accounts"], p["status"]) == ("SAML SSO", ["A1", "A3"], "open")
    [n] = out["notified"]
    notice = Path(n["location"])
    assert notice.exists() and "product@example.com" in n["to"]
    assert "A1" in notice.read_text(encoding="utf-8")
    # a second look notifies nobody again
    assert json.loads(cli("patterns", "--threshold", "2", "--json").stdout)["notified"] == []
    r = cli("patterns", "--mark-fixed", p["pattern_id"], "--by", "pm@example.com",
            "--note", "SSO shipped", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    fixed = json.loads(r.stdout)["fixed"]
    assert sorted(x["account_id"] for x in fixed["signals"]) == ["A1", "A3"]
    r = cli("patterns", "--no-refresh", "--status", "fixed", "--json")
    assert [x["pattern_id"] for x in json.loads(r.stdout)["patterns"]] == [p["pattern_id"]]
    assert json.loads(cli("patterns", "--no-refresh", "--status", "open", "--json").stdout) == {
        "patterns": []
    }
    r = cli("patterns", "--no-refresh")  # the table for people
    assert r.exit_code == 0 and "fixed" in r.stdout
    with session_scope(get_settings().db_url) as s:
        assert s.get(FeedbackPatternRow, p["pattern_id"]).status == "fixed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mark-fixed", "PAT-NOPE", "--by", "pm@example.com"], "unknown pattern"),
        (["--mark-fixed", "PAT-NOPE"], "needs --by"),
        (["--threshold", "0"], "at least 1"),
        (["--status", "closed"], "use open or fixed"),
    ],
)
def test_bad_pattern_commands_are_refused(state: Path, args: list[str], message: str) -> None:
    r = cli("patterns", *args)
    assert r.exit_code == 2 and message in r.stderr, r.output


def test_dashboard_json_tables_and_html(state: Path, tmp_path: Path) -> None:
    r = cli("dashboard", "--json", "--as-of", "2025-03-20T12:00:00+00:00")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["open_requests"]["total"] == 3
    assert d["processing_time"]["median_days"] == 12.0
    page = tmp_path / "out" / "dash.html"
    r = cli("dashboard", "--as-of", "2025-03-20T12:00:00", "--html", str(page))
    assert r.exit_code == 0, r.output
    assert "processing time" in r.stdout and str(page.name) in r.stdout
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") >= 10
    for args, message in (
        (["--since-days", "0"], "at least 1"),
        (["--as-of", "soon"], "not an ISO date"),
    ):
        bad = cli("dashboard", *args)
        assert bad.exit_code == 2 and message in bad.stderr


def test_dashboard_on_the_full_dataset(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OFFBOARDING_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        with session_scope(db_url) as s:
            seed_all(s)
        r = cli("dashboard", "--json", "--as-of", "2025-03-20T12:00:00Z")
        assert r.exit_code == 0, r.output
        d = json.loads(r.stdout)
        assert d["save_rate"]["save_rate"] == 0.25
        assert d["feedback_response"]["response_rate"] == 0.6
        assert d["audit"]["with_missing"] == 3
    finally:
        get_settings.cache_clear()
