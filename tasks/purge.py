"""§6 retention end: delete the account's exports and its personal data in our store, then
issue a deletion certificate — unless a legal hold is set.

Order, each step safe to repeat after a crash:
1. inventory: list `exports/{account}/` with each object's SHA-256, saved in our DB first, so a
   purge interrupted after the delete still certifies every object;
2. delete the prefix (objects and unfinished multipart uploads);
3. list the prefix again and confirm it is empty before issuing anything;
4. count what our records will lose, 5. write the certificate (JSON + PDF) under
   `certificates/{account}/{case}/`, a prefix purge never deletes;
6. send the customer the written deletion confirmation with the certificate attached;
7. erase personal data in our records (`offboarding.export.erasure`), record the certificate and
   mark the case purged, in one transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from sqlalchemy import select

from offboarding.adapters.s3.object_store import ObjectStore, existing_record
from offboarding.cases.store import (
    OffboardingError,
    audit,
    get_account,
    get_case,
    record_step,
    set_status,
    step_result,
)
from offboarding.domain import CaseStatus
from offboarding.export.deletion_certificate import (
    build_certificate,
    certificate_id_for,
    certificate_json,
    certificate_pdf,
)
from offboarding.export.erasure import erase_account_personal_data
from offboarding.integrations import webhook_events as outbox
from offboarding.settings import get_settings
from offboarding.storage.db import as_utc, utcnow
from offboarding.storage.models import StageRow
from offboarding.storage.models.export import DeletionCertificateRow, ExportObjectRow, PurgeRow
from offboarding.trust.receipts import sign
from offboarding.trust.secrets import signing_key
from tasks.common import RETRYING, current_flow_run_id, db
from tasks.export import store
from tasks.messaging import send_message

ACTOR = "offboarding-purge"
CERTIFICATE_NAMES = ("deletion-certificate.json", "deletion-certificate.pdf")


def export_prefix(st: ObjectStore, account_id: str) -> str:
    return st.key("exports", account_id)


def certificate_keys(st: ObjectStore, account_id: str, case_id: str) -> tuple[str, str]:
    json_name, pdf_name = CERTIFICATE_NAMES
    return (
        st.key("certificates", account_id, case_id, json_name),
        st.key("certificates", account_id, case_id, pdf_name),
    )


def _stage_done(s, case_id: str) -> None:  # noqa: ANN001
    row = s.scalar(select(StageRow).where(StageRow.case_id == case_id, StageRow.stage == "purge"))
    if row is not None and row.status != "done":
        row.status, row.done_at = "done", utcnow()


def _check(case_id: str, trigger: str, allow_early: bool) -> dict[str, Any] | None:
    """None when the purge may go ahead; else why not (refusals are audited)."""
    with db() as s:
        case = get_case(s, case_id)
        if case.status not in (CaseStatus.closed, CaseStatus.purged):
            return {"purged": False, "why": f"case is {case.status}, not closed; purge waits"}
        if case.legal_hold:
            audit(s, case_id, ACTOR, "purge_refused", "legal hold", "a legal hold is set")
            return {"purged": False, "why": "legal hold", "legal_hold": True}
        purge_on = (case.plan or {}).get("purge_on")
        early = purge_on is not None and date.today() < date.fromisoformat(purge_on)
        if trigger == "manual" and early and not allow_early:
            return {
                "purged": False,
                "why": f"retention runs until {purge_on}; pass --now for an erasure request",
            }
    return None


def _inventory(st: ObjectStore, account_id: str, prefix: str) -> list[dict[str, Any]]:
    """Every object under the prefix with bytes and SHA-256 (from our records, else its tags)."""
    keys = st.list_keys(prefix)
    with db() as s:
        known = {
            r.key: r.sha256
            for r in s.scalars(select(ExportObjectRow).where(ExportObjectRow.key.in_(keys)))
        }
    items = []
    for key in keys:
        head = st.head(key)
        if head is None:
            continue  # deleted meanwhile
        sha = known.get(key)
        if sha is None:
            found = existing_record(st, key)
            sha = found.sha256 if found else None
        items.append({"key": key, "bytes": head["bytes"], "sha256": sha})
    return items


def _erase_orchestrator(case_id: str, run_id: str | None) -> dict[str, Any]:
    """Erase the case from Prefect when a Prefect API is configured; say so when not.

    What each try deleted is kept on the purge row (also when the try fails), so a retried
    purge certifies the sum of every try's deletions."""
    from prefect.settings import PREFECT_API_URL

    from tasks.orchestrator_erasure import erase_from_orchestrator

    if not PREFECT_API_URL.value():
        return {"store": "Prefect (orchestrator)", "skipped": "no Prefect API configured here"}
    current = run_id if run_id and not run_id.startswith("cli-") else current_flow_run_id()
    with db() as s:
        tally = dict(s.get(PurgeRow, case_id).orchestrator_erased or {})
    try:
        return erase_from_orchestrator(case_id, current, tally)
    finally:
        with db() as s:
            s.get(PurgeRow, case_id).orchestrator_erased = tally


