"""Purge at retention end against a real SeaweedFS: refused under a legal hold, and otherwise
leaving the account's export prefix empty, our records without personal data, and a deletion
certificate (JSON + PDF) behind in a prefix purge never touches."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from offboarding.adapters.s3.object_store import ObjectStore
from offboarding.adapters.seaweedfs import SeaweedS3
from offboarding.comms.locale_format import format_day
from offboarding.export.sample_data import write_sample_dataset
from tests.integration.export_helpers import (
    body,
    import_sample_accounts,
    offboarding_env,
    run_cli,
    test_store,
)

pytestmark = pytest.mark.integration

ACCOUNTS = ["ACME-SMB", "GLOBEX-ENT", "SOYLENT-EU"]
REQUESTER = "ann@acme-bakeries.example"
LEGAL = "lena.legal@example.com"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, s3: SeaweedS3) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("purge")
    data = tmp / "product-data"
    write_sample_dataset(data, ACCOUNTS, 30_000)
    with offboarding_env(tmp, s3, data / "catalogue.yaml") as e:
        import_sample_accounts()
        e["OFFBOARDING_TOKEN"] = as_person(LEGAL)  # the CLI acts as a proven person
        yield e


def as_person(person: str) -> str:
    """A personal API token, issued the way an admin issues it."""
    from offboard.service.tokens import token_for

    return token_for(person, TOKENS)


TOKENS: dict[str, dict[str, str]] = {}


@pytest.fixture
def store(s3: SeaweedS3, env: dict[str, str]) -> ObjectStore:
    return test_store(s3)


def _export_objects(store: ObjectStore, account_id: str, export_id: str) -> dict[str, str]:
    """Write an export's data objects the way the export tasks do; key -> sha256."""
    from offboarding.cases.store import get_account
    from offboarding.export.exporter import export_key, write_part
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope, utcnow
    from offboarding.storage.models.export import ExportObjectRow
    from tasks.export import catalogue

    cat = catalogue()
    out = {}
    with session_scope(get_settings().db_url) as s:
        account = get_account(s, account_id)
        for category, fmt in cat.parts():
            key = export_key(store, account_id, export_id, f"{category}.{fmt}")
            record, _ = write_part(store, cat, account, key, category, fmt)
            s.add(
                ExportObjectRow(
                    export_id=export_id,
                    name=f"{category}.{fmt}",
                    key=key,
                    category=category,
                    format=fmt,
                    bytes=record.bytes,
                    rows=record.rows,
                    sha256=record.sha256,
                    content_type=record.content_type,
                    done_at=utcnow(),
                )
            )
            out[key] = record.sha256
    return out


def _closed_case(account_id: str, requester: str, purge_due: bool = True) -> str:
    """A closed case with the customer's details on record and a message in the outbox."""
    from offboarding.cases.store import get_account, open_case, set_status
    from offboarding.cases.timeline import plan_timeline
    from offboarding.domain import CancellationRequest, CaseStatus
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope
    from tasks.messaging import send_message

    with session_scope(get_settings().db_url) as s:
        case, _ = open_case(
            s,
            CancellationRequest(
                account_id=account_id,
                channel="email",
                requested_by=requester,
                requested_at=datetime.now(UTC),
                reason_text="We are closing the bakery, sadly",
            ),
        )
        account = get_account(s, account_id)
        plan = plan_timeline(account, date(2020, 1, 1), get_settings().policy()).to_dict()
        if not purge_due:
            plan["purge_on"] = "2999-01-01"
        case.plan = plan
        case.reason = {"category": "business_closure", "detail": "Owner Ann is retiring"}
        case.closed_on = date.fromisoformat(plan["closure_on"])
        set_status(s, case, CaseStatus.closed, "test")
        case_id = case.case_id
    send_message.fn(case_id, "acknowledgement")
    return case_id


