"""Vendor calls made exactly once: the intent row first, then the call, then its result.

Every adapter (Stripe, the CRM, SCIM, Slack, webhook endpoints) goes through `call_once`, so
all of them share one behaviour: a 429 waits for Retry-After, 5xx and dropped connections
retry with backoff (the task's retry policy), a 4xx marks the case `needs_attention` with the
vendor's message and is never retried blindly, and a rerun after a crash finds the result
(or replays the call with the same idempotency key) instead of acting twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from offboarding.cases.store import audit
from offboarding.integrations import ledger
from offboarding.integrations.errors import CallBlocked, VendorRefused, VendorUnavailable
from tasks.common import db

ACTOR = "integrations"
#: A Retry-After up to this long is waited out inside the task; longer ones end the try.
MAX_INLINE_WAIT = 30.0

Call = Callable[[str], dict[str, Any]]
Reconcile = Callable[[str], dict[str, Any] | None]


def idempotency_key(case_id: str, vendor: str, step: str) -> str:
    """Our (case, step) key, also sent as the vendor's idempotency key where it has one."""
    return f"offboarding-{case_id}-{vendor}-{step}"[:200]


def call_once(
    case_id: str,
    vendor: str,
    step: str,
    request: dict[str, Any],
    call: Call,
    *,
    replay_safe: bool = True,
    reconcile: Reconcile | None = None,
) -> dict[str, Any]:
    """Make `call(key)` once for (vendor, case, step) and return what the vendor answered.

    `request` is a summary for the ledger (never a secret). `reconcile(key)` looks for the
    call's own effect at the vendor; after a lost worker it is asked first, so a call that is
    not replay-safe is still made at most once.
    """
    key = idempotency_key(case_id, vendor, step)
    claimed = _claim(case_id, vendor, step, key, request, replay_safe or reconcile is not None)
    if isinstance(claimed, ledger.Done):
        return claimed.result
    if claimed.replay and reconcile is not None:
        found = reconcile(claimed.key)
        if found is not None:
            _finish(claimed, case_id, vendor, step, {**found, "reconciled": True})
            return {**found, "reconciled": True}
    try:
        result = call(claimed.key)
    except VendorUnavailable as exc:
        with db() as s:
            ledger.defer(s, claimed, exc)
        raise
    except VendorRefused as exc:
        with db() as s:
            why = ledger.refuse(s, claimed, exc)
            audit(s, case_id, ACTOR, "vendor_call_refused", f"{vendor} {step}", why)
        raise CallBlocked(why) from exc
    _finish(claimed, case_id, vendor, step, result)
    return result


def _claim(
    case_id: str, vendor: str, step: str, key: str, request: dict[str, Any], replay_safe: bool
) -> ledger.Claim | ledger.Done:
    deadline = time.monotonic() + MAX_INLINE_WAIT
    while True:
        try:
            with db() as s:
                result = ledger.claim(s, case_id=case_id, vendor=vendor, step=step, key=key,
                                      request=request, replay_safe=replay_safe)  # fmt: skip
                if isinstance(result, ledger.Blocked):
                    audit(s, case_id, ACTOR, "vendor_call_blocked", f"{vendor} {step}",
                          result.reason)  # fmt: skip
        except IntegrityError as exc:
            raise ledger.CallInFlight(f"{vendor} {step} for {case_id} was claimed") from exc
        except ledger.CallNotYet as exc:
            if time.monotonic() + exc.wait_seconds > deadline:
                raise
            time.sleep(exc.wait_seconds)
            continue
        if isinstance(result, ledger.Blocked):
            raise CallBlocked(result.reason)
        return result


def _finish(
    claimed: ledger.Claim, case_id: str, vendor: str, step: str, result: dict[str, Any]
) -> None:
    """Record the vendor's acceptance, retrying a flaky database a few times; if this still
    fails the row stays `calling` and the next try replays or reconciles, never acts blind."""
    for attempt in range(6):
        try:
            with db() as s:
                ledger.complete(s, claimed, result)
                audit(s, case_id, ACTOR, "vendor_call_done", f"{vendor} {step}",
                      data={"key": claimed.key})  # fmt: skip
            return
        except OperationalError:
            if attempt == 5:
                raise
            time.sleep(0.2 * 2**attempt)
