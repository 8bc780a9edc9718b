"""The embedded stack's Prefect server on SQLite, with its write transactions taken up front.

Prefect opens its SQLite transactions DEFERRED: a transaction reads, then writes. In WAL mode
SQLite cannot upgrade such a transaction once another writer has committed since it read, and
answers "database is locked" at once, without waiting out the busy timeout; Prefect turns that
into a 503 and the client sends the whole request again. Under a burst of cancellations this
was thousands of errors and most of the server's CPU. `BEGIN IMMEDIATE` takes the write lock
when the transaction starts, so writers queue in SQLite's busy handler (Prefect sets 60 s)
instead of failing and being retried; reads outside transactions are untouched. Prefect
itself uses IMMEDIATE where it locks rows (`with_for_update`); this makes it the rule.

Run as `python -m offboard.prefect_sqlite_server <prefect server start arguments>`.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any


def take_write_lock_up_front() -> None:
    """Make every SQLite transaction of the Prefect server `BEGIN IMMEDIATE`."""
    from prefect.server.database.configurations import AioSqliteConfiguration

    deferred = AioSqliteConfiguration.begin_transaction
    if getattr(deferred, "immediate", False):
        return

    @asynccontextmanager
    async def begin_transaction(
        self: AioSqliteConfiguration, session: Any, with_for_update: bool = False
    ) -> AsyncGenerator[Any, None]:
        async with deferred(self, session, with_for_update=True) as transaction:
            yield transaction

    begin_transaction.immediate = True  # type: ignore[attr-defined]
    AioSqliteConfiguration.begin_transaction = begin_transaction  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    take_write_lock_up_front()
    from prefect.cli import app

    sys.argv = ["prefect", *argv]
    app()


if __name__ == "__main__":
    main(sys.argv[1:])