def run_purge(
    case_id: str, trigger: str = "scheduled", allow_early: bool = False, run_id: str | None = None
) -> dict[str, Any]:
    """Purge one case's account; returns the step result (the same on every later call)."""
    settings = get_settings()
    retention = settings.policy().retention
    with db() as s:
        done = step_result(s, case_id, "purge")
    if done is not None:
        return done
    refused = _check(case_id, trigger, allow_early)
    if refused is not None:
        return refused
    st = store()
    with db() as s:
        case = get_case(s, case_id)
        account_id = case.account_id
        row = s.get(PurgeRow, case_id)
        if row is None:
            row = PurgeRow(
                case_id=case_id,
                account_id=account_id,
                status="started",
                trigger=trigger,
                flow_run_id=run_id,
                prefix=export_prefix(st, account_id),
                inventory=[],
                started_at=utcnow(),
            )
            s.add(row)
            audit(s, case_id, ACTOR, "purge_started", f"trigger {trigger}", data={"run": run_id})
        prefix = row.prefix
    # 1. inventory first (merged with an earlier attempt's), 2. delete
    listed = _inventory(st, account_id, prefix)
    with db() as s:
        row = s.get(PurgeRow, case_id)
        merged = {o["key"]: o for o in row.inventory} | {o["key"]: o for o in listed}
        row.inventory = sorted(merged.values(), key=lambda o: o["key"])
        inventory = row.inventory
    st.delete_prefix(prefix)
    # 3. confirm the prefix is empty before issuing anything
    remaining = st.list_keys(prefix)
    uploads = st.list_multipart_uploads(prefix)
    if remaining or uploads:
        raise RuntimeError(
            f"purge of {prefix} left {len(remaining)} objects and {len(uploads)} uploads; "
            "nothing certified, the next run retries"
        )
    # 4. what our own records will lose (counted now, erased in the final transaction)
    with db() as s:
        erased = erase_account_personal_data(s, account_id, settings.outbox, apply=False)
        case = get_case(s, case_id)
        account = get_account(s, account_id)
        row = s.get(PurgeRow, case_id)
        row.status = "deleted"
        deleted_at = as_utc(row.finished_at) or utcnow()
        row.finished_at = deleted_at
        plan = case.plan or {}
    # 5. the certificate, outside the deleted prefix
    cert = build_certificate(
        case_id=case_id,
        account_id=account_id,
        account_name=account.name,
        deleted_at=deleted_at,
        run_id=run_id,
        trigger=trigger,
        prefix=prefix,
        objects=inventory,
        remaining_objects=len(remaining),
        unfinished_uploads=len(uploads),
        erased=erased,
        closed_on=case.closed_on,
        retention_days=retention.retention_days,
        planned_purge_on=date.fromisoformat(plan["purge_on"]) if "purge_on" in plan else None,
        backup_months=retention.backup_months,
    )
    # the orchestrator's copies too: run inputs and artifacts, through Prefect's API
    cert["orchestrator_erased"] = _erase_orchestrator(case_id, run_id)
    json_key, pdf_key = certificate_keys(st, account_id, case_id)
    where = account.model_dump(mode="json", include={"region", "timezone", "owner"})
    pdf = certificate_pdf(cert, account.locale, where)  # dates in its zone, its owner to reach
    cert = sign(
        cert, signing_key(get_settings())
    )  # verifiable offline: `offboard receipts verify FILE`
    json_rec = st.put_bytes(json_key, certificate_json(cert), "application/json")
    pdf_rec = st.put_bytes(pdf_key, pdf, "application/pdf")
    done = {
        "purged": True,
        "objects_deleted": cert["objects"]["count"],
        "bytes_deleted": cert["objects"]["bytes"],
        "prefix": prefix,
        "certificate_id": cert["certificate_id"],
        "certificate_json": json_key,
        "certificate_pdf": pdf_key,
        "backups_expire_on": cert["retention"]["backups_expire_on"],
    }
    # 6. §6/§12 written confirmation with the certificate, while we still know the recipients
    send_message.fn(
        case_id,
        "deletion_confirmation",
        extra={
            "deletion": {
                "deleted_at": deleted_at.date(),
                "objects_deleted": done["objects_deleted"],
                "backups_expire_on": date.fromisoformat(done["backups_expire_on"]),
                "certificate_id": done["certificate_id"],
            },
            "attachments": [(f"{cert['certificate_id']}.pdf", pdf, "application/pdf")],
        },
    )
    # 7. erase, record, mark purged: one transaction
    with db() as s:
        if s.get(DeletionCertificateRow, case_id) is None:
            s.add(
                DeletionCertificateRow(
                    case_id=case_id,
                    certificate_id=certificate_id_for(case_id),
                    account_id=account_id,
                    issued_at=utcnow(),
                    backups_expire_on=date.fromisoformat(cert["retention"]["backups_expire_on"]),
                    json_key=json_key,
                    json_sha256=json_rec.sha256,
                    pdf_key=pdf_key,
                    pdf_sha256=pdf_rec.sha256,
                    data=cert,
                )
            )
        erase_account_personal_data(s, account_id, settings.outbox)
        s.get(PurgeRow, case_id).status = "certified"
        case = get_case(s, case_id)
        record_step(s, case_id, "purge", done, actor=ACTOR, flow_run_id=run_id)
        set_status(s, case, CaseStatus.purged, ACTOR, "retention ended; data deleted")
        _stage_done(s, case_id)
        s.flush()  # the case's webhook events that nothing will send again go with it
        outbox.prune_settled(s, bool(outbox.endpoints()), case_id=case_id)
    return done


@task(name="purge", **RETRYING)
def purge(case_id: str) -> dict[str, Any]:
    """The scheduled day-90 stage (and the sweeper's catch-up)."""
    return run_purge(case_id, trigger="scheduled", run_id=current_flow_run_id())


def certificate_of(case_id: str, link_expiry_seconds: int | None = None) -> dict[str, Any]:
    """The stored certificate of a purged case, with fresh download links."""
    with db() as s:
        get_case(s, case_id)
        row = s.get(DeletionCertificateRow, case_id)
        if row is None:
            raise OffboardingError(f"case {case_id} has no deletion certificate (not purged yet)")
        out = {
            "certificate_id": row.certificate_id,
            "issued_at": as_utc(row.issued_at).isoformat(),
            "json_key": row.json_key,
            "json_sha256": row.json_sha256,
            "pdf_key": row.pdf_key,
            "pdf_sha256": row.pdf_sha256,
            "certificate": row.data,
        }
    if link_expiry_seconds:
        st = store()
        out["links"] = {
            "json": st.presign(out["json_key"], link_expiry_seconds),
            "pdf": st.presign(out["pdf_key"], link_expiry_seconds),
        }
    return out
