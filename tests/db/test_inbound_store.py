"""The inbound messages table on a real database (SQLite and PostgreSQL): one row per message
key however often it is posted, the case a thread belongs to, the candidate accounts of a
sender's domain, and triage decisions that are audited; the model matches migration 0011."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from offboarding.cases.store import OffboardingError, audit_of
from offboarding.inbound import store
from offboarding.inbound.matching import match_account
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.storage.models import AuditRow
from offboarding.storage.models.inbound import InboundMessageRow
from tests.integration.comms_env import comms_env, open_test_case


@pytest.fixture
def env(db_url: str, tmp_path: Path):
    with comms_env(tmp_path, db_url):
        yield db_url


def _session():  # noqa: ANN202
    return session_scope(get_settings().db_url)


def _record(key: str, **kw):  # noqa: ANN003, ANN202
    fields = {"source": "email", "message_key": key, "status": store.TRIAGE, "why": "test",
              "sender": "ann@acme-bakeries.example", "subject": "s", "body": "b"}  # fmt: skip
    fields.update(kw)
    with _session() as s:
        row, created = store.record(s, **fields)
        return row.id, created


def test_a_key_is_stored_once(env: str) -> None:
    first = _record("email:a@x", attachments=[{"name": "a.pdf", "size": 3}])
    second = _record("email:a@x", status=store.OPENED)
    assert first[1] is True and second == (first[0], False)
    with _session() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessageRow)) == 1
        row = store.get_message(s, first[0])
        assert row.status == store.TRIAGE and row.attachments == [{"name": "a.pdf", "size": 3}]


def test_a_thread_finds_the_newest_referenced_message_with_a_case(env: str) -> None:
    case_id = open_test_case("ACME-SMB", "email:root@x")
    _record("email:root@x", status=store.OPENED, case_id=case_id, account_id="ACME-SMB")
    _record("email:other@x")  # in triage: no case, so not the thread's case
    with _session() as s:
        assert store.thread_case(s, ["email:other@x", "email:root@x"]).case_id == case_id
        assert store.thread_case(s, ["email:nobody@x"]) is None
        assert store.thread_case(s, []) is None


def test_candidate_accounts_of_a_domain(env: str) -> None:
    with _session() as s:
        found = store.accounts_mentioning(s, "acme-bakeries.example")
        assert [a for a, _ in found] == ["ACME-SMB"]
        assert match_account("ann@acme-bakeries.example", found).how == "contact"
        assert store.accounts_mentioning(s, "nowhere.example") == []
        assert store.accounts_mentioning(s, "") == []
        assert store.accounts_mentioning(s, "%") == []  # a LIKE wildcard matches nothing
        assert store.account_exists(s, "ACME-SMB") and not store.account_exists(s, "NOPE")


def test_triage_decisions_are_audited_and_final(env: str) -> None:
    dismissed, _ = _record("email:d@x")
    opened, _ = _record("email:o@x")
    case_id = open_test_case("ACME-SMB", "email:o@x")
    with _session() as s:
        store.dismiss(s, store.get_message(s, dismissed), "cs-lead@example.com", "a newsletter")
        store.opened_from_triage(
            s, store.get_message(s, opened), case_id, "ACME-SMB", "cs-lead@example.com", "token"
        )
    with _session() as s:
        d, o = store.get_message(s, dismissed), store.get_message(s, opened)
        assert (d.status, d.decided_by, d.data["dismissed_why"]) == (
            store.DISMISSED, "cs-lead@example.com", "a newsletter",
        )  # fmt: skip
        assert (o.status, o.case_id, o.account_id) == (store.OPENED, case_id, "ACME-SMB")
        assert o.decided_at is not None
        assert [r.action for r in audit_of(s, case_id)][-1] == "inbound_opened_from_triage"
        assert s.scalar(select(AuditRow).where(AuditRow.action == "inbound_dismissed")).why == (
            "a newsletter"
        )
        assert [m.id for m in store.list_messages(s, store.TRIAGE)] == []
        assert {m.id for m in store.list_messages(s)} == {dismissed, opened}
        with pytest.raises(OffboardingError, match="not in triage"):
            store.dismiss(s, d, "cs-lead@example.com", "again")
        with pytest.raises(OffboardingError, match="status must be"):
            store.list_messages(s, "bogus")
        with pytest.raises(OffboardingError, match="no inbound message"):
            store.get_message(s, 999_999)


def test_a_dismissal_needs_a_reason(env: str) -> None:
    mid, _ = _record("email:w@x")
    with _session() as s, pytest.raises(OffboardingError, match="reason"):
        store.dismiss(s, store.get_message(s, mid), "cs-lead@example.com", "  ")


def test_the_model_matches_migration_0011_and_it_downgrades(db_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from offboarding.storage.db import alembic_config, engine_for, upgrade
    from offboarding.storage.models import Base

    upgrade(db_url)
    with engine_for(db_url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if "inbound_messages" in repr(d)]
    assert ours == []
    command.downgrade(alembic_config(db_url), "0010")
    assert "inbound_messages" not in inspect(engine_for(db_url)).get_table_names()
    upgrade(db_url)
    assert "inbound_messages" in inspect(engine_for(db_url)).get_table_names()
