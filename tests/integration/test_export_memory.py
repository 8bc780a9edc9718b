"""Peak memory of an export does not grow with the number of rows: the usage table of one
account, 100 k rows vs 2 M rows, from Parquet through CSV and JSON Lines into SeaweedFS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from offboarding.adapters.seaweedfs import SeaweedS3
from offboarding.export.sample_data import write_sample_dataset
from tests.integration.export_helpers import BUCKET, ROOT

pytestmark = pytest.mark.integration
MiB = 1024 * 1024

_PROBE = textwrap.dedent(
    """
    import json, sys
    from offboarding.export.catalogue import load_catalogue
    from offboarding.domain import Account
    from offboarding.export.exporter import write_part
    from offboarding.adapters.s3.client import return_part_buffers_to_os, s3_client
    from offboarding.adapters.s3.object_store import ObjectStore

    def hwm_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    endpoint, catalogue_path, warm_path = sys.argv[1], sys.argv[2], sys.argv[3]
    account = Account.model_validate(json.loads(sys.argv[4]))
    return_part_buffers_to_os()  # as the export task does
    store = ObjectStore(sys.argv[5], "t/memory", client=s3_client(endpoint_url=endpoint))
    store.ensure_bucket()
    warm = load_catalogue(warm_path)  # imports, pools, connections and writers warmed up
    for fmt in ("csv", "jsonl"):
        write_part(store, warm, account, store.key("warm." + fmt), "usage", fmt)
    try:  # reset the peak-RSS mark to the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    before = hwm_kib()
    cat = load_catalogue(catalogue_path)
    out = {"bytes": 0, "rows": []}
    for fmt in ("csv", "jsonl"):
        record, _ = write_part(store, cat, account, store.key(f"{cat.path.parent.name}.{fmt}"),
                               "usage", fmt)
        out["bytes"] += record.bytes
        out["rows"].append(record.rows)
    out["growth_mib"] = (hwm_kib() - before) / 1024
    print(json.dumps(out))
    """
)


def _account() -> dict[str, Any]:
    accounts = json.loads((ROOT / "offboarding" / "sample_data" / "accounts.json").read_text())
    return next(a for a in accounts if a["account_id"] == "ACME-SMB")


def _peak(s3: SeaweedS3, catalogue: Path, warm: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE,
            s3.endpoint,
            str(catalogue),
            str(warm),
            json.dumps(_account()),
            BUCKET,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=os.environ.copy(),
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_export_memory_is_flat_from_100k_to_2m_rows(
    s3: SeaweedS3, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("memory")
    paths = {}
    for name, rows in (("warm", 20_000), ("small", 100_000), ("large", 2_000_000)):
        paths[name] = write_sample_dataset(base / name, ["ACME-SMB"], rows).catalogue
    small = _peak(s3, paths["small"], paths["warm"])
    large = _peak(s3, paths["large"], paths["warm"])
    assert small["rows"] == [100_000, 100_000] and large["rows"] == [2_000_000, 2_000_000]
    assert large["bytes"] > 15 * small["bytes"]  # 20x the rows (608 MiB of text) went through
    # ...while the peak grew by a bounded working set, not with the rows: a row group being
    # decoded, batches and their text in flight, one 16 MiB part, botocore's request, and
    # allocator slack (mimalloc, polars) that makes the number jitter by ~100 MiB between runs.
    # Measured here: 100 k rows ~120 MiB, 2 M rows 250-280 MiB, 4 M rows ~140-250 MiB.
    assert large["growth_mib"] < small["growth_mib"] + 256, (small, large)
    # and far below the data itself (608 MiB of text): nothing holds the whole table
    assert large["growth_mib"] < large["bytes"] / MiB * 0.75, (small, large)
