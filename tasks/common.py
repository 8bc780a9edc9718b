"""What every task shares: a database session, the transient-fault retry policy, run links.

Tasks re-check our database before acting (the idempotency key is case + step), so a task
that runs again after a restart or a resume finds its work done and repeats nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.tasks import exponential_backoff
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from offboarding.settings import get_settings
from offboarding.storage.db import session_scope

#: The actor recorded in the audit log for what the offboarding flow does by itself.
FLOW = "offboarding-flow"

#: IntegrityError is a lost race on an idempotency key: the retry finds the work done.
TRANSIENT = (OperationalError, IntegrityError, ConnectionError, TimeoutError)


def _orchestration_transient(exc: BaseException) -> bool:
    """A busy Prefect API (503 from `create_flow_run`, a slot it could not grant, a dropped
    connection) is a transient fault like any other: a case must not fail on it."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status >= 500 or status in (408, 429)
    if isinstance(exc, httpx.TransportError):
        return True
    from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError
    from prefect.concurrency.v1._asyncio import (
        ConcurrencySlotAcquisitionError as TagSlotAcquisitionError,
    )

    return isinstance(exc, ConcurrencySlotAcquisitionError | TagSlotAcquisitionError)


def is_transient(exc: BaseException) -> bool:
    """Retry what a second try can fix (locks, dropped connections, 5xx, throttling)."""
    if isinstance(exc, TRANSIENT) or _orchestration_transient(exc):
        return True
    try:
        from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError
    except ImportError:  # pragma: no cover
        return False
    if isinstance(exc, ConnectionClosedError | EndpointConnectionError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = exc.response.get("Error", {}).get("Code", "")
        return status >= 500 or status == 429 or code in {"SlowDown", "Throttling"}
    return False


def _retry_condition(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's hook shape
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we classify, not swallow
        return is_transient(exc)
    return False


#: Keyword arguments for @task: transient faults retry with jittered backoff; logic errors don't.
RETRYING = dict(
    retries=4,
    retry_delay_seconds=exponential_backoff(backoff_factor=0.5),
    retry_jitter_factor=0.2,
    retry_condition_fn=_retry_condition,
    cache_policy=NO_CACHE,
)


@contextmanager
def db() -> Iterator[Session]:
    with session_scope(get_settings().db_url) as session:
        yield session


def run_logger(name: str):  # noqa: ANN201 - a logging.Logger or Prefect's run adapter
    """The run's logger inside a run, the named module logger outside one (tests, the CLI)."""
    import logging

    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(name)


def current_flow_run_id() -> str | None:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None


def chaos_hold(step: str) -> None:
    """Test hook: OFFBOARDING_CHAOS_HOLD="step:seconds" holds a step so a test can kill the
    worker at a known point. Unset in normal use."""
    spec = os.environ.get("OFFBOARDING_CHAOS_HOLD", "")
    for item in filter(None, spec.split(",")):
        name, _, seconds = item.partition(":")
        if name == step:
            time.sleep(float(seconds or 30))


def chaos_fail(step: str) -> None:
    """Test hook: OFFBOARDING_CHAOS_FAIL="step,..." makes a step fail the way a busy Prefect API
    made it fail in a burst (a concurrency slot it could not grant), on every try, so a test can
    see the run fail and the recovery restart it. Unset in normal use."""
    if step in os.environ.get("OFFBOARDING_CHAOS_FAIL", "").split(","):
        from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError

        raise ConcurrencySlotAcquisitionError(
            f"Unable to acquire concurrency slots on ['{step}']: 503 Service Unavailable (chaos)"
        )
