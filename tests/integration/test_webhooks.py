"""Outbound webhooks: events written with their change, signed POSTs to a local receiver,
retries (500, 429 Retry-After, no answer), a 4xx that stops, redelivery, and a lost worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from offboard.service import webhooks as service
from offboard.vendor_sandbox.webhook_receiver import Reply, WebhookReceiver
from offboarding.cases.store import get_case, set_status
from offboarding.domain import CaseStatus
from offboarding.integrations.settings import integration_settings
from offboarding.integrations.webhook_signing import EVENT_ID_HEADER
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models.integrations import WebhookDeliveryRow, WebhookEventRow
from tasks.webhooks import deliver_pending
from tests.integration.comms_env import comms_env, open_test_case

pytestmark = pytest.mark.integration


@pytest.fixture
def rx() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret="whsec_test") as r:
        yield r


@pytest.fixture
def env(tmp_path: Path, rx: WebhookReceiver) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'offboarding.db'}"
    hooks = [
        {"name": "ops", "url": rx.url, "secret": rx.secret},
        {"name": "closed-only", "url": rx.url, "secret": rx.secret, "events": ["case.closed"]},
    ]
    with comms_env(tmp_path, url, OFFBOARDING_WEBHOOKS=json.dumps(hooks[:1])):
        integration_settings.cache_clear()
        yield url
    integration_settings.cache_clear()


def events(case_id: str) -> list[str]:
    with session_scope(get_settings().db_url) as s:
        rows = s.scalars(select(WebhookEventRow).where(WebhookEventRow.case_id == case_id)
                         .order_by(WebhookEventRow.created_at))  # fmt: skip
        return [r.type for r in rows]


def deliveries() -> list[WebhookDeliveryRow]:
    with session_scope(get_settings().db_url) as s:
        return list(s.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)))


def close(case_id: str) -> None:
    with session_scope(get_settings().db_url) as s:
        set_status(s, get_case(s, case_id), CaseStatus.closed, "test", "closed")


def test_events_are_written_with_their_change_and_delivered_signed(env, rx) -> None:
    case_id = open_test_case("ACME-SMB", "wh-1")
    close(case_id)
    assert events(case_id) == ["case.opened", "case.closed"]

    counts = deliver_pending()

    assert counts["delivered"] == 2 and counts["failed"] == 0
    assert all(r.signature_ok for r in rx.requests)
    bodies = [r.json for r in rx.requests]
    assert [b["type"] for b in bodies] == ["case.opened", "case.closed"]
    assert bodies[1]["data"] == {"case_id": case_id, "account_id": "ACME-SMB",
                                 "status": "closed", "previous_status": "received"}  # fmt: skip
    ids = [r.headers[EVENT_ID_HEADER.lower()] for r in rx.requests]
    assert ids == [b["id"] for b in bodies]
    assert deliver_pending()["sent"] == 0  # nothing twice


def test_a_rolled_back_change_leaves_no_event(env) -> None:
    case_id = open_test_case("ACME-SMB", "wh-2")
    with pytest.raises(RuntimeError), session_scope(get_settings().db_url) as s:
        set_status(s, get_case(s, case_id), CaseStatus.closed, "test")
        raise RuntimeError("the change fails")
    assert events(case_id) == ["case.opened"]


def test_500_and_no_answer_retry_with_backoff_then_deliver_once(env, rx) -> None:
    open_test_case("ACME-SMB", "wh-3")
    rx.script([Reply(500), Reply(200, delay=2.0)])
    assert deliver_pending()["pending"] == 1
    (d,) = deliveries()
    assert (d.status, d.attempts, d.last_status_code) == ("pending", 1, 500)
    assert deliver_pending()["sent"] == 0  # not due yet: the backoff holds
    later = utcnow() + timedelta(seconds=15)
    assert deliver_pending(now=later, timeout=0.5)["pending"] == 1  # timed out: no answer
    (d,) = deliveries()
    assert (d.attempts, d.last_status_code) == (2, None)
    assert deliver_pending(now=later + timedelta(seconds=60))["delivered"] == 1
    assert len(rx.events) == 1 and len(rx.requests) == 3
    assert [e["outcome"] for e in deliveries()[0].log][-1] == "delivered"


def test_429_waits_for_retry_after(env, rx) -> None:
    open_test_case("ACME-SMB", "wh-4")
    rx.script([Reply(429, {"Retry-After": "120"})])
    before = utcnow()
    deliver_pending()
    (d,) = deliveries()
    assert d.status == "pending" and d.last_status_code == 429
    wait = (d.next_try_at.replace(tzinfo=before.tzinfo) - before).total_seconds()
    assert 119 <= wait <= 125
    assert deliver_pending(now=before + timedelta(seconds=100))["sent"] == 0
    assert deliver_pending(now=before + timedelta(seconds=130))["delivered"] == 1


def test_a_4xx_stops_and_says_so_then_redeliver_sends_it_again(env, rx) -> None:
    open_test_case("ACME-SMB", "wh-5")
    rx.script([Reply(410)])
    assert deliver_pending()["failed"] == 1
    assert deliver_pending(now=utcnow() + timedelta(days=1))["sent"] == 0  # never retried
    (row,) = service.list_deliveries(status="failed", endpoint="ops")
    assert row["last_status_code"] == 410 and "not retried" in row["last_error"]
    assert row["log"][-1]["outcome"] == "refused, not retried"

    service.redeliver(row["delivery_id"])
    assert deliver_pending()["delivered"] == 1
    first, second = rx.requests
    assert first.headers[EVENT_ID_HEADER.lower()] == second.headers[EVENT_ID_HEADER.lower()]


def test_a_lost_worker_mid_delivery_is_sent_again_with_the_same_event_id(env, rx) -> None:
    open_test_case("ACME-SMB", "wh-6")
    deliver_pending()  # delivered once; now pretend the worker died before recording it
    with session_scope(get_settings().db_url) as s:
        lapsed = utcnow() - timedelta(minutes=5)
        s.execute(update(WebhookDeliveryRow).values(
            status="delivering", claim_token="lost", claimed_at=lapsed))  # fmt: skip
    assert deliver_pending()["delivered"] == 1
    assert len(rx.requests) == 2 and len(rx.events) == 1  # the receiver deduped by event id


def test_endpoint_filters_fan_out_only_wanted_types(tmp_path: Path, rx) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    hooks = [{"name": "closed-only", "url": rx.url, "secret": rx.secret, "events": ["case.closed"]}]
    with comms_env(tmp_path, url, OFFBOARDING_WEBHOOKS=json.dumps(hooks)):
        integration_settings.cache_clear()
        try:
            case_id = open_test_case("ACME-SMB", "wh-7")
            close(case_id)
            assert deliver_pending()["delivered"] == 1
            assert [r.json["type"] for r in rx.requests] == ["case.closed"]
        finally:
            integration_settings.cache_clear()
