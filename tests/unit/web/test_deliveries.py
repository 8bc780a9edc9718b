"""The decision page answers within seconds however long the delivery takes: the outcome when
it is known, else a page that refreshes itself until the run has recorded it; a delivery that
failed may be given again, and a second POST while one is on its way joins it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from offboard.web import app as web_app
from offboard.web import deliveries


@pytest.fixture
def slow_resume(monkeypatch: pytest.MonkeyPatch):
    """resume_with that waits for the test's go, then answers as the run would have."""
    go, calls = threading.Event(), []

    def resume_with(case_id, key, run_id, run_input, wait):  # noqa: ANN001, ANN202
        calls.append((case_id, key))
        assert go.wait(30)
        if run_input.get("boom"):
            raise RuntimeError("server went away")
        return {"case_id": case_id, "input_key": key, "accepted": True,
                "decision": "verified", "why": "", "status": "awaiting_approval"}  # fmt: skip

    monkeypatch.setattr(deliveries, "resume_with", resume_with)
    monkeypatch.setattr(deliveries, "_deliveries", {})
    return go, calls


def test_a_slow_delivery_answers_at_once_then_the_outcome(slow_resume):
    go, calls = slow_resume
    first = deliveries.deliver("tok-1", "C-1", "verification", "run", {})
    assert asyncio.run(deliveries.outcome_within(first, 0.2)) is None  # still on its way
    page = web_app._outcome_page("tok-1", None)
    assert b'id="pending"' in page.body and b"/decide/tok-1/outcome" in page.body
    assert b'id="done"' not in page.body and b'id="error"' not in page.body
    again = deliveries.deliver("tok-1", "C-1", "verification", "run", {})
    assert again is first and len(calls) == 1  # a second POST joins the first delivery
    go.set()
    result = asyncio.run(deliveries.outcome_within(first, 10))
    done = web_app._outcome_page("tok-1", result)
    assert b'id="done"' in done.body and b"awaiting_approval" in done.body


def test_a_failed_delivery_is_told_and_may_be_given_again(slow_resume):
    go, calls = slow_resume
    go.set()
    failed = deliveries.deliver("tok-2", "C-2", "verification", "run", {"boom": True})
    with pytest.raises(RuntimeError):
        asyncio.run(deliveries.outcome_within(failed, 10))
    assert isinstance(deliveries.delivery_error("tok-2"), RuntimeError)
    retried = deliveries.deliver("tok-2", "C-2", "verification", "run", {})
    assert retried is not failed
    assert asyncio.run(deliveries.outcome_within(retried, 10))["accepted"] is True
    assert len(calls) == 2
    assert deliveries.delivery_error("tok-2") is None
