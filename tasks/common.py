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

#: IntegrityError is a lost race on an idempotency key: the retry finds the work done.
TRANSIENT = (OperationalError, IntegrityError, ConnectionError, TimeoutError)


def is_transient(exc: BaseException) -> bool:
    """Retry what a second try can fix (locks, dropped connections, 5xx, throttling)."""
    if isinstance(exc, TRANSIENT):
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
