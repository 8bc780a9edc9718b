"""The embedded Prefect server's SQLite transactions take the write lock when they begin, so a
burst of writers queues in SQLite's busy handler instead of failing with "database is locked"."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text


async def _second_writer_while_open(db: Path) -> str:
    """Open a Prefect transaction that has only read, then try to write from elsewhere."""
    from prefect.server.database.configurations import AioSqliteConfiguration

    config = AioSqliteConfiguration(connection_url=f"sqlite+aiosqlite:///{db}")
    engine = await config.engine()
    try:
        session = await config.session(engine)
        async with session, config.begin_transaction(session):
            await session.execute(text("SELECT 1"))
            other = sqlite3.connect(db, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                return "other writer went ahead"
            except sqlite3.OperationalError as exc:
                return str(exc)
            finally:
                other.close()
    finally:
        await engine.dispose()


@pytest.fixture
def restored(monkeypatch):
    from prefect.server.database.configurations import AioSqliteConfiguration

    # put Prefect's own method back after the test, whatever it does
    monkeypatch.setattr(
        AioSqliteConfiguration, "begin_transaction", AioSqliteConfiguration.begin_transaction
    )


def test_prefects_own_transactions_begin_deferred(tmp_path, restored):
    # the baseline the launcher changes: a read-only start takes no write lock
    assert asyncio.run(_second_writer_while_open(tmp_path / "p.db")) == "other writer went ahead"


def test_the_launcher_makes_every_transaction_take_the_write_lock_first(tmp_path, restored):
    from offboard.prefect_sqlite_server import take_write_lock_up_front

    take_write_lock_up_front()
    take_write_lock_up_front()  # twice is once
    assert asyncio.run(_second_writer_while_open(tmp_path / "p.db")) == "database is locked"
