"""The §13 dashboard on demand: every measure from the store, and the HTML page if asked."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any


def dashboard(
    as_of: datetime | None = None, since_days: int | None = None, html: Path | None = None
) -> dict[str, Any]:
    """The measures as of a time (default now) over the last N days (default all); with html,
    the page is written there too and its path is under `page`."""
    from offboarding.dashboard.page import render_page
    from tasks.dashboard import dashboard_now, write_local

    d = dashboard_now(as_of, since_days)
    if html is not None:
        d["page"] = str(write_local(render_page(d), html))
    return d
