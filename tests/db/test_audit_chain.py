"""The audit log's hash chain on a real database: intact as written; a row changed or removed
by someone who got past the append-only triggers is named by `offboard audit verify`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from offboard.service.audit import verify_audit
from offboarding.cases.store import audit
from offboarding.settings import get_settings
from offboarding.storage.db import engine_for, session_scope
from offboarding.storage.models import AuditRow
from tests.integration.comms_env import comms_env, open_test_case


@pytest.fixture
def url(db_url: str, tmp_path: Path) -> str:
    with comms_env(tmp_path, db_url):
        yield db_url


def _without_triggers(url: str, sql: str, **params: object) -> None:
    """What only someone with the database's owner rights could do."""
    with engine_for(url).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
            conn.execute(text(sql), params)
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(text(sql), params)


def _rows(url: str, case_id: str) -> list[AuditRow]:
    with session_scope(url) as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.case_id == case_id).order_by(AuditRow.id))
        return [(r.id, r.prev_hash, r.row_hash) for r in rows]


def _two_cases(url: str) -> tuple[str, str]:
    a = open_test_case("ACME-SMB", "CHAIN-A")
    b = open_test_case("GLOBEX-ENT", "CHAIN-B")
    with session_scope(get_settings().db_url) as s:
        for i in range(3):
            audit(s, a, "ops@example.com", "note", f"a{i}", data={"i": i, "text": "日本語"})
            audit(s, b, "ops@example.com", "note", f"b{i}")
    return a, b


def test_each_row_links_to_the_one_before_it_of_its_case(url: str) -> None:
    a, b = _two_cases(url)
    rows = _rows(url, a)
    assert rows[0][1] == "" and all(r[2] for r in rows)
    assert [r[1] for r in rows[1:]] == [r[2] for r in rows[:-1]]
    assert verify_audit() == {"case_id": None, "intact": True}
    assert verify_audit(a)["intact"] and verify_audit(b)["intact"]


def test_a_changed_row_is_named(url: str) -> None:
    a, b = _two_cases(url)
    target = _rows(url, a)[2][0]
    _without_triggers(url, "UPDATE audit_log SET why = 'rewritten' WHERE id = :id", id=target)
    result = verify_audit(a)
    assert (result["intact"], result["audit_id"]) == (False, target)
    assert "content does not match" in result["why"]
    assert verify_audit(b)["intact"]  # the other case's chain is its own
    assert verify_audit()["audit_id"] == target


def test_a_removed_row_breaks_the_link_of_the_next(url: str) -> None:
    a, _ = _two_cases(url)
    rows = _rows(url, a)
    _without_triggers(url, "DELETE FROM audit_log WHERE id = :id", id=rows[1][0])
    result = verify_audit(a)
    assert (result["intact"], result["audit_id"]) == (False, rows[2][0])
    assert "link does not match" in result["why"]