def test_purge_refused_under_legal_hold_then_runs_when_lifted(
    env: dict[str, str], store: ObjectStore
) -> None:
    keys = _export_objects(store, "GLOBEX-ENT", "E-hold")
    case_id = _closed_case("GLOBEX-ENT", "hank@globex.example")

    dana = {**env, "OFFBOARDING_TOKEN": as_person("dana.lee@example.com")}
    not_legal = run_cli(
        ["legal-hold", case_id, "--on", "--by", "dana.lee@example.com", "--reason", "x"], dana
    )
    assert not_legal.returncode == 3 and "legal role" in not_legal.stderr
    typed = run_cli(["legal-hold", case_id, "--on", "--by", LEGAL, "--reason", "x"], dana)
    assert typed.returncode != 0 and "is not you" in typed.stderr  # --by is no identity
    held = run_cli(
        ["legal-hold", case_id, "--on", "--by", LEGAL, "--reason", "litigation hold #42", "--json"],
        env,
    )
    assert held.returncode == 0, held.stderr
    assert json.loads(held.stdout)["legal_hold"] is True

    refused = run_cli(["purge", case_id, "--json"], env)
    assert refused.returncode == 3
    assert json.loads(refused.stdout)["why"] == "legal hold"
    from tasks.purge import purge

    assert purge.fn(case_id)["purged"] is False  # the scheduled stage refuses too
    assert sorted(store.list_keys("exports/GLOBEX-ENT")) == sorted(keys)  # nothing deleted
    assert store.list_keys(f"certificates/GLOBEX-ENT/{case_id}") == []
    from offboard.service import case_view

    view = case_view(case_id)
    actions = [a["action"] for a in view["audit"]]
    assert {"legal_hold_refused", "legal_hold_set", "purge_refused"} <= set(actions)
    assert view["status"] == "closed"

    lifted = run_cli(
        ["legal-hold", case_id, "--off", "--by", LEGAL, "--reason", "case settled"], env
    )
    assert lifted.returncode == 0, lifted.stderr
    assert purge.fn(case_id)["purged"] is True
    assert store.list_keys("exports/GLOBEX-ENT") == []


def test_purge_empties_the_prefix_and_leaves_a_certificate(
    env: dict[str, str], store: ObjectStore
) -> None:
    keys = _export_objects(store, "ACME-SMB", "E-one")
    keys |= _export_objects(store, "ACME-SMB", "E-two")
    other = _export_objects(store, "SOYLENT-EU", "E-other")
    # an upload a crashed export left behind
    dangling = store.client.create_multipart_upload(
        Bucket=store.bucket, Key="exports/ACME-SMB/E-crashed/usage.csv"
    )
    assert dangling["UploadId"]
    case_id = _closed_case("ACME-SMB", REQUESTER)

    early = run_cli(["purge", case_id], env)  # planned in 2020: retention has ended
    assert early.returncode == 0, early.stderr[-2000:] + early.stdout
    assert store.list_keys("exports/ACME-SMB") == []
    assert store.list_multipart_uploads("exports/ACME-SMB") == []
    assert sorted(store.list_keys("exports/SOYLENT-EU")) == sorted(other)  # isolation

    cert_json, cert_pdf = (
        f"certificates/ACME-SMB/{case_id}/deletion-certificate.json",
        f"certificates/ACME-SMB/{case_id}/deletion-certificate.pdf",
    )
    cert = json.loads(body(store, cert_json))
    assert cert["objects"]["count"] == len(keys)
    assert {o["key"]: o["sha256"] for o in cert["objects"]["items"]} == keys
    assert cert["verification"]["empty"] is True
    assert cert["run"]["trigger"] == "manual" and cert["run"]["id"].startswith("cli-")
    deleted_on = date.fromisoformat(cert["deleted_at"][:10])
    expires = date.fromisoformat(cert["retention"]["backups_expire_on"])
    assert (expires.year - deleted_on.year) * 12 + expires.month - deleted_on.month == 12
    assert cert["our_records_erased"]["contacts"] == 1
    assert REQUESTER not in json.dumps(cert)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body(store, cert_pdf))).pages)
    assert cert["certificate_id"] in text and "Acme Bakeries" in text
    # written for the reader: Acme is en + US, so June 14, 2027 rather than 2027-06-14
    assert format_day(cert["retention"]["backups_expire_on"], "en", "US") in " ".join(text.split())

    # a signed receipt: it verifies offline, and any change to it shows
    receipt = Path(env["OFFBOARDING_STATE_DIR"]) / f"{case_id}-certificate.json"
    receipt.write_bytes(body(store, cert_json))
    checked = run_cli(["receipts", "verify", str(receipt), "--json"], env)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["kind"] == "deletion certificate"
    public = json.loads(run_cli(["keys", "show", "--json"], env).stdout)["public_key"]
    assert (
        run_cli(["receipts", "verify", str(receipt), "--public-key", public], env).returncode == 0
    )
    forged = {**cert, "objects": {**cert["objects"], "count": cert["objects"]["count"] - 1}}
    receipt.write_text(json.dumps(forged), encoding="utf-8")
    tampered = run_cli(["receipts", "verify", str(receipt)], env)
    assert tampered.returncode != 0 and "was changed" in tampered.stderr
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from offboarding.trust.receipts import public_key_text

    stranger = public_key_text(Ed25519PrivateKey.generate().public_key())
    receipt.write_bytes(body(store, cert_json))
    foreign = run_cli(["receipts", "verify", str(receipt), "--public-key", stranger], env)
    assert foreign.returncode != 0 and "signed by key" in foreign.stderr

    # recorded in our DB, available again later with fresh links
    shown = run_cli(["certificate", case_id, "--json"], env)
    assert shown.returncode == 0, shown.stderr
    got = json.loads(shown.stdout)
    assert got["certificate"] == cert
    assert got["pdf_sha256"] == hashlib.sha256(body(store, cert_pdf)).hexdigest()
    import urllib.request

    with urllib.request.urlopen(got["links"]["json"], timeout=10) as resp:
        assert json.loads(resp.read()) == cert

    # our records: the case is purged and holds no personal data; the audit log has none
    from offboard.service import case_view
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope
    from offboarding.storage.models import AccountRow, AuditRow, MessageRow
    from offboarding.storage.models.integrations import WebhookEventRow

    view = case_view(case_id)
    assert view["status"] == "purged"
    assert view["requested_by"] == "[erased]"
    assert view["reason"]["detail"] == "" and view["reason"]["category"] == "business_closure"
    with session_scope(get_settings().db_url) as s:
        assert s.get(AccountRow, "ACME-SMB").data["contacts"] == []
        messages = s.scalars(select(MessageRow).where(MessageRow.case_id == case_id)).all()
        kinds = {m.kind: m for m in messages}
        assert kinds["acknowledgement"].to_addr == "[erased]"
        assert not Path(kinds["acknowledgement"].location).exists()
        assert "deletion_confirmation" in kinds  # the written confirmation went out first
        trail = s.scalars(
            select(AuditRow).where(AuditRow.case_id == case_id).order_by(AuditRow.id)
        ).all()
        start = next(i for i, a in enumerate(trail) if a.action == "purge_started")
        assert [a.action for a in trail[start:]][-1] == "status_changed"
        for row in trail[start:]:  # what the purge wrote holds no personal data
            assert REQUESTER not in json.dumps([row.actor, row.what, row.why, row.data])
        # no webhook endpoint here: none of the case's events is kept, nothing will send it
        events = s.scalars(select(WebhookEventRow).where(WebhookEventRow.case_id == case_id))
        assert events.all() == []

    # a second run changes nothing and returns the same result
    again = run_cli(["purge", case_id, "--json"], env)
    assert again.returncode == 0
    assert json.loads(again.stdout)["certificate_id"] == cert["certificate_id"]
    assert json.loads(body(store, cert_json)) == cert


