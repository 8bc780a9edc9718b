"""Bad input to `offboard` exits non-zero with one clear line and changes nothing.

Every command runs in-process against a SQLite database in a temporary state folder. No
Prefect server is needed: validation fails before any run is started (and starting or
resuming a run here fails the test).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from offboard.cli import app
from offboard.service import case_runs as service
from offboard.service.tokens import token_for
from offboarding.cases.store import open_case
from offboarding.domain import CancellationRequest
from offboarding.settings import get_settings
from offboarding.storage.db import engine_for, session_scope
from offboarding.storage.models import AuditRow, Base, CaseRow

SAMPLE = Path(__file__).resolve().parents[3] / "offboarding" / "sample_data" / "accounts.json"
ACCOUNT = "ACME-SMB"
REQUESTER = "ann@acme-bakeries.example"
MANAGER = "maya.manager@example.com"

runner = CliRunner()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh state folder (and so a fresh SQLite database) per test; no Prefect at all."""
    state_dir = tmp_path / "state"
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(state_dir))
    for var in (
        "OFFBOARDING_DATABASE_URL",
        "OFFBOARDING_POLICY_FILE",
        "OFFBOARDING_TOKEN",
        "OFFBOARDING_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)

    def no_prefect(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("bad input must be refused before any run is started or resumed")

    monkeypatch.setattr(service, "start_case_run", no_prefect)
    monkeypatch.setattr(service, "deliver", no_prefect)
    get_settings.cache_clear()
    yield state_dir
    engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def imported(state: Path) -> Path:
    result = cli("accounts", "import", str(SAMPLE), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"imported": 7}
    return state


def db_url() -> str:
    return get_settings().db_url


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table: what "changes nothing" compares."""
    with session_scope(db_url()) as s:
        return {
            t.name: sorted(tuple(map(str, row)) for row in s.execute(select(t)))
            for t in Base.metadata.sorted_tables
        }


def audit_actions() -> list[str]:
    with session_scope(db_url()) as s:
        return list(s.scalars(select(AuditRow.action).order_by(AuditRow.id)))


def assert_only_the_import() -> None:
    with session_scope(db_url()) as s:
        assert s.scalars(select(CaseRow)).all() == []
    assert audit_actions() == ["accounts_imported"]


def assert_clean_error(result: Result, *expected: str) -> str:
    """Exit 2, no traceback, one line `error: ...` on stderr naming what is wrong."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def assert_json_error(result: Result, *expected: str) -> str:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    body = json.loads(result.stdout)
    assert list(body) == ["error"]
    for text in expected:
        assert text in body["error"], body["error"]
    return body["error"]


def both(args: list[str], *expected: str) -> None:
    """The same bad input, as text and as --json."""
    assert_clean_error(cli(*args), *expected)
    assert_json_error(cli(*args, "--json"), *expected)


def request_args(**options: str) -> list[str]:
    args = ["request", options.pop("account", ACCOUNT), "--by", options.pop("by", REQUESTER)]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", value]
    return args


def contract_end(account_id: str) -> date:
    rows = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return date.fromisoformat(
        next(r for r in rows if r["account_id"] == account_id)["contract_end"]
    )


def make_case(waiting_for: str | None = None) -> str:
    """A case opened directly in the database, as intake does, without a flow run."""
    with session_scope(db_url()) as s:
        case, created = open_case(
            s,
            CancellationRequest(
                account_id=ACCOUNT,
                requested_by=REQUESTER,
                requested_at=datetime.now(UTC),
                external_ref="TCK-1001",
            ),
        )
        assert created
        case.waiting_for = waiting_for
        return case.case_id


# --- request ---------------------------------------------------------------------------------


def test_request_for_an_unknown_account(imported: Path) -> None:
    both(request_args(account="NOPE-ACC"), "unknown account 'NOPE-ACC'", "accounts import")
    assert_only_the_import()


def test_request_with_a_malformed_requester_email(imported: Path) -> None:
    both(request_args(by="ann-at-acme"), "requested_by", "malformed email address: 'ann-at-acme'")
    assert_only_the_import()


def test_request_with_a_wished_date_in_the_past(imported: Path) -> None:
    past = date.today() - timedelta(days=1)
    both(request_args(wished_date=past.isoformat()), f"closure date {past}", "in the past")
    assert_only_the_import()


def test_request_with_a_wished_date_past_the_contract_end(imported: Path) -> None:
    end = contract_end(ACCOUNT)
    wished = max(date.today(), end) + timedelta(days=1)
    both(
        request_args(wished_date=wished.isoformat()),
        f"closure date {wished}",
        f"past the contract end {end}",
    )
    assert_only_the_import()


def test_request_with_a_malformed_wished_date(imported: Path) -> None:
    both(request_args(wished_date="2026-13-45"), "2026-13-45")
    assert_only_the_import()


def test_request_with_an_unknown_channel(imported: Path) -> None:
    both(request_args(channel="fax"), "channel", "support_ticket")
    assert_only_the_import()


# --- accounts import -------------------------------------------------------------------------


def test_import_with_one_bad_row_imports_nothing_and_names_the_row(
    state: Path, tmp_path: Path
) -> None:
    rows = json.loads(SAMPLE.read_text(encoding="utf-8"))
    rows[2]["segment"] = "giant"
    bad = tmp_path / "accounts.json"
    bad.write_text(json.dumps(rows), encoding="utf-8")

    for args in (["accounts", "import", str(bad)], ["accounts", "import", str(bad), "--json"]):
        result = cli(*args)
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        message = json.loads(result.stdout)["error"] if "--json" in args else result.stderr
        assert "no accounts imported" in message
        assert "row 3: segment:" in message
        assert "row 1" not in message and "row 2" not in message

    assert snapshot()["accounts"] == []
    assert audit_actions() == []


def test_import_of_a_bad_row_leaves_earlier_imports_untouched(
    imported: Path, tmp_path: Path
) -> None:
    before = snapshot()
    rows = json.loads(SAMPLE.read_text(encoding="utf-8"))
    rows[0]["name"] = "Renamed Bakeries"  # a valid change in the same file...
    rows[5]["owner"]["email"] = "not-an-email"  # ...is not written because of this row
    bad = tmp_path / "accounts.json"
    bad.write_text(json.dumps(rows), encoding="utf-8")

    result = cli("accounts", "import", str(bad), "--json")
    error = assert_json_error(result, "row 6: owner.email:", "malformed email address")

    assert "row 1" not in error
    assert snapshot() == before


def test_import_of_an_unsupported_file_type(imported: Path, tmp_path: Path) -> None:
    before = snapshot()
    wrong = tmp_path / "accounts.txt"
    wrong.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    both(["accounts", "import", str(wrong)], "accounts.txt", "must be .csv or .json")
    assert snapshot() == before


def test_import_of_a_missing_file(imported: Path, tmp_path: Path) -> None:
    before = snapshot()
    missing = tmp_path / "nowhere" / "accounts.csv"
    both(["accounts", "import", str(missing)], "no such file", "accounts.csv")
    assert snapshot() == before


@pytest.mark.parametrize("folder", ["[draft]", "[/old]"])
def test_a_message_is_printed_as_text_not_markup(
    imported: Path, tmp_path: Path, folder: str
) -> None:
    """Square brackets in a path are neither swallowed nor a crash of the error printer."""
    missing = tmp_path / folder / "accounts.csv"
    both(["accounts", "import", str(missing)], f"no such file: {missing}")


def test_import_into_a_fresh_state_writes_no_database_rows(state: Path, tmp_path: Path) -> None:
    both(["accounts", "import", str(tmp_path / "missing.json")], "no such file")
    assert audit_actions() == []


# --- decisions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "C-NOPE0000", "--by", "sam@example.com", "--reason", "bankruptcy"],
        ["approve", "C-NOPE0000", "--by", MANAGER],
        ["reject", "C-NOPE0000", "--by", MANAGER, "--comment", "no"],
        ["save-outcome", "C-NOPE0000", "--by", "csm@example.com", "--outcome", "saved"],
        ["show", "C-NOPE0000"],
    ],
    ids=["verify", "approve", "reject", "save-outcome", "show"],
)
def test_unknown_case(imported: Path, args: list[str]) -> None:
    before = snapshot()
    both(args, "unknown case 'C-NOPE0000'", "offboard cases")
    assert snapshot() == before


