"""Shared by the export and purge tests: a real SeaweedFS, settings pointed at a temporary state
dir, and checks of an export's objects against the source dataset."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from offboarding.adapters.s3.client import s3_client
from offboarding.adapters.s3.object_store import ObjectStore
from offboarding.adapters.seaweedfs import SeaweedS3

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "offboarding" / "sample_data"
BUCKET = "offboarding-exports-test"
#: Which sample file holds each category (see offboarding/product_data.py).
SOURCE_FILES = {
    "account_and_users": "users.parquet",
    "content": "content.parquet",
    "usage": "usage.parquet",
    "integrations_and_configuration": "configuration.parquet",
    "generated_reports": "reports.parquet",
}


@contextmanager
def offboarding_env(
    tmp: Path, s3: SeaweedS3, catalogue: Path | None, **extra: str
) -> Iterator[dict[str, str]]:
    """Point settings, boto3 and the CLI at a temporary state dir and the test's S3 server."""
    from offboarding.settings import get_settings

    home = tmp / "aws"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "OFFBOARDING_STATE_DIR": str(tmp / "state"),
        "OFFBOARDING_DATABASE_URL": f"sqlite:///{tmp / 'offboarding.db'}",
        "OFFBOARDING_BUCKET": BUCKET,
        "OFFBOARDING_PREFIX": "",
        "OFFBOARDING_OUTBOX_DIR": str(tmp / "outbox"),
        "AWS_ACCESS_KEY_ID": "offboarding-test",
        "AWS_SECRET_ACCESS_KEY": "offboarding-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_ENDPOINT_URL_S3": s3.endpoint,
        **extra,
    }
    if catalogue is not None:
        env["OFFBOARDING_CATALOGUE_FILE"] = str(catalogue)
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "OFFBOARDING_CATALOGUE_FILE"):
            mp.delenv(var, raising=False)
        for k, v in env.items():
            mp.setenv(k, v)
        get_settings.cache_clear()
        try:
            yield env
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


def import_sample_accounts() -> None:
    from offboard.service import import_accounts

    import_accounts(SAMPLE / "accounts.json")


def test_store(s3: SeaweedS3) -> ObjectStore:
    st = ObjectStore(BUCKET, "", client=s3_client(endpoint_url=s3.endpoint))
    st.ensure_bucket()
    return st


test_store.__test__ = False  # a helper, not a test


def body(store: ObjectStore, key: str) -> bytes:
    return store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read()


def source_table(data_dir: Path, category: str, account_id: str) -> pa.Table:
    """The account's rows read straight from the Parquet file (not through our catalogue)."""
    table = pq.read_table(data_dir / SOURCE_FILES[category])
    return table.filter(pa.compute.equal(table["account_id"], account_id))


def read_csv(data: bytes) -> pa.Table:
    return pacsv.read_csv(
        io.BytesIO(data), parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )


def check_export(
    store: ObjectStore, manifest: dict[str, Any], account_id: str, data_dir: Path
) -> dict[str, bytes]:
    """Every listed object exists with the manifest's size and SHA-256, carries only this
    account's rows, and matches the source's row counts; returns the bodies by name."""
    assert manifest["account_id"] == account_id
    stored = json.loads(body(store, manifest["manifest_key"]))
    assert stored == {k: v for k, v in manifest.items() if k != "delivery"}
    bodies: dict[str, bytes] = {}
    names = {o["name"] for o in manifest["objects"]}
    assert names >= {"usage.csv", "usage.jsonl", "report.pdf", "account_and_users.json"}
    for o in manifest["objects"]:
        assert o["key"].startswith(f"exports/{account_id}/{manifest['export_id']}/")
        head = store.head(o["key"])
        assert head is not None, o["key"]
        assert head["server_side_encryption"] == "AES256"
        data = body(store, o["key"])
        assert len(data) == o["bytes"] == head["bytes"]
        assert hashlib.sha256(data).hexdigest() == o["sha256"]
        assert head["content_type"] == o["content_type"]
        bodies[o["name"]] = data
        if o["format"] == "pdf":
            continue
        expected_rows = source_table(data_dir, o["category"], account_id).num_rows
        assert o["rows"] == expected_rows, o["name"]
        if o["format"] == "csv":
            table = read_csv(data)
            assert table.num_rows == expected_rows
            assert set(table["account_id"].to_pylist()) <= {account_id}
            assert data.decode("utf-8")  # UTF-8
        elif o["format"] == "jsonl":
            lines = data.decode("utf-8").splitlines()
            assert len(lines) == expected_rows
            assert {json.loads(line)["account_id"] for line in lines} <= {account_id}
        else:
            doc = json.loads(data)
            assert doc["account_id"] == account_id
            records = [
                r for v in doc.values() if isinstance(v, list) for r in v if isinstance(r, dict)
            ]
            assert len(records) == expected_rows
            assert {r["account_id"] for r in records} <= {account_id}
    return bodies


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "offboard"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **env},
    )
