"""The core cases of the embedded suite, run unchanged on the production stack: a full case with
suspend and resume, a duplicate request, a refused approver, an escalation, a killed worker."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.conftest import budget
from tests.e2e.test_offboarding_flow import (  # noqa: F401 - collected here, on this stack
    test_duplicate_request_is_one_case,
    test_no_decision_in_time_escalates_and_never_proceeds,
    test_refused_approver_is_recorded_and_asked_again,
    test_strategic_case_runs_the_whole_playbook,
    test_worker_killed_mid_run_finishes_without_repeats,
)

pytestmark = pytest.mark.integration


def test_the_stack_is_the_production_topology(stack) -> None:
    from offboard.stack_production import CASES_QUEUE, POOL

    env = stack.env
    assert env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
    assert env["OFFBOARDING_DATABASE_URL"].startswith("postgresql+psycopg2://")
    assert env["PREFECT_MESSAGING_BROKER"] == "prefect_redis.messaging"
    pool = httpx.get(f"{stack.api_url}/work_pools/{POOL}", timeout=10).json()
    assert pool["type"] == "process"
    deadline = time.monotonic() + budget(runs=1)
    while True:
        workers = httpx.post(f"{stack.api_url}/work_pools/{POOL}/workers/filter", timeout=10)
        online = [w for w in workers.json() if w["status"] == "ONLINE"]
        if len(online) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(online) >= 2
    names = {d["name"] for d in httpx.post(f"{stack.api_url}/deployments/filter", json={}).json()}
    from deployments.serve import DEPLOYMENT_NAMES

    assert names >= DEPLOYMENT_NAMES
    # a case's own runs are taken before the background ones: queue `cases` goes first
    queues = httpx.post(f"{stack.api_url}/work_pools/{POOL}/queues/filter", json={}, timeout=10)
    priority = {q["name"]: q["priority"] for q in queues.json()}
    assert priority[CASES_QUEUE] < priority["default"], priority
    deployments = httpx.post(f"{stack.api_url}/deployments/filter", json={}, timeout=10).json()
    by_name = {d["name"]: d for d in deployments}
    assert by_name["offboarding"]["work_queue_name"] == CASES_QUEUE
    assert by_name["offboarding-stages"]["work_queue_name"] == "default"
    autos = httpx.post(f"{stack.api_url}/automations/filter", json={}, timeout=10).json()
    zombie = [a for a in autos if a["name"].startswith("offboarding: crash zombie")]
    assert zombie and "prefect.flow-run.Suspended" in zombie[0]["trigger"]["expect"]
