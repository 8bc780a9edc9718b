"""The webhook outbox on SQLite and PostgreSQL: the models match migration 0013, an event is
written in its change's transaction, and a delivery is claimed by one dispatcher only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from offboarding.integrations import webhook_events as outbox
from offboarding.integrations.webhook_signing import Endpoint
from offboarding.storage.db import session_scope
from offboarding.storage.models.integrations import WebhookDeliveryRow, WebhookEventRow

OURS = ("webhook_events", "webhook_deliveries")


def test_the_models_match_the_migration(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from offboarding.storage.db import engine_for, upgrade
    from offboarding.storage.models import Base

    upgrade(db_url)
    with engine_for(db_url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if any(t in repr(d) for t in OURS)] == []


def test_fan_out_then_one_claim_per_delivery(db_url: str) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    eps = [Endpoint("a", "http://a", "s"), Endpoint("b", "http://b", "s", ("case.closed",))]
    with session_scope(db_url) as s:
        event_id = outbox.record_event(s, "case.opened", {"case_id": "C-1"}, "C-1")
    with session_scope(db_url) as s:
        assert outbox.fan_out(s, eps, now=now) == 1  # b does not want case.opened
        assert outbox.fan_out(s, eps, now=now) == 0
    with session_scope(db_url) as s:
        (c,) = outbox.claim_due(s, ["a", "b"], now=now)
        assert c.event_id == event_id and b'"id":"' + event_id.encode() in c.body
    with session_scope(db_url) as s:
        assert outbox.claim_due(s, ["a", "b"], now=now) == []  # claimed: not twice
        later = now + timedelta(seconds=outbox.LEASE_SECONDS + 1)
        (again,) = outbox.claim_due(s, ["a", "b"], now=later)  # the lease ran out
    with session_scope(db_url) as s:
        assert outbox.record_try(s, c, 200, "ok", now=later) == "lost_claim"
        assert outbox.record_try(s, again, 200, "ok", now=later) == "delivered"
    with session_scope(db_url) as s:
        row = s.scalar(select(WebhookDeliveryRow))
        assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
        assert s.get(WebhookEventRow, event_id).fanned_out_at is not None


def _events(db_url: str) -> dict[str, str]:
    with session_scope(db_url) as s:
        return {e.event_id: e.type for e in s.scalars(select(WebhookEventRow))}


def test_with_no_endpoint_nothing_is_kept_that_nothing_will_send(db_url: str) -> None:
    with session_scope(db_url) as s:
        for case in ("C-1", "C-2"):
            outbox.record_event(s, "case.opened", {"case_id": case}, case)
    with session_scope(db_url) as s:
        assert outbox.prune_settled(s, sending=False, case_id="C-1") == 1  # its purge
    assert sorted(_events(db_url).values()) == ["case.opened"]
    with session_scope(db_url) as s:
        assert outbox.prune_settled(s, sending=False) == 1  # the daily sweep
    assert _events(db_url) == {}


def test_with_endpoints_only_settled_events_go_and_a_delivery_under_way_stays(db_url) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    eps = [Endpoint("a", "http://a", "s")]
    with session_scope(db_url) as s:
        sent = outbox.record_event(s, "case.opened", {"case_id": "C-1"}, "C-1")
        busy = outbox.record_event(s, "case.verified", {"case_id": "C-1"}, "C-1")
    with session_scope(db_url) as s:
        assert outbox.fan_out(s, eps, now=now) == 2
    with session_scope(db_url) as s:
        claims = {c.event_id: c for c in outbox.claim_due(s, ["a"], now=now)}
    with session_scope(db_url) as s:
        assert outbox.record_try(s, claims[sent], 200, "ok", now=now) == "delivered"
        unsent = outbox.record_event(s, "case.closed", {"case_id": "C-1"}, "C-1")
    with session_scope(db_url) as s:  # kept while newer than `before`: its log stays to see
        assert outbox.prune_settled(s, sending=True, before=now - timedelta(days=1)) == 0
    with session_scope(db_url) as s:
        assert outbox.prune_settled(s, sending=True, case_id="C-1") == 1
    assert set(_events(db_url)) == {busy, unsent}  # one still being sent, one not fanned out
    with session_scope(db_url) as s:
        assert s.scalar(select(WebhookDeliveryRow.event_id)) == busy
