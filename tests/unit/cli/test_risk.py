"""`offboard sample-data`, `risk list | show | resolve`, `karte` and `show CASE`: the at-risk
queue and the retention karte from the CLI, text and --json; resolve acts as the API token's
owner, never as a typed name. In-process, SQLite in a temporary state folder; the scan runs
as its tasks' functions (the deployed flow is the e2e test's)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offboard.cli import app
from offboard.service.tokens import token_for
from offboarding.settings import get_settings
from offboarding.storage.db import engine_for
from tests.unit.cli.test_cli_bad_input import assert_clean_error, assert_json_error

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[3] / "offboarding" / "sample_data" / "accounts.json"


def cli(*args: str):  # noqa: ANN201
    return runner.invoke(app, list(args))


@pytest.fixture
def scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "state"
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(state))
    monkeypatch.setenv("OFFBOARDING_OUTBOX_DIR", str(state / "outbox"))
    for var in ("OFFBOARDING_DATABASE_URL", "OFFBOARDING_POLICY_FILE", "PREFECT_API_URL",
                "OFFBOARDING_TOKEN", "OFFBOARDING_TOKEN_FILE", "OFFBOARDING_CATALOGUE_FILE",
                "OFFBOARDING_SENDGRID_API_KEY"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    assert cli("accounts", "import", str(SAMPLE)).exit_code == 0
    made = cli("sample-data", "--accounts", "7", "--usage-rows", "700", "--json")
    assert made.exit_code == 0, made.output
    meta = json.loads(made.stdout)
    assert len(meta["planted"]) == 7 and "product/usage_events" in meta["files"]
    from tasks.early_warning import alert_owners, scan_accounts

    assert len(scan_accounts.fn(date.fromisoformat(meta["product_day"]))["opened"]) == 7
    assert len(alert_owners.fn()["sent"]) == 7
    yield state
    engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()


def test_risk_list_and_show(scanned: Path) -> None:
    rows = json.loads(cli("risk", "list", "--json").stdout)
    assert len(rows) == 7 and rows[0]["priority"] in ("high", "critical")
    assert {r["account_id"] for r in rows} == {
        "GLOBEX-ENT",
        "INITECH-MM",
        "UMBRELLA-MM",
        "ACME-SMB",
    }
    mine = json.loads(cli("risk", "list", "--owner", "dana.lee@example.com", "--json").stdout)
    assert {r["cause"] for r in mine} == {"usage_drop", "failed_login_burst", "champion_inactive"}
    text = cli("risk", "list")
    assert text.exit_code == 0 and "GLOBEX" in text.stdout
    shown = json.loads(cli("risk", "show", "INITECH-MM", "--json").stdout)
    assert {e["cause"] for e in shown["episodes"]} == {r["cause"] for r in mine}
    assert shown["karte"]["usage_trend"] in ("steady", "declining")
    out = cli("risk", "show", "INITECH-MM").stdout
    assert "first sentence:" in out and "Retention karte" in out
    assert_clean_error(cli("risk", "show", "NOPE"), "unknown account 'NOPE'")
    assert_json_error(cli("risk", "list", "--status", "maybe", "--json"), "--status 'maybe'")


def test_resolve_acts_as_the_tokens_owner(scanned: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_clean_error(cli("risk", "resolve", "INITECH-MM", "--note", "x"), "token")
    monkeypatch.setenv("OFFBOARDING_TOKEN", token_for("dana.lee@example.com", {}))
    get_settings.cache_clear()
    typed = cli("risk", "resolve", "INITECH-MM", "--note", "x", "--by", "sam.carter@example.com")
    assert_clean_error(typed, "is not you")
    done = cli("risk", "resolve", "INITECH-MM", "--note", "SSO fixed", "--cause",
               "failed_login_burst", "--json")  # fmt: skip
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["resolved_by"] == "dana.lee@example.com"
    assert [(r["cause"], r["resolution_note"]) for r in body["resolved"]] == [
        ("failed_login_burst", "SSO fixed")
    ]
    assert_json_error(
        cli("risk", "resolve", "INITECH-MM", "--note", "again", "--cause", "failed_login_burst",
            "--json"),
        "no open at-risk episode",
    )  # fmt: skip
    assert len(json.loads(cli("risk", "list", "--json").stdout)) == 6


def test_karte_and_show_case(scanned: Path) -> None:
    k = json.loads(cli("karte", "SAKURA-JP", "--json").stdout)
    assert k["seasonal"] and k["pattern"]["name"] == "seasonal subscriber"
    assert len(k["weekly_usage"]) == 12 and sum(k["weekly_usage"]) > 0
    text = cli("karte", "GLOBEX-ENT").stdout
    assert "Talk track" in text and "ticket_cluster (high)" in text
    from tests.integration.comms_env import open_test_case

    case_id = open_test_case("GLOBEX-ENT", "CLI-KARTE")
    view = json.loads(cli("show", case_id, "--json").stdout)
    assert view["karte"]["account_id"] == "GLOBEX-ENT"
    assert "Retention karte" in cli("show", case_id).stdout
    assert_clean_error(cli("karte", "NOPE"), "unknown account 'NOPE'")
