"""A realistic product dataset (Parquet) for the demo, the tests and the benchmark.

`offboard sample-data` writes one file per §6 category plus a `catalogue.yaml` pointing at them.
Rows of all accounts are interleaved (as in a real event table ordered by time), which is what
makes the export's account filter matter. Values are deterministic for a given seed and account
list, and include what breaks naive writers: quotes, commas, newlines, non-ASCII text.
Generation streams batches into `ParquetWriter`, so 10 M usage rows need ~100 MB of memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

__all__ = [
    "CATALOGUE_NAME",
    "DEFAULT_USAGE_ROWS_PER_ACCOUNT",
    "SampleDataset",
    "ensure_sample_dataset",
    "write_sample_dataset",
]

CATALOGUE_NAME = "catalogue.yaml"
DEFAULT_USAGE_ROWS_PER_ACCOUNT = 20_000
USERS_PER_ACCOUNT = 40
EVENTS = np.array(
    [
        f"{verb}_{obj}"
        for verb in ("view", "edit", "create", "delete", "share", "export", "comment", "search")
        for obj in ("doc", "report", "dashboard", "workflow", "user", "setting")
    ][:50]
    + ["login", "logout"]
)
FEATURES = np.array(["dashboard", "reports", "editor", "api", "workflows", "billing", "admin"])
ROLES = np.array(["admin", "editor", "viewer"])
ROW_GROUP_ROWS = 131_072  # what a scanner decodes at once: bounds its memory
TS_START = np.datetime64("2024-01-01T00:00:00", "s")
TS_SPAN_SECONDS = 730 * 86_400


@dataclass(frozen=True)
class SampleDataset:
    out_dir: Path
    catalogue: Path
    accounts: tuple[str, ...]
    usage_rows: int
    files: dict[str, Path]

    def as_dict(self) -> dict:
        return {
            "out_dir": str(self.out_dir),
            "catalogue": str(self.catalogue),
            "accounts": list(self.accounts),
            "usage_rows": self.usage_rows,
            "files": {
                k: {"path": str(v), "bytes": v.stat().st_size} for k, v in self.files.items()
            },
        }


def _strings(values: Sequence[str] | np.ndarray) -> pa.Array:
    return pa.array(list(values), pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    args = [pa.scalar(p) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar(""))


def _user_ids(accounts: Sequence[str]) -> pa.Array:
    return _strings([f"{a}-u{u:04d}" for a in accounts for u in range(USERS_PER_ACCOUNT)])


def usage_batches(
    accounts: Sequence[str], rows: int, seed: int = 7, batch_rows: int = 262_144
) -> Iterator[pa.RecordBatch]:
    """Usage events of all accounts, interleaved at random, in bounded batches."""
    rng = np.random.default_rng(seed)
    acct_vocab, user_vocab = _strings(accounts), _user_ids(accounts)
    event_vocab, feature_vocab = _strings(EVENTS), _strings(FEATURES)
    sources = _strings(["web", "api", "mobile", "sync"])
    for offset in range(0, rows, batch_rows):
        n = min(batch_rows, rows - offset)
        acct = rng.integers(0, len(accounts), n)
        user = acct * USERS_PER_ACCOUNT + rng.integers(0, USERS_PER_ACCOUNT, n)
        # ordered by time, as an event table is; all accounts interleaved
        secs = (np.arange(offset, offset + n) * (TS_SPAN_SECONDS / max(rows, 1))).astype(np.int64)
        ts = TS_START + secs.astype("timedelta64[s]")
        ref = pc.cast(pa.array(rng.integers(100_000, 999_999, n)), pa.string())
        metadata = _join(
            '{"source": "',
            pc.take(sources, pa.array(rng.integers(0, 4, n))),
            '", "ref": ',
            ref,
            "}",
        )
        yield pa.record_batch(
            {
                "account_id": pc.take(acct_vocab, pa.array(acct)),
                "user_id": pc.take(user_vocab, pa.array(user)),
                "ts": pa.array(ts, pa.timestamp("s", tz="UTC")),
                "event": pc.take(event_vocab, pa.array(rng.integers(0, len(EVENTS), n))),
                "feature": pc.take(feature_vocab, pa.array(rng.integers(0, len(FEATURES), n))),
                "quantity": pa.array(rng.integers(1, 100, n), pa.int64()),
                "metadata": metadata,
            }
        )


def users_table(accounts: Sequence[str], seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed + 1)
    rows = [(a, u) for u in range(USERS_PER_ACCOUNT) for a in accounts]  # interleaved
    first = ["Ann", "Bo", "Chloé", "Dmitri", "Emi", "Farid", "Grace", "Hiro", "Ines", "José"]
    last = ["Baker", "O'Neil", "Nakamura", "Müller", "Smith, Jr.", "Tan", "Rossi", "Kowalski"]
    n = len(rows)
    created = TS_START + rng.integers(0, TS_SPAN_SECONDS // 2, n).astype("timedelta64[s]")
    return pa.table(
        {
            "account_id": [a for a, _ in rows],
            "user_id": [f"{a}-u{u:04d}" for a, u in rows],
            "name": [f"{first[(u * 7) % len(first)]} {last[u % len(last)]}" for _, u in rows],
            "email": [f"user{u:04d}@{a.lower()}.example" for a, u in rows],
            "role": pa.array(ROLES[rng.integers(0, 3, n)].tolist()),
            "created_at": pa.array(created, pa.timestamp("s", tz="UTC")),
            "active": pa.array(rng.random(n) > 0.1),
        }
    )


def content_table(accounts: Sequence[str], per_account: int = 150, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed + 2)
    rows = [(a, i) for i in range(per_account) for a in accounts]
    n = len(rows)
    created = TS_START + rng.integers(0, TS_SPAN_SECONDS, n).astype("timedelta64[s]")
    kinds = ["document", "dashboard", "template", "note"]
    return pa.table(
        {
            "account_id": [a for a, _ in rows],
            "content_id": [f"{a}-c{i:05d}" for a, i in rows],
            "kind": [kinds[i % len(kinds)] for _, i in rows],
            "title": [f'Plan {i}, "draft" — résumé\nsecond line' for _, i in rows],
            "created_by": [f"{a}-u{i % USERS_PER_ACCOUNT:04d}" for a, i in rows],
            "created_at": pa.array(created, pa.timestamp("s", tz="UTC")),
            "words": pa.array(rng.integers(20, 8000, n), pa.int64()),
        }
    )


def configuration_table(accounts: Sequence[str]) -> pa.Table:
    items = [
        ("integrations", "slack", True, "#alerts"),
        ("integrations", "webhook", True, "https://hooks.example/in"),
        ("integrations", "salesforce", False, "sync contacts nightly"),
        ("settings", "timezone", True, "UTC"),
        ("settings", "sso", False, "SAML not configured"),
        ("settings", "data_residency", True, "eu-west-1"),
        ("workflows", "weekly report", True, "0 8 * * 1"),
        ("workflows", "escalate overdue tasks", True, "0 * * * *"),
    ]
    rows = [(a, *it) for it in items for a in accounts]
    return pa.table(
        {
            "account_id": [r[0] for r in rows],
            "section": [r[1] for r in rows],
            "name": [r[2] for r in rows],
            "enabled": [r[3] for r in rows],
            "value": [r[4] for r in rows],
        }
    )


def reports_table(accounts: Sequence[str], months: int = 12) -> pa.Table:
    rows = [(a, m) for m in range(months) for a in accounts]
    return pa.table(
        {
            "account_id": [a for a, _ in rows],
            "report_id": [f"{a}-r{m:03d}" for a, m in rows],
            "title": [
                f"Monthly activity report {2024 + m // 12}-{m % 12 + 1:02d}" for _, m in rows
            ],
            "period": [f"{2024 + m // 12}-{m % 12 + 1:02d}" for _, m in rows],
            "format": ["pdf" if m % 3 else "xlsx" for _, m in rows],
            "rows": [100 + 17 * m for _, m in rows],
        }
    )


def catalogue_config(accounts: Sequence[str]) -> dict:
    return {
        "accounts": list(accounts),
        "categories": {
            "account_and_users": {
                "source": {"dataset": "users.parquet"},
                "formats": ["csv", "json"],
            },
            "content": {"source": {"dataset": "content.parquet"}, "formats": ["csv"]},
            "usage": {
                "source": {"dataset": "usage.parquet"},
                "formats": ["csv", "jsonl"],
                "summary": {"time": "ts", "group": "event"},
            },
            "integrations_and_configuration": {
                "source": {"dataset": "configuration.parquet"},
                "formats": ["json"],
                "document_group_by": "section",
            },
            "generated_reports": {"source": {"dataset": "reports.parquet"}, "formats": ["csv"]},
        },
    }


def write_sample_dataset(
    out_dir: Path, accounts: Sequence[str], usage_rows: int, seed: int = 7
) -> SampleDataset:
    """Write the dataset and its catalogue into `out_dir` (replacing an earlier one)."""
    if not accounts:
        raise ValueError("at least one account is needed")
    if len(set(accounts)) != len(accounts):
        raise ValueError("account ids must be distinct")
    if usage_rows < 0:
        raise ValueError("usage rows must be >= 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, table in (
        ("users", users_table(accounts, seed)),
        ("content", content_table(accounts, seed=seed)),
        ("configuration", configuration_table(accounts)),
        ("reports", reports_table(accounts)),
    ):
        files[name] = out_dir / f"{name}.parquet"
        pq.write_table(table, files[name], compression="zstd")
    files["usage"] = out_dir / "usage.parquet"
    schema = next(usage_batches(accounts[:1], 1)).schema
    with pq.ParquetWriter(files["usage"], schema, compression="zstd") as writer:
        for batch in usage_batches(accounts, usage_rows, seed):
            writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
    catalogue = out_dir / CATALOGUE_NAME
    catalogue.write_text(
        "# Written by `offboard sample-data`: where each §6 category lives (paths relative here)\n"
        + yaml.safe_dump(catalogue_config(accounts), sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return SampleDataset(out_dir, catalogue, tuple(accounts), usage_rows, files)


def ensure_sample_dataset(
    out_dir: Path,
    accounts: Sequence[str],
    usage_rows_per_account: int = DEFAULT_USAGE_ROWS_PER_ACCOUNT,
) -> Path:
    """The catalogue in `out_dir`, generating the dataset on first use.

    Several export processes may start at once: an exclusive file lock lets one generate (into
    a temporary folder, then an atomic rename) while the others wait and reuse it.
    """
    out_dir = Path(out_dir)
    catalogue = out_dir / CATALOGUE_NAME
    if catalogue.exists():
        return catalogue
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if catalogue.exists():
            return catalogue
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
        try:
            write_sample_dataset(tmp, accounts, usage_rows_per_account * len(accounts))
            if out_dir.exists():  # a half-written folder from a crash: replace it
                shutil.rmtree(out_dir)
            os.rename(tmp, out_dir)
        finally:
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(tmp)
    return catalogue
