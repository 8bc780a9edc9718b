"""Export benchmark (issue 3): one account's usage rows exported end to end (CSV + JSON Lines +
PDF + manifest, through the Prefect export flow) into a local SeaweedFS, timed in the same run
as an anchor pipeline on the same rows: pyarrow's CSV writer and polars' NDJSON writer to local
disk, then boto3 `upload_file` with a tuned TransferConfig sending both files to the same server.

    .venv/bin/offboard sample-data --accounts 1 --usage-rows 10000000 --out .state/bench-10m
    .venv/bin/python benchmarks/export_bench.py --data .state/bench-10m

Each side runs in its own process so its peak RSS (VmHWM) is its own. Prints one JSON line per
side and a Markdown table row; results go in benchmarks/README.md ("Export (issue 3)").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACCOUNT = "ACME-SMB"
BUCKET = "offboarding-bench"
MB = 1_000_000


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _hwm_mib() -> float:
    return _status_mib("VmHWM")


def ours(data: Path, state: Path) -> dict[str, Any]:
    """The real export flow (Prefect tasks, streaming multipart uploads) for one account."""
    os.environ.update(
        OFFBOARDING_STATE_DIR=str(state),
        OFFBOARDING_DATABASE_URL=f"sqlite:///{state / 'bench.db'}",
        OFFBOARDING_BUCKET=BUCKET,
        OFFBOARDING_CATALOGUE_FILE=str(data / "catalogue.yaml"),
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    from flows.export_flow import export_flow
    from offboard.service import import_accounts

    import_accounts(ROOT / "offboarding" / "sample_data" / "accounts.json")
    import polars  # noqa: F401  (imported by the writers; counted in the baseline, not the work)
    import reportlab.platypus  # noqa: F401

    baseline = _status_mib("VmRSS")
    t0 = time.perf_counter()
    manifest = export_flow(account_id=ACCOUNT)
    seconds = time.perf_counter() - t0
    usage = [o for o in manifest["objects"] if o["category"] == "usage"]
    return {
        "side": "ours",
        "seconds": seconds,
        "rows": usage[0]["rows"],
        "usage_bytes": sum(o["bytes"] for o in usage),
        "all_bytes": sum(o["bytes"] for o in manifest["objects"]),
        "objects": len(manifest["objects"]) + 1,
        "peak_rss_mib": _hwm_mib(),
        "rss_before_mib": baseline,
    }


def anchor(data: Path, state: Path) -> dict[str, Any]:
    """Whole table in memory: pyarrow CSV + polars NDJSON to disk, then boto3 upload_file."""
    import boto3
    import polars as pl
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds
    from boto3.s3.transfer import TransferConfig

    client = boto3.session.Session().client("s3")
    baseline = _status_mib("VmRSS")
    t0 = time.perf_counter()
    table = ds.dataset(data / "usage.parquet").to_table(filter=ds.field("account_id") == ACCOUNT)
    csv_path, jsonl_path = state / "usage.csv", state / "usage.jsonl"
    pacsv.write_csv(table, csv_path)
    pl.from_arrow(table).write_ndjson(jsonl_path)
    rows = table.num_rows
    del table
    config = TransferConfig(multipart_chunksize=64 * 2**20, max_concurrency=8)
    for path in (csv_path, jsonl_path):
        client.upload_file(str(path), BUCKET, f"anchor/{path.name}", Config=config)
    seconds = time.perf_counter() - t0
    return {
        "side": "anchor",
        "seconds": seconds,
        "rows": rows,
        "usage_bytes": csv_path.stat().st_size + jsonl_path.stat().st_size,
        "peak_rss_mib": _hwm_mib(),
        "rss_before_mib": baseline,
    }


def _child(side: str, data: Path, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{side}-") as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", side, "--data", str(data), "--state", tmp],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            cwd=ROOT,
            check=False,
        )
    if out.returncode != 0:
        raise RuntimeError(f"{side} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder from `offboard sample-data`")
    ap.add_argument("--child", choices=["ours", "anchor"])
    ap.add_argument("--state", type=Path)
    ap.add_argument("--order", default="anchor,ours", help="which side runs first")
    args = ap.parse_args()
    if args.child:
        fn = ours if args.child == "ours" else anchor
        print(json.dumps(fn(args.data.resolve(), args.state)))
        return

    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from offboarding.adapters.s3.client import s3_client
    from offboarding.adapters.s3.object_store import ObjectStore
    from offboarding.adapters.seaweedfs import SeaweedS3

    with tempfile.TemporaryDirectory(prefix="bench-s3-") as s3dir, SeaweedS3(Path(s3dir)) as s3:
        env = {
            "AWS_ENDPOINT_URL_S3": s3.endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
        }
        os.environ.update(env)
        ObjectStore(BUCKET, client=s3_client(endpoint_url=s3.endpoint)).ensure_bucket()
        with prefect_test_harness(server_startup_timeout=120):
            env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
            results = {
                side: _child(side, args.data.resolve(), env) for side in args.order.split(",")
            }
    o, a = results["ours"], results["anchor"]
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    summary = {
        "rows": o["rows"],
        "machine": machine,
        "ours": o,
        "anchor": a,
        "ratio": o["seconds"] / a["seconds"],
        "ours_mb_s": o["usage_bytes"] / MB / o["seconds"],
        "anchor_mb_s": a["usage_bytes"] / MB / a["seconds"],
        "ours_rows_s": o["rows"] / o["seconds"],
        "anchor_rows_s": a["rows"] / a["seconds"],
    }
    print(json.dumps(summary))
    print(
        f"| {o['rows']:,} | {o['seconds']:.1f} | {summary['ours_mb_s']:.0f} | "
        f"{summary['ours_rows_s'] / 1e3:.0f} k | {o['peak_rss_mib']:.0f} | {a['seconds']:.1f} | "
        f"{summary['anchor_mb_s']:.0f} | {a['peak_rss_mib']:.0f} | {summary['ratio']:.2f} |"
    )


if __name__ == "__main__":
    main()
