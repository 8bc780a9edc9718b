"""Export an account's data (§6): category × format as concurrent tasks, a PDF report, then a
manifest; for a case, presigned links to the customer and the delivery time against 48 h.

Runs as a subflow of the offboarding flow and on its own for a data-portability request
(`offboard export ACCOUNT`). A rerun with the same export id skips finished objects.
"""

from __future__ import annotations

import os
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.export import deliver_export, export_part, export_report, start_export, write_manifest

#: Concurrency limit of the fan-out. Uploads are CPU-bound on small machines
#: (PERFORMANCE_NOTES): more workers than cores only adds memory.
EXPORT_CONCURRENCY = int(os.environ.get("OFFBOARDING_EXPORT_CONCURRENCY", "4"))


@flow(
    name="offboarding-export",
    flow_run_name="export-{account_id}",
    persist_result=True,
    task_runner=ThreadPoolTaskRunner(max_workers=EXPORT_CONCURRENCY),
)
def export_flow(
    account_id: str, case_id: str | None = None, export_id: str | None = None
) -> dict[str, Any]:
    started = start_export(account_id, case_id, export_id)
    export_id = started["export_id"]
    futures = [export_part.submit(account_id, export_id, c, f) for c, f in started["parts"]]
    wait(futures)  # every upload finished or aborted before a failure is raised
    parts = [f.result() for f in futures]
    report = export_report(account_id, export_id, case_id, parts)
    manifest = write_manifest(account_id, export_id, [*parts, report])
    create_table_artifact(
        key=f"export-{export_id.lower()}"[:60].replace("_", "-"),
        table=[
            {k: o[k] for k in ("name", "kind", "rows", "bytes", "sha256")}
            for o in manifest["objects"]
        ],
        description=f"Export {export_id} of account {account_id}: {manifest['manifest_key']}",
    )
    if case_id:
        return {**manifest, "delivery": deliver_export(case_id, export_id)}
    return manifest
