"""Data out and data gone (§6, §9): sample product data, an account's export, a purge, legal
holds and deletion certificates."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from offboard.service.database import store_session
from offboarding.cases.store import get_account
from offboarding.settings import get_settings

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "offboarding" / "sample_data"


def sample_account_ids(n: int) -> list[str]:
    """The sample accounts first (the demo's), then generated ids."""
    known = json.loads((SAMPLE_DATA / "accounts.json").read_text(encoding="utf-8"))
    ids = [a["account_id"] for a in known][:n]
    return ids + [f"ACCT-{i:05d}" for i in range(1, n - len(ids) + 1)]


def write_sample_data(accounts: int, usage_rows: int, out: Path | None, seed: int) -> dict:
    """A product dataset (Parquet) for that many accounts, with the catalogue exports read;
    by default where the default catalogue looks for it (`<state dir>/sample-data`)."""
    from offboarding.export.catalogue import SAMPLE_DIR_NAME
    from offboarding.export.sample_data import write_sample_dataset

    folder = out or get_settings().state_dir / SAMPLE_DIR_NAME
    return write_sample_dataset(folder, sample_account_ids(accounts), usage_rows, seed).as_dict()


def export_account(account_id: str, export_id: str | None = None) -> dict[str, Any]:
    """Export a known account's data now (portability, no cancellation): the manifest. An
    export id reruns an interrupted export; finished objects are skipped."""
    with store_session() as s:
        get_account(s, account_id)
    from flows.export_flow import export_flow

    return export_flow(account_id=account_id, export_id=export_id)


def purge_now(case_id: str, before_retention_date: bool) -> dict[str, Any]:
    """Purge a closed case's data now (`purged: False` with why when the rules refuse), by a
    person proven by their API token, who is named in the audit log."""
    from offboard.service.tokens import proven_actor
    from offboarding.cases.store import audit, get_case
    from tasks.purge import run_purge

    actor = proven_actor(None)
    with store_session() as s:
        get_case(s, case_id)
        why = "before the retention date" if before_retention_date else "at retention"
        audit(s, case_id, actor, "purge_requested", "by hand", why)
    return run_purge(
        case_id,
        trigger="manual",
        allow_early=before_retention_date,
        run_id=f"cli-{uuid.uuid4()}",
    )


def set_hold(case_id: str, on: bool, by: str, reason: str) -> dict[str, Any]:
    """Set or lift a legal hold; only holders of the legal role may (`refused` says why not).
    The person is the owner of the API token; `by` only has to agree with it."""
    from offboard.service.tokens import proven_actor
    from offboarding.cases.legal_hold import set_legal_hold

    by = proven_actor(by)
    holders = get_settings().policy().holders("legal")
    with store_session() as s:
        return set_legal_hold(s, case_id, on, by, reason, holders)


def deletion_certificate(case_id: str, link_days: int) -> dict[str, Any]:
    """The certificate of a purged case, with download links valid for that many days."""
    from tasks.purge import certificate_of

    return certificate_of(case_id, link_days * 86_400)


def keep_report(
    case_id: str, dest: Path | None = None, timeout: float = 120, poll: float = 0.5
) -> dict[str, Any] | None:
    """Copy the PDF report of the case's export out of the object store once the export has
    written it (the demo keeps one to open: at retention end the purge deletes the original).
    The copy is checked against the SHA-256 the export recorded. None: no report in time."""
    import hashlib
    import time

    from sqlalchemy import select

    from offboarding.export.exporter import REPORT_NAME
    from offboarding.storage.models import ExportRow
    from offboarding.storage.models.export import ExportObjectRow
    from tasks.export import store

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store_session() as s:
            found = s.execute(
                select(
                    ExportRow.account_id,
                    ExportRow.export_id,
                    ExportObjectRow.key,
                    ExportObjectRow.sha256,
                )
                .join(ExportObjectRow, ExportRow.export_id == ExportObjectRow.export_id)
                .where(ExportRow.case_id == case_id, ExportObjectRow.name == REPORT_NAME)
            ).first()
        if found is not None:
            account_id, export_id, key, sha256 = found
            st = store()
            data = st.client.get_object(Bucket=st.bucket, Key=key)["Body"].read()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise RuntimeError(f"the report at {key} is not the one export {export_id} wrote")
            name = f"{account_id}-{case_id}-{REPORT_NAME}"
            path = dest or get_settings().state_dir / "reports" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return {"path": str(path), "s3_uri": f"s3://{st.bucket}/{key}", "sha256": sha256}
        time.sleep(poll)
    return None
