"""What every test shares: Prefect's settings follow the environment the test leaves behind.

Prefect reads its settings once; a test that points the CLI at a stack (a monkeypatched
PREFECT_API_URL, re-read through `offboard.stack.refresh_prefect_settings`) would otherwise
leave later tests' clients aimed at a server that never existed.

Prefect's event and log workers are process-wide and outlive the server they send to; one
left aimed at a stopped server hangs the next `prefect_test_harness`, whose exit drains every
worker without a timeout. Each module's workers are drained, with a timeout, when it ends.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys
from collections.abc import Iterator

import pytest


def _prefect_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("PREFECT_")}


@pytest.fixture(autouse=True)
def _prefect_settings_follow_the_environment() -> Iterator[None]:
    before = _prefect_env()
    yield  # torn down after the test's own monkeypatching is undone
    if "prefect" in sys.modules:
        from prefect.settings import get_current_settings

        current = get_current_settings().api.url
        if _prefect_env() != before or (current or None) != (
            os.environ.get("PREFECT_API_URL") or None
        ):
            from offboard.stack import refresh_prefect_settings

            refresh_prefect_settings()


@pytest.fixture(autouse=True, scope="module")
def _prefect_services_drained_per_module() -> Iterator[None]:
    yield
    if "prefect" not in sys.modules:
        return
    from prefect._internal.concurrency.services import _QueueServiceBase

    with _QueueServiceBase._instance_cache_lock:
        services = tuple(_QueueServiceBase._instances.values())
    # draining first forgets the service, so a stuck one no longer blocks later drains
    futures = []
    for service in services:
        try:
            futures.append(service._drain(at_exit=True))
        except (AssertionError, RuntimeError):  # never started
            continue
    concurrent.futures.wait(futures, timeout=30)
