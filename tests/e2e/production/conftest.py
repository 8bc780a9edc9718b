"""The e2e core cases again, on the production topology (`offboard up --production`): Prefect on
PostgreSQL with Redis messaging, our database on PostgreSQL, a process work pool with the
deployments of prefect.yaml, and two workers. The `stack` fixture here replaces the embedded
one for the tests of this folder; it lives as long as their module."""

from __future__ import annotations

import pytest

from offboard.stack_production import ProductionStack
from tests.e2e.conftest import running_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    yield from running_stack(ProductionStack, tmp_path_factory.mktemp("production"))
