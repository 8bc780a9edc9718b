"""What every test shares: Prefect's settings follow the environment the test leaves behind.

Prefect reads its settings once; a test that points the CLI at a stack (a monkeypatched
PREFECT_API_URL, re-read through `offboard.stack.refresh_prefect_settings`) would otherwise
leave later tests' clients aimed at a server that never existed.
"""

from __future__ import annotations

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
