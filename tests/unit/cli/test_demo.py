"""`offboard demo`'s newcomer path, without starting its stack: the summary names a command
that shows the demo's cases (their state is in `.state/demo`, not `.state`), and the demo's
exit-survey replies give the dashboard a response rate, satisfaction and NPS.

SQLite in a temporary folder; the printed command is run as printed, in a shell.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from offboard.cli import app
from offboard.demo.runner import DEPARTED, answer_exit_surveys
from offboard.demo.scripts import scripts
from offboard.demo.summary import offboard_program, print_summary, state_command
from offboarding.cases.store import open_case
from offboarding.domain import CancellationRequest
from offboarding.settings import get_settings
from offboarding.storage.db import engine_for, session_scope

SAMPLE = Path(__file__).resolve().parents[3] / "offboarding" / "sample_data" / "accounts.json"
STATE_KEYS = ("OFFBOARDING_STATE_DIR", "OFFBOARDING_DATABASE_URL", "OFFBOARDING_POLICY_FILE")
STACK_KEYS = ("PREFECT_API_URL", "PREFECT_UI_URL", "OFFBOARDING_UI_URL")

runner = CliRunner()


# --- the printed command ---------------------------------------------------------------------


def test_the_command_sets_the_demo_state_and_names_the_virtualenvs_offboard(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    command = state_command(
        repo / ".state" / "demo", "cases", cwd=repo, program=".venv/bin/offboard"
    )
    assert command == "OFFBOARDING_STATE_DIR=.state/demo .venv/bin/offboard cases"


def test_a_state_folder_outside_the_working_directory_is_given_in_full(tmp_path: Path) -> None:
    elsewhere = tmp_path / "my demo"
    command = state_command(elsewhere, "show", "C-1", cwd=tmp_path / "repo", program="offboard")
    assert command == f"OFFBOARDING_STATE_DIR={shlex.quote(str(elsewhere))} offboard show C-1"


def test_the_program_is_the_offboard_next_to_this_python(tmp_path: Path) -> None:
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    assert offboard_program(tmp_path, bin_dir) == "offboard"  # no script: rely on PATH
    (bin_dir / "offboard").write_text("#!/bin/sh\n", encoding="utf-8")
    assert offboard_program(tmp_path, bin_dir) == ".venv/bin/offboard"
    assert offboard_program(tmp_path / "elsewhere", bin_dir) == str(bin_dir / "offboard")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No state, database or stack settings from the caller's environment."""
    for var in (*STATE_KEYS, *STACK_KEYS):
        monkeypatch.setenv(var, "")  # so that monkeypatch restores whatever the CLI sets
        monkeypatch.delenv(var)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def seed_demo_state(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sample accounts and one case in a demo-like state folder; returns the case id."""
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(state_dir))
    get_settings.cache_clear()
    assert runner.invoke(app, ["accounts", "import", str(SAMPLE)]).exit_code == 0
    url = get_settings().db_url
    with session_scope(url) as s:
        case, _ = open_case(
            s,
            CancellationRequest(
                account_id="ACME-SMB",
                requested_by="ann@acme-bakeries.example",
                requested_at=datetime.now(UTC),
                external_ref="DEMO-ACME-SMB",
            ),
        )
        case_id = case.case_id
    engine_for(url).dispose()
    monkeypatch.delenv("OFFBOARDING_STATE_DIR")
    get_settings.cache_clear()
    return case_id


def printed_lines(case_id: str, state_dir: Path) -> dict[str, str]:
    rows = [
        {
            "case_id": case_id,
            "account_id": "ACME-SMB",
            "title": "structural churn (bankruptcy)",
            "path": "acknowledged",
            "status": "purged",
            "elapsed": 1.0,
            "ok": True,
        }
    ]
    surveys = {"answered": [], "declined": [case_id], "no_reply": [], "failed": []}
    stack = SimpleNamespace(state_dir=state_dir.resolve(), ui_url="http://127.0.0.1:45123")
    out = io.StringIO()
    print_summary(rows, surveys, stack, Console(file=out, width=120), as_json=False)
    return dict(line.split(": ", 1) for line in out.getvalue().splitlines() if ": " in line)


def test_the_printed_command_shows_the_demos_cases_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    """Run from the repository root, a bare `offboard cases` looks in `.state`; the printed
    command, pasted into a shell there, lists the demo's case."""
    repo = tmp_path / "repo"
    state_dir = repo / ".state" / "demo"
    case_id = seed_demo_state(state_dir, monkeypatch)
    monkeypatch.chdir(repo)

    lines = printed_lines(case_id, state_dir)
    command = lines["The demo's cases"]
    assert command.startswith("OFFBOARDING_STATE_DIR=.state/demo ")
    assert command.endswith(" cases")
    assert lines["Case details"].endswith(f" show {case_id}")
    assert lines["exit survey"] == "0 answered, 1 declined, 0 no reply"

    env = {k: v for k, v in os.environ.items() if k not in (*STATE_KEYS, *STACK_KEYS)}
    shell = subprocess.run(
        ["/bin/sh", "-c", command], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    assert shell.returncode == 0, shell.stderr
    assert case_id in shell.stdout

    bare = runner.invoke(app, ["cases", "--json"])  # what a newcomer tried first
    assert bare.exit_code == 0, bare.output
    assert json.loads(bare.stdout) == []
    assert Path(sys.executable).parent.joinpath("offboard").exists()


# --- the exit survey -------------------------------------------------------------------------


def test_the_demo_answers_declines_and_ignores_surveys_so_the_dashboard_has_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    assert runner.invoke(app, ["accounts", "import", str(SAMPLE)]).exit_code == 0
    done = []
    with session_scope(get_settings().db_url) as s:
        for sc in scripts():
            case, _ = open_case(
                s,
                CancellationRequest(
                    account_id=sc.account_id,
                    requested_by=sc.requested_by,
                    requested_at=datetime.now(UTC) - timedelta(hours=2),
                    external_ref=f"DEMO-{sc.account_id}",
                ),
            )
            case.status = sc.end  # where the demo's run took it
            case.completed_at = datetime.now(UTC) - timedelta(hours=1)
            done.append((sc, {"case_id": case.case_id, "status": sc.end, "ok": True}))
    by_account = {sc.account_id: row["case_id"] for sc, row in done}

    surveys = answer_exit_surveys(done)

    assert surveys == {
        "answered": [by_account[a] for a in ("GLOBEX-ENT", "SOYLENT-EU", "SAKURA-JP")],
        "declined": [by_account["ACME-SMB"]],
        "no_reply": [by_account["KAMPUNG-MY"]],
        "failed": [],
    }
    assert {sc.end for sc, _ in done} - set(DEPARTED) == {"saved", "not_a_cancellation"}
    assert answer_exit_surveys(done) == surveys  # the same replies again are the same records

    result = runner.invoke(app, ["dashboard", "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["feedback_response"]["response_rate"] == pytest.approx(0.6)
    assert d["feedback_response"]["declined"] == 1
    assert d["satisfaction"]["mean"] == pytest.approx(7.67, abs=0.01)
    assert (d["nps"]["n"], d["nps"]["nps"]) == (3, pytest.approx(33.3))
    engine_for(get_settings().db_url).dispose()
