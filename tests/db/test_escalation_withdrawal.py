"""A decision withdraws its scheduled deadline check once; a check already gone (a DELETE sent
again by Prefect's client after its first answer was lost under load) is withdrawn, not a
failure that fails the case's run (seen in a 100-case burst: `ObjectNotFound` from DELETE)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

import httpx
import prefect.client.orchestration as orchestration
import pytest
from prefect.exceptions import ObjectNotFound

from offboarding.cases.store import step_result
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from tasks.decisions import withdraw_escalation_check
from tests.integration.comms_env import comms_env, open_test_case


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Path:
    with comms_env(tmp_path, db_url):
        yield tmp_path


class GoneAlready:
    """The API as seen by a retried DELETE: the run is listed, and already deleted."""

    def __init__(self) -> None:
        self.deleted: list = []
        self.run = SimpleNamespace(id=uuid4(), parameters={"input_key": "verification"})

    def read_deployment_by_name(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(id=uuid4())

    def read_flow_runs(self, **_: object) -> list:
        return [self.run]

    def delete_flow_run(self, run_id) -> None:  # noqa: ANN001
        self.deleted.append(run_id)
        request = httpx.Request("DELETE", f"http://prefect/api/flow_runs/{run_id}")
        raise ObjectNotFound(http_exc=httpx.HTTPStatusError("404", request=request, response=None))


def test_a_check_deleted_already_counts_as_withdrawn(env: Path, monkeypatch) -> None:  # noqa: ANN001
    api = GoneAlready()

    @contextmanager
    def client(sync_client: bool = False):  # noqa: ANN202
        yield api

    monkeypatch.setattr(orchestration, "get_client", client)
    case_id = open_test_case("ACME-SMB", "WITHDRAW-GONE")
    assert withdraw_escalation_check.fn(case_id, "verification") == 1
    assert api.deleted == [api.run.id]
    with session_scope(get_settings().db_url) as s:
        assert step_result(s, case_id, "escalation_withdrawn:verification") == {"withdrawn": 1}
    assert withdraw_escalation_check.fn(case_id, "verification") == 1  # once per wait
    assert len(api.deleted) == 1
