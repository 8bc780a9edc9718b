"""Storage on a real database (SQLite and PostgreSQL): migrations, the append-only audit log,
intake dedupe, and the unique keys that make every side effect happen once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from offboarding.cases.store import (
    UnknownAccount,
    audit,
    audit_of,
    get_case,
    open_case,
    record_step,
    set_status,
    step_result,
    upsert_accounts,
)
from offboarding.domain import Account, CancellationRequest, CaseStatus, Owner
from offboarding.storage.db import alembic_config, as_utc, engine_for, session_scope, upgrade
from offboarding.storage.models import AccountRow, AuditRow, Base, CaseRow, MessageRow, StepRow

REQUESTER = "pat.customer@acme.example"


def make_account(**overrides) -> Account:
    data = {
        "account_id": "acc-001",
        "name": "Acme Widgets",
        "segment": "mid-market",
        "arr": 20_000.0,
        "contract_start": date(2024, 1, 1),
        "contract_end": date(2027, 12, 31),
        "owner": Owner(
            name="Casey CSM",
            title="Customer Success Manager",
            email="casey.csm@example.com",
            phone="+1 555 0100",
        ),
    }
    data.update(overrides)
    return Account(**data)


def make_request(**overrides) -> CancellationRequest:
    data = {
        "account_id": "acc-001",
        "requested_by": REQUESTER,
        "requested_at": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        "reason_text": "closing the business",
        "external_ref": "TCK-1001",
    }
    data.update(overrides)
    return CancellationRequest(**data)


def head_revision(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def db_revision(url: str) -> str:
    with engine_for(url).connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def table_names(url: str) -> set[str]:
    return set(inspect(engine_for(url)).get_table_names())


def count(url: str, model: type[Base], *where) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def url_with_account(db_url: str) -> str:
    with session_scope(db_url) as s:
        upsert_accounts(s, [make_account()])
    return db_url


def open_one(url: str, **overrides) -> tuple[str, bool]:
    with session_scope(url) as s:
        case, created = open_case(s, make_request(**overrides))
        return case.case_id, created


# --- migrations ----------------------------------------------------------------------------


def test_upgrade_creates_the_schema_on_an_empty_database_and_is_idempotent(db_url: str) -> None:
    assert table_names(db_url) == set()

    upgrade(db_url)
    expected = set(Base.metadata.tables) | {"alembic_version"}
    assert table_names(db_url) == expected
    assert db_revision(db_url) == head_revision(db_url)

    with session_scope(db_url, migrate=False) as s:
        upsert_accounts(s, [make_account()])

    upgrade(db_url)  # again: nothing to do, nothing lost
    assert table_names(db_url) == expected
    assert db_revision(db_url) == head_revision(db_url)
    assert count(db_url, AccountRow) == 1
    assert count(db_url, AuditRow) == 1


def test_database_at_0001_upgrades_to_head_keeping_its_data(db_url: str) -> None:
    upgrade(db_url, "0001")
    assert db_revision(db_url) == "0001"
    with engine_for(db_url).begin() as conn:  # written as a 0001-era writer did
        conn.execute(
            text(
                "INSERT INTO audit_log (at, case_id, actor, action, what, why, data) "
                "VALUES (:at, NULL, 'ops@example.com', 'legacy_entry', 'written at 0001', "
                "'history', :data)"
            ),
            {"at": datetime.now(UTC), "data": '{"n": 1}'},
        )

    upgrade(db_url)

    assert db_revision(db_url) == head_revision(db_url)
    with session_scope(db_url) as s:
        rows = s.scalars(select(AuditRow)).all()
        assert [(r.actor, r.action, r.what, r.why, r.data) for r in rows] == [
            ("ops@example.com", "legacy_entry", "written at 0001", "history", {"n": 1})
        ]
    # ...and the kept rows are now protected by the append-only triggers of 0002.
    with pytest.raises(DBAPIError, match="append-only"), engine_for(db_url).begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    assert count(db_url, AuditRow) == 1


# --- the audit log is append-only ----------------------------------------------------------


def _raw_update(url: str) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(text("UPDATE audit_log SET why = 'rewritten'"))


def _raw_delete(url: str) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE action = 'case_received'"))


def _orm_update(url: str) -> None:
    with session_scope(url) as s:
        s.scalars(select(AuditRow)).first().why = "rewritten"


def _orm_delete(url: str) -> None:
    with session_scope(url) as s:
        s.delete(s.scalars(select(AuditRow)).first())


@pytest.mark.parametrize(
    "change",
    [_raw_update, _raw_delete, _orm_update, _orm_delete],
    ids=["raw-update", "raw-delete", "orm-update", "orm-delete"],
)
def test_audit_log_refuses_update_and_delete(url_with_account: str, change) -> None:  # noqa: ANN001
    url = url_with_account
    open_one(url)
    with session_scope(url) as s:
        before = [
            (r.id, r.action, r.why) for r in s.scalars(select(AuditRow).order_by(AuditRow.id))
        ]

    with pytest.raises(DBAPIError, match="append-only"):
        change(url)

    with session_scope(url) as s:
        after = [(r.id, r.action, r.why) for r in s.scalars(select(AuditRow).order_by(AuditRow.id))]
        assert after == before
        audit(s, None, "ops@example.com", "still_appendable")  # INSERT is still allowed
    assert count(url, AuditRow) == len(before) + 1


# --- intake ----------------------------------------------------------------------------------


def test_open_case_dedupes_the_same_external_ref(url_with_account: str) -> None:
    url = url_with_account
    first, created = open_one(url, external_ref="TCK-1001")
    assert created is True

    again, created_again = open_one(
        url, external_ref="TCK-1001", requested_by="bob@acme.example", channel="portal"
    )

    assert (again, created_again) == (first, False)
    assert count(url, CaseRow) == 1
    with session_scope(url) as s:
        log = audit_of(s, first)
        assert [a.action for a in log] == ["case_received", "duplicate_request"]
        # the audit log outlives the customer's data: customers appear by role, not address
        assert log[1].actor == "customer"
        assert all("bob@acme.example" not in (a.actor + a.what + a.why) for a in log)
        assert log[1].data == {"external_ref": "TCK-1001"}
        assert "portal" in log[1].what


def test_a_second_request_for_an_open_case_joins_it(url_with_account: str) -> None:
    url = url_with_account
    first, _ = open_one(url, external_ref="TCK-1001")

    joined, created = open_one(url, external_ref="MAIL-77", channel="email")
    assert (joined, created) == (first, False)
    no_ref, created = open_one(url, external_ref=None)
    assert (no_ref, created) == (first, False)
    assert count(url, CaseRow) == 1
    with session_scope(url) as s:
        assert [a.action for a in audit_of(s, first)] == [
            "case_received",
            "duplicate_request",
            "duplicate_request",
        ]
        set_status(s, get_case(s, first), CaseStatus.closed, "offboarding-flow", "closed")

    # Once the case is closed, a new request (new reference) is a new case.
    later, created = open_one(url, external_ref="TCK-2002")
    assert created is True
    assert later != first
    assert count(url, CaseRow) == 2


def test_unknown_account_raises_and_writes_nothing(url_with_account: str) -> None:
    url = url_with_account
    audit_before = count(url, AuditRow)

    with pytest.raises(UnknownAccount, match="unknown account 'nope'"):
        open_one(url, account_id="nope")

    assert count(url, CaseRow) == 0
    assert count(url, AuditRow) == audit_before


# --- status, steps, messages ---------------------------------------------------------------


def test_set_status_writes_who_what_why(url_with_account: str) -> None:
    url = url_with_account
    case_id, _ = open_one(url)
    with session_scope(url) as s:
        case = get_case(s, case_id)
        set_status(s, case, CaseStatus.awaiting_verification, "sam@example.com", "asked to verify")
        set_status(s, case, CaseStatus.awaiting_verification, "sam@example.com", "no change")

    with session_scope(url) as s:
        assert get_case(s, case_id).status == "awaiting_verification"
        changes = [a for a in audit_of(s, case_id) if a.action == "status_changed"]
        assert [(a.actor, a.what, a.why) for a in changes] == [
            ("sam@example.com", "received -> awaiting_verification", "asked to verify")
        ]
        assert changes[0].case_id == case_id


def test_record_step_twice_violates_the_unique_key(url_with_account: str) -> None:
    url = url_with_account
    case_id, _ = open_one(url)
    with session_scope(url) as s:
        record_step(s, case_id, "acknowledge", {"message": 1})

    with pytest.raises(IntegrityError), session_scope(url) as s:
        record_step(s, case_id, "acknowledge", {"message": 2})

    with session_scope(url) as s:
        assert step_result(s, case_id, "acknowledge") == {"message": 1}
        assert [a.action for a in audit_of(s, case_id)].count("step_acknowledge") == 1
    assert count(url, StepRow) == 1
    with session_scope(url) as s:  # another step for the same case is fine
        record_step(s, case_id, "plan", {"ok": True})
    assert count(url, StepRow) == 2


def _message(case_id: str, kind: str, seq: int) -> MessageRow:
    return MessageRow(
        case_id=case_id,
        kind=kind,
        seq=seq,
        to_addr=REQUESTER,
        subject=f"{kind} {seq}",
        locale="en",
        location=f"outbox/{case_id}-{kind}-{seq}.eml",
        sent_at=datetime.now(UTC),
    )


def test_messages_are_unique_per_case_kind_and_seq(url_with_account: str) -> None:
    url = url_with_account
    case_id, _ = open_one(url)
    with session_scope(url) as s:
        s.add(_message(case_id, "acknowledgement", 1))
        s.add(_message(case_id, "acknowledgement", 2))  # another sequence number
        s.add(_message(case_id, "closure_notice", 1))  # another kind

    with pytest.raises(IntegrityError), session_scope(url) as s:
        s.add(_message(case_id, "acknowledgement", 1))

    assert count(url, MessageRow) == 3


def test_upsert_accounts_updates_an_existing_account(url_with_account: str) -> None:
    url = url_with_account
    with session_scope(url) as s:
        n = upsert_accounts(
            s, [make_account(name="Acme Widgets Ltd", arr=25_000.0, region="DE", locale="de")]
        )
    assert n == 1

    assert count(url, AccountRow) == 1
    with session_scope(url) as s:
        row = s.get(AccountRow, "acc-001")
        assert (row.name, row.arr, row.region, row.locale) == (
            "Acme Widgets Ltd",
            25_000.0,
            "DE",
            "de",
        )
        assert Account.model_validate(row.data).name == "Acme Widgets Ltd"
        imports = s.scalars(select(AuditRow).where(AuditRow.action == "accounts_imported")).all()
        assert [a.what for a in imports] == ["1 accounts", "1 accounts"]


def test_timestamps_come_back_timezone_aware_in_utc(url_with_account: str) -> None:
    url = url_with_account
    requested_at = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
    before = datetime.now(UTC)
    case_id, _ = open_one(url, requested_at=requested_at)
    after = datetime.now(UTC)

    with session_scope(url) as s:
        case = get_case(s, case_id)
        got = as_utc(case.requested_at)
        assert got == requested_at
        assert got.utcoffset() == timedelta(0)
        for stamp in (case.created_at, case.updated_at, audit_of(s, case_id)[0].at):
            aware = as_utc(stamp)
            assert aware.tzinfo is not None and aware.utcoffset() == timedelta(0)
            assert before <= aware <= after
    assert as_utc(None) is None
