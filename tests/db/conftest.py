"""A fresh, empty database per test: a SQLite file, and PostgreSQL when configured.

PostgreSQL runs when OFFBOARDING_TEST_POSTGRES_URL is set (CI sets it to the local server).
Each test gets its own schema, reached through a URL that pins ``search_path`` to it, so tests
never see each other's tables; the schema is dropped (CASCADE) afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, pool, text

from offboarding.storage import db

POSTGRES_ENV = "OFFBOARDING_TEST_POSTGRES_URL"


def _dispose(url: str) -> None:
    """Close the pooled connections of the cached engine for this URL (tests use unique URLs)."""
    db.engine_for(url).dispose()


def _sqlite_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / f'offboarding-{uuid.uuid4().hex[:8]}.db'}"
    yield url
    _dispose(url)


def _postgres_url(base: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(base, poolclass=pool.NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        try:
            yield url
        finally:
            _dispose(url)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, unique to this test (so the URL-keyed caches never collide)."""
    if request.param == "sqlite":
        yield from _sqlite_url(tmp_path)
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg2://...)")
    yield from _postgres_url(base)
