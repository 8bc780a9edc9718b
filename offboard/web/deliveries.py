"""A decision posted on the page is delivered to its run in the background.

Delivering means waiting until the run stands Suspended with its form, resuming it, and
waiting until the restarted run has recorded the decision. On a busy server that takes
minutes, and a browser (and a person) should not hang on one request that long: the page
answers within `ANSWER_WITHIN` seconds, with the outcome when it is known, else with a page
that refreshes itself until it is (`/decide/{token}/outcome`).
"""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from offboard.service.case_runs import resume_with

#: How long the POST waits for the outcome before it answers with the self-refreshing page.
ANSWER_WITHIN = 15.0
#: How long a delivery waits for the run to record the decision once resumed.
RECORD_WAIT = 120.0

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="decision-delivery")
_deliveries: dict[str, Future] = {}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def deliver(token: str, case_id: str, key: str, run_id: str, run_input: dict[str, Any]) -> Future:
    """Start delivering (once per link: a second POST while one is on its way joins it; one
    that failed may be given again)."""
    digest = _digest(token)
    running = _deliveries.get(digest)
    if running is not None and not (running.done() and running.exception() is not None):
        return running
    for old in [d for d, f in _deliveries.items() if f.done()][:-100]:  # keep the map small
        _deliveries.pop(old, None)
    future = _pool.submit(resume_with, case_id, key, run_id, run_input, RECORD_WAIT)
    _deliveries[digest] = future
    return future


async def outcome_within(future: Future, seconds: float = ANSWER_WITHIN) -> dict[str, Any] | None:
    """The delivery's result if it ends within `seconds` (its error is raised), else None."""
    try:
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), seconds)
    except TimeoutError:
        return None


def delivery_error(token: str) -> BaseException | None:
    """Why this link's delivery failed, if it did (in this process)."""
    future = _deliveries.get(_digest(token))
    if future is None or not future.done():
        return None
    return future.exception()
