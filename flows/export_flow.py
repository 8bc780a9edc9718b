"""Export an account's data (§6): category × format in parallel, then a manifest.

Runs as a subflow of the offboarding flow and on its own for a data-portability request.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.export import PARTS, deliver_export, export_part, start_export, write_manifest

#: Concurrency limit of the fan-out: uploads are CPU-bound on small machines (PERFORMANCE_NOTES).
EXPORT_CONCURRENCY = 4


@flow(
    name="offboarding-export",
    flow_run_name="export-{account_id}",
    persist_result=True,
    task_runner=ThreadPoolTaskRunner(max_workers=EXPORT_CONCURRENCY),
)
def export_flow(
    account_id: str, case_id: str | None = None, export_id: str | None = None
) -> dict[str, Any]:
    export_id = start_export(account_id, case_id, export_id)
    futures = [export_part.submit(account_id, export_id, cat, fmt) for cat, fmt in PARTS]
    parts = [f.result() for f in futures]
    manifest = write_manifest(account_id, export_id, parts)
    create_table_artifact(
        key=f"export-{export_id.lower()}"[:60].replace("_", "-"),
        table=[{k: o[k] for k in ("key", "rows", "bytes", "sha256")} for o in manifest["objects"]],
        description=f"Export {export_id} of account {account_id}",
    )
    if case_id:
        manifest["delivery"] = deliver_export(case_id, export_id)
    return manifest
