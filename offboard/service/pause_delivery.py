"""Deliver a decision to a suspended run: delivered, or said plainly that it was not.

A run can stop being paused between the moment a caller sees it paused and the moment the
resume reaches the server: the recovery restarts a run that failed, a retried HTTP call finds
its own first attempt already took, another approver was quicker. Prefect's `resume_flow_run`
raises "isn't paused" for the first read and silently ignores the server's ABORT for the
second, so neither tells the caller whether the input arrived. Here the run's stored response
decides: ours -> delivered; someone else's -> said; none -> the pause is awaited again.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from offboarding.cases.store import OffboardingError

#: how long a decision waits for its run to stand paused with its form stored: a busy Prefect
#: server on SQLite has been seen to stall its writes for ~65 s (its busy timeout is 60 s), and a
#: decision given meanwhile must still arrive, so allow several such stalls
PAUSE_WAIT_SECONDS = 180.0

#: How long a decision waits for the form's description once the run stands Suspended with
#: its schema: the suspending process stores it last, just before it exits; a process that
#: stalled or died there must not keep the decision from the run for ever
PROCESS_GRACE_SECONDS = 60.0


def _stored(client: Any, run_id: str, key: str) -> Any:  # noqa: ANN401 - a run input's value
    """The run input stored under `key`, or None."""
    from httpx import HTTPStatusError
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_flow_run_input(UUID(run_id), key)
    except ObjectNotFound:
        return None
    except HTTPStatusError as exc:
        if exc.response.status_code != 404:
            raise
        return None


def _paused_for(run: Any, key: str | None) -> dict[str, str] | None:  # noqa: ANN401
    """The run's input keyset when it stands paused (for `key`, when one is given)."""
    if not (run.state and run.state.is_paused()):
        return None
    if key is not None and run.state.state_details.pause_key not in (None, key):
        return None  # paused for an earlier or a later decision, not this one
    return run.state.state_details.run_input_keyset or {}


def _wait_until_paused(
    run_id: str, timeout: float = PAUSE_WAIT_SECONDS, key: str | None = None
) -> dict[str, str]:
    """Wait until the run is paused (for `key`) *and* its input form is stored; its keyset.

    The form's schema is stored before the run is Suspended (`flows/suspension.py`), its
    description right after; the description also says the suspending process is done, so it
    is awaited for `PROCESS_GRACE_SECONDS` (a resume while the process still holds the run
    has stopped Prefect workers), then the decision goes ahead on the schema alone.
    """
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    schema_seen: float | None = None
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(UUID(run_id))
            keyset = _paused_for(run, key)
            if keyset is not None:
                if not keyset:
                    return keyset
                if schema_seen is None and _stored(client, run_id, keyset["schema"]) is not None:
                    schema_seen = time.monotonic()
                if schema_seen is not None and (
                    _stored(client, run_id, keyset["description"]) is not None
                    or time.monotonic() - schema_seen > PROCESS_GRACE_SECONDS
                ):
                    return keyset
            if time.monotonic() > deadline:
                raise OffboardingError(
                    f"decision NOT delivered: after {timeout:.0f}s run {run_id} is "
                    f"{run.state.name if run.state else 'unknown'} and not yet waiting for input "
                    "(a busy Prefect server); nothing was recorded, give it again in a moment"
                )
            time.sleep(0.5)


def deliver(run_id: str, key: str, run_input: dict[str, Any], timeout: float) -> None:
    """Resume the run, paused for `key`, with this input; return once the server took it.

    Raises `OffboardingError` when the server rejects the input, when someone else's answer
    reached the run first, or when the run did not stand paused within `timeout`."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.responses import SetStateStatus

    deadline = time.monotonic() + timeout
    while True:
        keyset = _wait_until_paused(run_id, max(1.0, deadline - time.monotonic()), key)
        with get_client(sync_client=True) as client:
            response = client.resume_flow_run(UUID(run_id), run_input=run_input)
            if response.status == SetStateStatus.ACCEPT:
                return
            if response.status == SetStateStatus.REJECT:
                if response.state and response.state.is_failed():
                    raise OffboardingError(f"decision NOT delivered: run {run_id} has failed")
                reason = response.details.reason if response.details else response.status
                raise OffboardingError(f"the server rejected the input: {reason}")
            # ABORT: no longer paused. Did an earlier attempt of ours take, or someone else's?
            stored = _stored(client, run_id, keyset["response"]) if keyset else None
        if stored is not None:
            import orjson

            if orjson.loads(stored) == orjson.loads(orjson.dumps(run_input)):
                return
            raise OffboardingError(
                f"decision NOT delivered: {key} was answered by someone else first"
            )
        if time.monotonic() > deadline:
            raise OffboardingError(
                f"decision NOT delivered: run {run_id} stopped waiting for {key} before the "
                "answer arrived and did not wait again in time; give it again in a moment"
            )
        time.sleep(1.0)
