"""The product's data for an account, by §6 category, as streams of Arrow record batches.

The embedded default synthesises a deterministic dataset per account (seeded by its id), so
the demo and tests export something realistic without a product database. A source
catalogue (SQL or Parquet per category) replaces it in production.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from offboarding.domain import Account

CATEGORIES = (
    "account_and_users",
    "content",
    "usage",
    "integrations_and_configuration",
    "generated_reports",
)
EVENTS = np.array(["login", "view", "edit", "export", "share", "comment", "invite", "search"])
FEATURES = np.array(["dashboard", "reports", "editor", "api", "workflows", "billing"])


def _rng(account_id: str, salt: str) -> np.random.Generator:
    seed = int.from_bytes(hashlib.sha256(f"{account_id}:{salt}".encode()).digest()[:8], "big")
    return np.random.default_rng(seed)


def users(account: Account, n: int = 25) -> pa.Table:
    rng = _rng(account.account_id, "users")
    ids = [f"{account.account_id}-u{i:04d}" for i in range(n)]
    roles = rng.choice(np.array(["admin", "editor", "viewer"]), n)
    start = datetime.combine(account.contract_start, datetime.min.time(), UTC)
    return pa.table(
        {
            "account_id": [account.account_id] * n,
            "user_id": ids,
            "email": [f"user{i}@{account.account_id.lower()}.example" for i in range(n)],
            "role": roles.tolist(),
            "created_at": [start + timedelta(days=int(d)) for d in rng.integers(0, 365, n)],
        }
    )


def content(account: Account, n: int = 200) -> pa.Table:
    rng = _rng(account.account_id, "content")
    return pa.table(
        {
            "account_id": [account.account_id] * n,
            "document_id": [f"{account.account_id}-d{i:05d}" for i in range(n)],
            "title": [f'Document {i}, "draft"\n{account.name}' for i in range(n)],
            "words": rng.integers(50, 5000, n),
        }
    )


def usage_batches(
    account: Account, rows: int = 20_000, batch_rows: int = 65_536
) -> Iterator[pa.RecordBatch]:
    """Usage events in bounded batches: memory stays flat whatever the row count."""
    rng = _rng(account.account_id, "usage")
    start = np.datetime64(account.contract_start.isoformat(), "s")
    for offset in range(0, rows, batch_rows):
        n = min(batch_rows, rows - offset)
        ts = start + rng.integers(0, 365 * 86_400, n).astype("timedelta64[s]")
        yield pa.record_batch(
            {
                "account_id": pa.array([account.account_id] * n),
                "user_id": pa.array(
                    [f"{account.account_id}-u{i:04d}" for i in rng.integers(0, 25, n)]
                ),
                "ts": pa.array(ts, pa.timestamp("s", tz="UTC")),
                "event": pa.array(rng.choice(EVENTS, n)),
                "feature": pa.array(rng.choice(FEATURES, n)),
                "quantity": pa.array(rng.integers(1, 100, n)),
            }
        )


def configuration(account: Account) -> dict:
    return {
        "account_id": account.account_id,
        "integrations": [
            {"type": "slack", "channel": "#alerts", "enabled": True},
            {"type": "webhook", "url": f"https://hooks.{account.account_id.lower()}.example/in"},
        ],
        "settings": {"timezone": account.timezone, "locale": account.locale, "sso": False},
        "workflows": [{"name": "weekly report", "schedule": "0 8 * * 1"}],
    }


def generated_reports(account: Account, n: int = 12) -> pa.Table:
    return pa.table(
        {
            "account_id": [account.account_id] * n,
            "report": [f"Monthly report {m + 1:02d}" for m in range(n)],
            "generated_on": [f"{account.contract_start.year}-{m + 1:02d}-01" for m in range(n)],
        }
    )
