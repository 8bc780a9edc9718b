"""One embedded stack per test session: a real Prefect server, a real SeaweedFS S3 server and
our deployments served by a runner process, exactly as `offboard up` runs them."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from offboard.stack import Stack

SAMPLE = Path(__file__).resolve().parents[2] / "offboarding" / "sample_data"
DAY_SECONDS = 0.25
POLICY = """
approvals:
  decision_timeout_days: {timeout}
  roles:
    manager: [maya.manager@example.com, cs-lead@example.com]
    legal: [lena.legal@example.com]
"""


def write_policy(path: Path, timeout_days: float) -> Path:
    path.write_text(POLICY.format(timeout=timeout_days), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    saved = dict(os.environ)
    state = tmp_path_factory.mktemp("stack")
    policy = write_policy(state / "policy.yaml", 2000)  # 500 s: no escalation by accident
    st = Stack(state, day_seconds=DAY_SECONDS, extra_env={"OFFBOARDING_POLICY_FILE": str(policy)})
    st.start()
    from offboard.service import import_accounts

    import_accounts(SAMPLE / "accounts.json")
    yield st
    st.stop()
    os.environ.clear()
    os.environ.update(saved)
    from offboarding.settings import get_settings

    get_settings.cache_clear()


def restart_runner(stack: Stack, **env: str) -> None:
    """Stop the runner (killing its flow-run processes) and start it with extra env."""
    stack.kill_runner()
    os.environ.pop("OFFBOARDING_CHAOS_HOLD", None)
    stack.extra_env = {
        k: v for k, v in stack.extra_env.items() if k not in ("OFFBOARDING_CHAOS_HOLD",)
    } | env
    stack.apply_env()
    stack.start_runner()


def request(account_id: str, by: str, ref: str, reason: str = "") -> dict:
    from offboard.service import submit_request
    from offboarding.domain import CancellationRequest

    return submit_request(
        CancellationRequest(
            account_id=account_id,
            requested_by=by,
            requested_at=datetime.now(UTC),
            reason_text=reason,
            external_ref=ref,
        )
    )


def wait_waiting(case_id: str, prefix: str, timeout: float = 180):
    from offboard.service import wait_for

    return wait_for(case_id, lambda c: (c.waiting_for or "").startswith(prefix), timeout)


def verify_payload(by: str, **kw) -> dict:
    return {"decided_by": by, "is_cancellation": True, "reason": "other", **kw}
