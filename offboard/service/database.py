"""The service layer's one way into the system of record: a session on the configured database."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from offboarding.settings import get_settings
from offboarding.storage.db import session_scope


def store_session() -> AbstractContextManager[Session]:
    """A transaction on the database the current settings name (read at call time, so a test
    or the demo that repoints the settings is followed)."""
    return session_scope(get_settings().db_url)
