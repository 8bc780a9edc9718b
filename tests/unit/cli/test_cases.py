"""`offboard show`: its run links point at the UI of the stack the CLI talks to (PREFECT_UI_URL,
PREFECT_API_URL, or a running stack's `stack.env`), never at a constant port.

In-process against SQLite in a temporary state folder; no Prefect server (links are built from
settings, not asked of a server).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offboard.cli import app
from offboard.service.run_links import (
    DEFAULT_UI_URL,
    flow_run_link,
    stack_ui_url,
    ui_url_from_api,
)
from offboarding.cases.store import open_case
from offboarding.domain import CancellationRequest
from offboarding.settings import get_settings
from offboarding.storage.db import engine_for, session_scope
from offboarding.storage.models import StageRow

SAMPLE = Path(__file__).resolve().parents[3] / "offboarding" / "sample_data" / "accounts.json"
STACK_KEYS = ("PREFECT_API_URL", "PREFECT_UI_URL", "OFFBOARDING_UI_URL")
RUN_ID = "0b5e3c1e-0000-4000-8000-000000000001"
STAGE_RUN_ID = "0b5e3c1e-0000-4000-8000-000000000002"

runner = CliRunner()


# --- the link builder ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "ui"),
    [
        ({}, DEFAULT_UI_URL),
        ({"PREFECT_API_URL": "http://127.0.0.1:45123/api"}, "http://127.0.0.1:45123"),
        ({"PREFECT_API_URL": "http://prefect-host:4200/api/"}, "http://prefect-host:4200"),
        (
            {"PREFECT_API_URL": "http://127.0.0.1:45123/api", "PREFECT_UI_URL": "http://ui:8080/"},
            "http://ui:8080",
        ),
        (
            {"PREFECT_UI_URL": "http://ui:8080", "OFFBOARDING_UI_URL": "https://ops.example/p"},
            "https://ops.example/p",
        ),
        ({"PREFECT_API_URL": "  ", "PREFECT_UI_URL": ""}, DEFAULT_UI_URL),
    ],
    ids=["nothing-set", "demo-api", "remote-api", "ui-beats-api", "explicit-setting", "blank"],
)
def test_the_ui_comes_from_the_stack_settings(env: dict[str, str], ui: str) -> None:
    assert stack_ui_url(env) == ui


def test_prefect_cloud_api_maps_to_its_ui() -> None:
    api = "https://api.prefect.cloud/api/accounts/A-1/workspaces/W-2"
    assert ui_url_from_api(api) == "https://app.prefect.cloud/account/A-1/workspace/W-2"


def test_a_run_link_is_the_flow_run_page_or_nothing() -> None:
    assert flow_run_link("http://127.0.0.1:45123/", "abc") == (
        "http://127.0.0.1:45123/runs/flow-run/abc"
    )
    assert flow_run_link("http://127.0.0.1:45123", None) is None


# --- `offboard show` -------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh state folder with the sample accounts and one case whose run and one stage run
    are known; no stack settings in the environment (each test sets its own)."""
    state_dir = tmp_path / "state"
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(state_dir))
    for var in ("OFFBOARDING_DATABASE_URL", "OFFBOARDING_POLICY_FILE", *STACK_KEYS):
        monkeypatch.setenv(var, "")  # so that monkeypatch restores whatever the CLI sets
        monkeypatch.delenv(var)
    get_settings.cache_clear()
    result = runner.invoke(app, ["accounts", "import", str(SAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    yield state_dir
    engine_for(get_settings().db_url).dispose()
    get_settings.cache_clear()


def make_case_with_runs() -> str:
    with session_scope(get_settings().db_url) as s:
        case, _ = open_case(
            s,
            CancellationRequest(
                account_id="ACME-SMB",
                requested_by="ann@acme-bakeries.example",
                requested_at=datetime.now(UTC),
                external_ref="TCK-LINKS",
            ),
        )
        case.flow_run_id = RUN_ID
        s.add(
            StageRow(
                case_id=case.case_id,
                stage="closure",
                due_at=datetime.now(UTC),
                flow_run_id=STAGE_RUN_ID,
                status="scheduled",
            )
        )
        return case.case_id


def show_json(case_id: str) -> dict:
    result = runner.invoke(app, ["show", case_id, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_show_links_to_the_ui_of_the_api_the_shell_points_at(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = make_case_with_runs()
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:45123/api")

    view = show_json(case_id)

    assert view["flow_run"] == f"http://127.0.0.1:45123/runs/flow-run/{RUN_ID}"
    assert [x["run"] for x in view["stages"]] == [
        f"http://127.0.0.1:45123/runs/flow-run/{STAGE_RUN_ID}"
    ]
    text = runner.invoke(app, ["show", case_id])
    assert f"run: http://127.0.0.1:45123/runs/flow-run/{RUN_ID}" in text.stdout


def test_show_links_to_the_running_stack_found_through_its_stack_env(state: Path) -> None:
    """What `offboard up` or the demo (on a free port) writes while it runs."""
    case_id = make_case_with_runs()
    stack_env = {
        "PREFECT_API_URL": "http://127.0.0.1:45124/api",
        "PREFECT_UI_URL": "http://127.0.0.1:45124",
        "OFFBOARDING_UI_URL": "http://127.0.0.1:45124",
        "OFFBOARDING_STATE_DIR": str(state),
    }
    (state / "stack.env").write_text(json.dumps(stack_env), encoding="utf-8")

    assert show_json(case_id)["flow_run"] == f"http://127.0.0.1:45124/runs/flow-run/{RUN_ID}"


def test_show_without_any_stack_settings_links_to_prefects_default_ui(state: Path) -> None:
    case_id = make_case_with_runs()
    assert show_json(case_id)["flow_run"] == f"{DEFAULT_UI_URL}/runs/flow-run/{RUN_ID}"