def test_manual_purge_waits_for_the_retention_date_unless_now(
    env: dict[str, str], store: ObjectStore
) -> None:
    keys = _export_objects(store, "SOYLENT-EU", "E-early")
    case_id = _closed_case("SOYLENT-EU", "jonas@soylent.example", purge_due=False)
    waited = run_cli(["purge", case_id], env)
    assert waited.returncode == 3 and "2999-01-01" in waited.stderr
    assert set(keys) <= set(store.list_keys("exports/SOYLENT-EU"))
    now = run_cli(["purge", case_id, "--now", "--json"], env)
    assert now.returncode == 0, now.stderr
    assert store.list_keys("exports/SOYLENT-EU") == []


def test_purge_of_an_open_case_is_refused_and_bad_input_exits_2(env: dict[str, str]) -> None:
    from offboarding.cases.store import open_case
    from offboarding.domain import CancellationRequest
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope

    with session_scope(get_settings().db_url) as s:
        case, _ = open_case(
            s,
            CancellationRequest(
                account_id="INITECH-MM",
                requested_by="bill@initech.example",
                requested_at=datetime.now(UTC),
            ),
        )
        case_id = case.case_id
    refused = run_cli(["purge", case_id], env)
    assert refused.returncode == 3 and "not closed" in refused.stderr
    assert run_cli(["purge", "C-NOPE"], env).returncode == 2
    no_flag = run_cli(["legal-hold", case_id, "--by", LEGAL, "--reason", "r"], env)
    assert no_flag.returncode == 2
    no_reason = run_cli(["legal-hold", case_id, "--on", "--by", LEGAL, "--reason", " "], env)
    assert no_reason.returncode == 2 and "reason" in no_reason.stderr
    assert run_cli(["certificate", case_id], env).returncode == 2