def test_approve_a_case_that_waits_for_nothing(imported: Path) -> None:
    case_id = make_case(waiting_for=None)
    before = snapshot()
    both(["approve", case_id, "--by", MANAGER], f"case {case_id} waits for no decision")
    assert snapshot() == before


def test_verify_a_case_that_waits_for_an_approval(imported: Path) -> None:
    case_id = make_case(waiting_for="approval-manager")
    before = snapshot()
    both(
        ["verify", case_id, "--by", "sam@example.com"],
        f"case {case_id} waits for 'approval-manager'",
        "not for `verify`",
    )
    assert snapshot() == before


def test_save_outcome_with_an_unknown_outcome(imported: Path) -> None:
    case_id = make_case(waiting_for="save-1")
    before = snapshot()
    both(
        ["save-outcome", case_id, "--by", "csm@example.com", "--outcome", "maybe"],
        "invalid input: outcome",
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("approver", "why"),
    [
        ("stranger@example.com", "does not hold the manager role"),
        (REQUESTER, "made this request and cannot approve it"),
    ],
    ids=["not-a-holder", "the-requester"],
)
def test_a_refused_approver_is_told_why_and_recorded(
    imported: Path, approver: str, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused, not resumed; the only change is the refusal in the audit log (README §Approvers)."""
    case_id = make_case(waiting_for="approval-manager")
    monkeypatch.setenv("OFFBOARDING_TOKEN", token_for(approver, {}))  # the approver, proven
    get_settings.cache_clear()
    before = audit_actions()

    assert_clean_error(cli("approve", case_id, "--by", approver), "refused:", why)

    assert audit_actions() == [*before, "approval_refused"]
    with session_scope(db_url()) as s:
        refusal = s.scalars(select(AuditRow).order_by(AuditRow.id.desc())).first()
        assert (refusal.case_id, refusal.actor, refusal.what) == (
            case_id,
            approver,
            "approval-manager",
        )
        assert why in refusal.why
        case = s.get(CaseRow, case_id)
        assert (case.status, case.waiting_for) == ("received", "approval-manager")


# --- listing ---------------------------------------------------------------------------------


def test_cases_with_an_unknown_status(imported: Path) -> None:
    both(["cases", "--status", "bogus"], "bogus")
    assert_only_the_import()


def test_a_decision_without_a_token_is_refused_and_changes_nothing(imported: Path) -> None:
    """`--by` is not an identity: without a personal API token nothing is decided."""
    case_id = make_case(waiting_for="approval-manager")
    before = snapshot()
    both(["approve", case_id, "--by", MANAGER], "no API token")
    assert snapshot() == before


def test_a_decision_typed_as_someone_else_is_refused_and_audited(
    imported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = make_case(waiting_for="approval-manager")
    monkeypatch.setenv("OFFBOARDING_TOKEN", token_for("dana.lee@example.com", {}))
    get_settings.cache_clear()
    before = audit_actions()
    assert_clean_error(cli("approve", case_id, "--by", MANAGER), "is not you")
    assert audit_actions() == [*before, "proof_refused"]
    with session_scope(db_url()) as s:
        case = s.get(CaseRow, case_id)
        assert (case.status, case.waiting_for) == ("received", "approval-manager")
