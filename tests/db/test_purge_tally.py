"""§6 deletion certificate on a real database and a real Prefect server: a purge whose erase of
the orchestrator's copies fails half-way still certifies everything it deleted, because each
try's deletions are kept on the purge row and added up by the next try."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate
from prefect.testing.utilities import prefect_test_harness

import tasks.orchestrator_erasure as erasure
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models.export import PurgeRow
from tasks.purge import _erase_orchestrator
from tests.integration.comms_env import comms_env, open_test_case


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def env(db_url: str, tmp_path: Path, prefect_server: None) -> Iterator[Path]:
    with comms_env(tmp_path, db_url):
        yield tmp_path


@flow(name="tally-probe")
def _probe() -> None:
    """Only its definition is used: runs are created for it, never executed."""


def _case_in_prefect(case_id: str) -> None:
    """One run of the case with three run inputs (what deciders typed) and one artifact."""
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(_probe, tags=[f"case:{case_id}"])
        for n in range(3):
            client.create_flow_run_input(run.id, f"decision-{n}", '"typed by a person"')
        client.create_artifact(
            ArtifactCreate(key=f"case-{case_id.lower()}", type="markdown", data="x")
        )


def _purge_started(case_id: str) -> None:
    with session_scope(get_settings().db_url) as s:
        s.add(
            PurgeRow(
                case_id=case_id,
                account_id="ACME-SMB",
                status="started",
                trigger="manual",
                prefix="exports/ACME-SMB/",
                inventory=[],
                started_at=utcnow(),
            )
        )


def test_a_retried_erase_certifies_what_every_try_deleted(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = open_test_case("ACME-SMB", f"TALLY-{env.name[-6:]}")
    _case_in_prefect(case_id)
    _purge_started(case_id)
    real = erasure._gone_or_deleted
    calls = {"n": 0}

    def fails_after_two(delete, *args):  # noqa: ANN001, ANN002, ANN202
        calls["n"] += 1
        if calls["n"] > 2:
            raise ConnectionError("the Prefect API went away mid-erase")
        return real(delete, *args)

    monkeypatch.setattr(erasure, "_gone_or_deleted", fails_after_two)
    with pytest.raises(ConnectionError):
        _erase_orchestrator(case_id, None)
    with session_scope(get_settings().db_url) as s:
        assert s.get(PurgeRow, case_id).orchestrator_erased == {
            "run_inputs_deleted": 2,
            "artifacts_deleted": 0,
        }
    monkeypatch.setattr(erasure, "_gone_or_deleted", real)
    second = _erase_orchestrator(case_id, None)
    assert (second["run_inputs_deleted"], second["artifacts_deleted"]) == (3, 1)
    # a third try finds everything gone and still certifies the same, never more
    third = _erase_orchestrator(case_id, None)
    assert (third["run_inputs_deleted"], third["artifacts_deleted"]) == (3, 1)
    assert third["flow_runs"] == 1
