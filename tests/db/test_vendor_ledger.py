"""The vendor call ledger on SQLite and PostgreSQL: every adapter's call is made once; a
throttled call waits for Retry-After; a refused one stops and asks a person; a lost worker's
call is replayed with the same key (replay-safe), reconciled, or handed to a person."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from offboarding.cases.store import get_case
from offboarding.integrations import ledger
from offboarding.integrations.errors import (
    CallBlocked,
    VendorRefused,
    VendorThrottled,
    VendorUnavailable,
)
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models.integrations import VendorCallAttemptRow, VendorCallRow
from tasks.integrations import call_once
from tests.integration.comms_env import comms_env, open_test_case


@pytest.fixture
def case_id(db_url: str, tmp_path: Path) -> str:
    with comms_env(tmp_path, db_url):
        yield open_test_case("ACME-SMB", "LEDGER-1")


class Vendor:
    """A stand-in for a vendor: answers in order, counts the calls and the keys it saw."""

    def __init__(self, *answers: object) -> None:
        self.answers, self.keys = list(answers), []

    def __call__(self, key: str) -> dict:
        self.keys.append(key)
        answer = self.answers.pop(0) if self.answers else {"id": "obj_1"}
        if isinstance(answer, Exception):
            raise answer
        return answer


def row(case_id: str, step: str = "cancel_at") -> VendorCallRow:
    with session_scope(get_settings().db_url) as s:
        found = ledger.find(s, "stripe", case_id, step)
        s.expunge(found)
        return found


def attention(case_id: str) -> str:
    with session_scope(get_settings().db_url) as s:
        return get_case(s, case_id).needs_attention or ""


def test_a_call_is_made_once_and_a_rerun_finds_its_result(case_id):
    vendor = Vendor({"id": "sub_1", "cancel_at": 1800000000})
    first = call_once(case_id, "stripe", "cancel_at", {"sub": "sub_1"}, vendor)
    again = call_once(case_id, "stripe", "cancel_at", {"sub": "sub_1"}, vendor)
    assert first == again == {"id": "sub_1", "cancel_at": 1800000000}
    assert vendor.keys == [f"offboarding-{case_id}-stripe-cancel_at"]
    assert row(case_id).status == "done" and row(case_id).attempts == 1


def test_a_throttled_call_waits_for_retry_after_then_goes_once(case_id):
    vendor = Vendor(VendorThrottled("stripe", "rate limited", retry_after=0.4))
    with pytest.raises(VendorThrottled):  # the task's retry policy takes it from here
        call_once(case_id, "stripe", "cancel_at", {}, vendor)
    pending = row(case_id)
    assert pending.status == "pending" and pending.not_before is not None
    started = utcnow()
    assert call_once(case_id, "stripe", "cancel_at", {}, vendor) == {"id": "obj_1"}
    assert (utcnow() - started).total_seconds() >= 0.3  # waited out the Retry-After
    assert len(vendor.keys) == 2 and row(case_id).status == "done"
    with session_scope(get_settings().db_url) as s:
        outcomes = [a.outcome for a in s.query(VendorCallAttemptRow).order_by("id")]
    assert outcomes == ["throttled", "accepted"]


def test_an_unavailable_vendor_is_retried_and_a_refusal_asks_a_person(case_id):
    vendor = Vendor(
        VendorUnavailable("stripe", "502 bad gateway", 502),
        VendorRefused("stripe", "No such subscription: 'sub_x'", 404),
    )
    with pytest.raises(VendorUnavailable):
        call_once(case_id, "stripe", "cancel_at", {}, vendor)
    with pytest.raises(CallBlocked, match="No such subscription"):
        call_once(case_id, "stripe", "cancel_at", {}, vendor)
    assert row(case_id).status == "failed"
    assert "stripe cancel_at" in attention(case_id) and "No such subscription" in attention(case_id)
    with pytest.raises(CallBlocked, match="until a person releases it"):  # never blindly again
        call_once(case_id, "stripe", "cancel_at", {}, vendor)
    assert len(vendor.keys) == 2
    with session_scope(get_settings().db_url) as s:  # a person releases it: made once more
        ledger.release(s, row(case_id).id)
    assert call_once(case_id, "stripe", "cancel_at", {}, vendor) == {"id": "obj_1"}
    assert attention(case_id) == "" and len(vendor.keys) == 3
    # Stripe keeps a refusal under its key: the call made again carries a new one
    assert vendor.keys[2] == vendor.keys[0] + ".r2" and vendor.keys[1] == vendor.keys[0]


def _lose_worker(case_id: str, step: str = "cancel_at") -> None:
    """A claim left `calling` by a worker killed mid-call, older than the lease."""
    with session_scope(get_settings().db_url) as s:
        key = f"offboarding-{case_id}-stripe-{step}"
        ledger.claim(s, case_id=case_id, vendor="stripe", step=step, key=key, request={},
                     replay_safe=True)  # fmt: skip
        s.execute(
            update(VendorCallRow)
            .where(VendorCallRow.case_id == case_id)
            .values(claimed_at=utcnow() - timedelta(seconds=ledger.LEASE_SECONDS + 1))
        )


def test_a_fresh_claim_elsewhere_is_not_called_over(case_id):
    with session_scope(get_settings().db_url) as s:
        ledger.claim(s, case_id=case_id, vendor="stripe", step="cancel_at", key="k",
                     request={}, replay_safe=True)  # fmt: skip
    vendor = Vendor()
    with pytest.raises(ledger.CallInFlight):
        call_once(case_id, "stripe", "cancel_at", {}, vendor)
    assert vendor.keys == []


def test_a_lost_workers_replay_safe_call_is_made_again_with_the_same_key(case_id):
    _lose_worker(case_id)
    vendor = Vendor({"id": "sub_1", "replayed": True})
    assert call_once(case_id, "stripe", "cancel_at", {}, vendor)["replayed"] is True
    assert vendor.keys == [f"offboarding-{case_id}-stripe-cancel_at"]


def test_a_lost_workers_other_call_is_reconciled_or_handed_to_a_person(case_id):
    _lose_worker(case_id, "note")
    vendor = Vendor()
    found = call_once(case_id, "stripe", "note", {}, vendor, replay_safe=False,
                      reconcile=lambda key: {"id": "note_9"})  # fmt: skip
    assert found == {"id": "note_9", "reconciled": True} and vendor.keys == []

    _lose_worker(case_id, "task")
    with pytest.raises(CallBlocked, match="could not be reconciled"):
        call_once(case_id, "stripe", "task", {}, vendor, replay_safe=False)
    assert vendor.keys == [] and row(case_id, "task").status == "unknown"
    assert "stripe task" in attention(case_id)
