"""PostgreSQL itself restarted mid-flight on the production topology: a server of the test's
own (`tests.pg_server`) holds both Prefect's database and ours; it is stopped as a crash
would stop it (no checkpoint) while cases are in flight, left down for a while and started
again. Every case finishes and no side effect repeats."""

from __future__ import annotations

import os
import time

import pytest

from offboard.stack_production import ProductionStack
from tests.e2e.conftest import running_stack
from tests.e2e.production.test_faults import _finish, _open_and_verify
from tests.pg_server import PrivatePostgres, server_binaries

pytestmark = pytest.mark.integration

#: How long the database stays down: longer than a connection retry, shorter than a run's.
DOWN_SECONDS = 8


@pytest.fixture(scope="module")
def pg():
    if not server_binaries():  # "where the machine allows": CI's machines have them
        pytest.skip("no PostgreSQL server binaries here (/usr/lib/postgresql/*/bin)")
    server = PrivatePostgres().init()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="module")
def stack(pg, tmp_path_factory):
    os.environ["OFFBOARDING_PG_ADMIN_URL"] = pg.admin_url
    try:
        yield from running_stack(ProductionStack, tmp_path_factory.mktemp("pg-restart"))
    finally:
        os.environ.pop("OFFBOARDING_PG_ADMIN_URL", None)


def test_postgresql_restarted_mid_flight(pg, stack, tmp_path) -> None:
    cases = [_open_and_verify(f"PGRESTART{i}", tmp_path) for i in range(2)]
    pg.stop("immediate")  # while the cases export and schedule their stages
    time.sleep(DOWN_SECONDS)
    pg.start()
    _finish(cases)
