"""`offboard` win-back commands: bad input exits 2 with one clear line and changes nothing;
good input does what it says. In-process, SQLite in a temporary state folder, no Prefect."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from offboard.cli import app
from offboarding.settings import get_settings
from offboarding.storage.db import engine_for, session_scope
from offboarding.storage.models import AuditRow, Base
from offboarding.storage.models.winback import WinbackSignalRow
from tests.unit.cli.test_cli_bad_input import assert_clean_error, assert_json_error

runner = CliRunner()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state_dir = tmp_path / "state"
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(state_dir))
    for var in ("OFFBOARDING_DATABASE_URL", "OFFBOARDING_POLICY_FILE", "PREFECT_API_URL"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield state_dir
    engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()


def cli(*args: str):  # noqa: ANN201
    return runner.invoke(app, list(args))


def rows() -> dict[str, int]:
    with session_scope(get_settings().db_url) as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables
            if t.name != "audit_log"
        }


def both(args: list[str], *expected: str) -> None:
    before = rows()
    assert_clean_error(cli(*args), *expected)
    assert_json_error(cli(*args, "--json"), *expected)
    assert rows() == before


@pytest.fixture
def population(state: Path) -> Path:
    out = state / "sample"
    result = cli(
        "sample-signals", "--accounts", "120", "--signals", "1500", "--night", "2031-06-15",
        "--out", str(out), "--into-store", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout)
    assert meta["accounts"] == 120 and meta["store"] == {"accounts": 120, "signals": 1500}
    assert (out / "candidates.parquet").stat().st_size > 0
    return out


def test_signal_files(population: Path, tmp_path: Path) -> None:
    again = cli("signals", "ingest", str(population / "signals.parquet"), "--json")
    assert json.loads(again.stdout) == {
        "file": str(population / "signals.parquet"),
        "rows": 1500,
        "new": 0,
        "already_stored": 1500,
    }
    both(["signals", "ingest", str(tmp_path / "absent.csv")], "no such signal file")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "type,account_id,observed_at,source\n"
        "growth_phase,A0000001,2031-06-14,news\n"
        "growth_phase,A0000002,last week,news\n",
        encoding="utf-8",
    )
    both(["signals", "ingest", str(bad)], "nothing ingested", "rows 2", "observed_at")
    both(["signals", "ingest", "s3://only-a-bucket"], "expected s3://bucket/key")


def test_signal_add(population: Path) -> None:
    add = ["signal", "add", "--type", "growth_phase", "--account", "A0000003", "--source", "crm"]
    at = ["--observed-at", "2031-06-14T08:00:00Z", "--detail", "kind=hiring"]
    first = cli(*add, *at, "--json")
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert body["new"] is True
    assert json.loads(cli(*add, *at, "--json").stdout) == {**body, "new": False}
    with session_scope(get_settings().db_url) as s:
        row = s.get(WinbackSignalRow, body["signal_id"])
        assert (row.account_id, row.details) == ("A0000003", {"kind": "hiring"})
    both(["signal", "add", "--type", "weather", "--account", "A1", "--source", "x"], "type")
    both(["signal", "add", "--type", "growth_phase", "--source", "x"], "account_id or a domain")
    both([*add, "--observed-at", "soon"], "--observed-at 'soon'")
    both([*add, "--detail", "no-equals"], "key=value")


def test_winback_commands_refuse_bad_input(population: Path) -> None:
    both(["winback", "run", "--on", "tomorrow"], "--on 'tomorrow' is not a date")
    both(["winback", "rates", "--as-of", "2031-13-01"], "--as-of")
    both(["winback", "won-back", "C-NOPE", "--on", "2031-07-01", "--by", "a@x.example"], "C-NOPE")
    both(
        ["winback", "won-back", "C-00000001", "--on", "1999-01-01", "--by", "a@x.example"], "before"
    )
    both(["winback", "approve", "W-NOPE", "--by", "a@x.example"], "unknown outreach")
    both(["winback", "opt-out", "NOPE", "--by", "a@x.example"], "unknown account")
    both(["winback", "outreach", "--night", "june"], "--night 'june'")


def test_won_back_rates_and_opt_out(population: Path) -> None:
    done = cli(
        "winback", "won-back", "C-00000002", "--on", "2031-06-20", "--by", "ops@example.com",
        "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["won_back_on"] == "2031-06-20"
    rates = json.loads(cli("winback", "rates", "--as-of", "2034-07-01", "--json").stdout)
    assert [r["months"] for r in rates] == [12, 24, 36]
    assert all(r["churned"] > 0 and 0 < r["won_back"] <= r["churned"] for r in rates)
    text = cli("winback", "rates", "--as-of", "2034-07-01")
    assert text.exit_code == 0 and "Win-back rate" in text.stdout
    out = cli("winback", "opt-out", "A0000004", "--by", "ops@example.com", "--clean-break")
    assert out.exit_code == 0 and "no win-back contact" in out.stdout
    with session_scope(get_settings().db_url) as s:
        actions = set(s.scalars(select(AuditRow.action)))
    assert {"won_back", "winback_preference", "signals_ingested"} <= actions


def test_tonight_is_in_the_configured_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The nightly run's date is the date where the team works (UTC+14 and UTC-11 never
    share a date), and the deployment's cron uses the same settings."""
    from deployments.serve import deployments
    from tasks.winback import tonight

    dates = {}
    for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        monkeypatch.setenv("OFFBOARDING_WINBACK_TIMEZONE", tz)
        monkeypatch.setenv("OFFBOARDING_WINBACK_CRON", "30 1 * * *")
        get_settings.cache_clear()
        dates[tz] = tonight()
        nightly = next(d for d in deployments() if d.name == "winback-nightly")
        assert [(s.schedule.cron, s.schedule.timezone) for s in nightly.schedules] == [
            ("30 1 * * *", tz)
        ]
    get_settings.cache_clear()
    assert (dates["Pacific/Kiritimati"] - dates["Pacific/Pago_Pago"]).days in (1, 2)  # 25 h apart
