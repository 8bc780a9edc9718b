"""One embedded stack per test session: a real Prefect server, a real SeaweedFS S3 server and
our deployments served by a runner process, exactly as `offboard up` runs them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from offboard.stack import Stack

SAMPLE = Path(__file__).resolve().parents[2] / "offboarding" / "sample_data"
DAY_SECONDS = 0.25
#: What one flow run may take here from scheduled to done on a 2-core machine with a CPU-heavy
#: job beside it (load 6-10): start-up of its process (about 2 CPU-s of imports), its tasks and
#: the runner's poll, with room to spare. Every e2e wait is a `budget` of these and of days.
RUN_SECONDS = 60.0


def budget(days: float = 0.0, runs: int = 2) -> float:
    """How long an e2e wait may last: the simulated days that must pass (DAY_SECONDS each)
    plus the flow runs that must start and finish on the way (RUN_SECONDS each)."""
    return days * DAY_SECONDS + runs * RUN_SECONDS


#: The portal channel's intake secret in the test stack (a test value, not a real secret).
PORTAL_SECRET = "e2e-portal-secret"
#: SendGrid Inbound Parse's credentials in the URL, and a helpdesk's webhook secret (test values).
PARSE_CREDENTIALS = ("parse", "e2e-parse-secret")
HELPDESK_SECRET = "e2e-zendesk-secret"
POLICY = """
approvals:
  decision_timeout_days: {timeout}
  roles:
    manager: [maya.manager@example.com, cs-lead@example.com]
    legal: [lena.legal@example.com]
trust:
  confirmation_days: {confirmation}
"""


def write_policy(path: Path, timeout_days: float, confirmation_days: float = 2000) -> Path:
    text = POLICY.format(timeout=timeout_days, confirmation=confirmation_days)
    path.write_text(text, encoding="utf-8")
    return path


def running_stack(kind: type[Stack], state: Path) -> Iterator[Stack]:
    """A stack of `kind` for the tests (the same env either way), torn down after them with the
    process's environment as it was."""
    saved = dict(os.environ)
    policy = write_policy(state / "policy.yaml", 2000)  # 500 s: no escalation by accident
    env = {
        "OFFBOARDING_POLICY_FILE": str(policy),
        "OFFBOARDING_INTAKE_SECRETS": json.dumps({"portal": PORTAL_SECRET}),
        "OFFBOARDING_INBOUND_PARSE_SECRET": ":".join(PARSE_CREDENTIALS),
        "OFFBOARDING_HELPDESK_SECRETS": json.dumps({"zendesk": HELPDESK_SECRET}),
        # the recovery flow is run by the tests that need it, never behind another test's back
        "OFFBOARDING_RECOVERY_CRON": "",
        # stages share slot runs as in production, in 3-s slots: a 10-s default slot would add
        # up to 10 s to every wait for a stage (test_stage_slots tests the sharing itself)
        "OFFBOARDING_STAGE_SLOT_SECONDS": "3",
    }
    st = kind(state, day_seconds=DAY_SECONDS, extra_env=env)
    st.start()
    try:
        from offboard.service import import_accounts

        import_accounts(SAMPLE / "accounts.json")
        yield st
    finally:
        st.stop()
        os.environ.clear()
        os.environ.update(saved)
        from offboard.stack import refresh_prefect_settings

        refresh_prefect_settings()
        from offboarding.settings import get_settings

        get_settings.cache_clear()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    yield from running_stack(Stack, tmp_path_factory.mktemp("stack"))


def restart_runner(stack: Stack, **env: str) -> None:
    """Stop the runner (killing its flow-run processes) and start it with extra env."""
    stack.kill_runner()
    os.environ.pop("OFFBOARDING_CHAOS_HOLD", None)
    os.environ.pop("OFFBOARDING_CHAOS_FAIL", None)
    stack.extra_env = {
        k: v
        for k, v in stack.extra_env.items()
        if k not in ("OFFBOARDING_CHAOS_HOLD", "OFFBOARDING_CHAOS_FAIL")
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


def wait_waiting(case_id: str, prefix: str, timeout: float = budget(runs=3)):
    from offboard.service import wait_for

    return wait_for(case_id, lambda c: (c.waiting_for or "").startswith(prefix), timeout)


#: Personal API tokens the tests issue themselves, per stack database (`token_for`).
TOKENS: dict[str, dict[str, str]] = {}


def token(person: str) -> str:
    from offboard.service.tokens import token_for

    return token_for(person, TOKENS)


def decide(case_id: str, verb: str, payload: dict, wait: float = budget(runs=2)) -> dict:
    """`offboard.service.decide` as the named decider: with their own token, never a bypass."""
    from offboard.service import decide as decide_with_token

    return decide_with_token(case_id, verb, payload, wait, token(payload["decided_by"]))


def verify_payload(by: str, **kw) -> dict:
    return {"decided_by": by, "is_cancellation": True, "reason": "other", **kw}
