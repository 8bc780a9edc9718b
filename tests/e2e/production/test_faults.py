"""Faults on the production topology, each while cases are in flight: every PostgreSQL
connection dropped (`pg_terminate_backend`), and the Prefect server restarted. Every case
finishes and no side effect repeats."""

from __future__ import annotations

import time

import pytest

from offboard.service import case_view, wait_for
from tests.e2e.conftest import budget, decide, request, verify_payload, wait_waiting
from tests.e2e.test_offboarding_flow import message_counts, stage_done
from tests.e2e.test_trust_boundary import trust_account

pytestmark = pytest.mark.integration

ONCE = ("acknowledgement", "offboarding_plan", "export_ready", "access_change_notice")


def _open_and_verify(account_id: str, tmp_path) -> str:  # noqa: ANN001
    trust_account(tmp_path, account_id)
    base = account_id.lower()
    opened = request(account_id, f"ada@{base}.example", f"E2E-{account_id}", "too expensive")
    case_id = opened["case_id"]
    wait_waiting(case_id, "verification")
    payload = verify_payload(
        "dana.lee@example.com", reason="cost", customer_declines_sales_conversation=True
    )
    decide(case_id, "verify", payload, wait=0)
    return case_id


def _finish(case_ids: list[str]) -> None:
    from tasks.recovery import restart_failed_runs

    deadline = time.monotonic() + budget(runs=7)
    while time.monotonic() < deadline:
        restart_failed_runs.fn()  # what the every-5-minutes recovery does, without the wait
        views = {c: case_view(c) for c in case_ids}
        if all(any(s["stage"] == "access_reduction" and s["status"] == "done"
                   for s in v["stages"]) for v in views.values()):  # fmt: skip
            break
        time.sleep(5)
    for case_id in case_ids:
        wait_for(case_id, stage_done("access_reduction"), budget(runs=1), fail_fast=False)
        counts = message_counts(case_id)
        for kind in ONCE:
            assert counts.get(kind) == 1, (case_id, kind, counts)


def test_every_database_connection_dropped_mid_flight(stack, tmp_path) -> None:
    import psycopg2

    cases = [_open_and_verify(f"PGDROP{i}", tmp_path) for i in range(2)]
    admin = psycopg2.connect(stack.pg_admin)
    admin.autocommit = True
    dropped = 0
    try:
        with admin.cursor() as cur:
            for _ in range(6):  # for ~6 s, while the cases export and schedule their stages
                cur.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                    (list(stack.databases),),
                )
                dropped += cur.fetchone()[0]
                time.sleep(1)
    finally:
        admin.close()
    assert dropped > 0, "no connection was dropped: the fault did not happen"
    _finish(cases)


def test_the_prefect_server_restarted_mid_flight(stack, tmp_path) -> None:
    cases = [_open_and_verify(f"RESTART{i}", tmp_path) for i in range(2)]
    stack._server.terminate()  # while the cases export and schedule their stages
    stack._server.wait(60)
    stack.start_server()  # same port, same database: the workers reconnect
    _finish(cases)
