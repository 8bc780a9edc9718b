"""The export flow against a real SeaweedFS S3 server and a real Prefect API (test harness):
the CLI's manifest, isolation between interleaved accounts, a fault mid-upload then a rerun,
S3 down for 30 s mid-export, and the delivery time a case shows."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader

from offboarding.adapters.s3.client import s3_client
from offboarding.adapters.s3.object_store import ObjectStore
from offboarding.adapters.seaweedfs import SeaweedS3
from offboarding.comms.locale_format import format_day
from offboarding.export.sample_data import write_sample_dataset
from tests.integration.export_helpers import (
    BUCKET,
    body,
    check_export,
    import_sample_accounts,
    offboarding_env,
    run_cli,
    source_table,
    test_store,
)
from tests.integration.tcp_gate import TcpGate

pytestmark = pytest.mark.integration

ACCOUNTS = ["ACME-SMB", "GLOBEX-ENT", "INITECH-MM", "UMBRELLA-MM", "SOYLENT-EU", "KAMPUNG-MY"]


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six accounts, their rows interleaved; ~100 k usage rows each (a multipart usage.csv)."""
    out = tmp_path_factory.mktemp("product-data")
    write_sample_dataset(out, ACCOUNTS, 600_000)
    return out


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, s3: SeaweedS3, dataset: Path, prefect_api: str
) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("export")
    with offboarding_env(
        tmp,
        s3,
        dataset / "catalogue.yaml",
        PREFECT_API_URL=prefect_api,
        PREFECT_LOGGING_LEVEL="WARNING",
        OFFBOARDING_EXPORT_PART_MIB="5",
    ) as e:
        import_sample_accounts()
        yield e


@pytest.fixture
def store(s3: SeaweedS3, env: dict[str, str]) -> ObjectStore:
    return test_store(s3)


def test_cli_export_json_returns_a_verifiable_manifest(
    env: dict[str, str], store: ObjectStore, dataset: Path
) -> None:
    result = run_cli(["export", "ACME-SMB", "--json"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads(result.stdout)
    bodies = check_export(store, manifest, "ACME-SMB", dataset)
    # every §6 category and the formats the manifest says
    kinds = {(o["category"], o["format"]): o["kind"] for o in manifest["objects"]}
    assert {c for c, _ in kinds} >= {
        "account_and_users",
        "content",
        "usage",
        "integrations_and_configuration",
        "generated_reports",
        "report",
    }
    assert kinds[("usage", "jsonl")].startswith("large table")
    assert kinds[("integrations_and_configuration", "json")].startswith("structured data")
    assert manifest["objects"][0]["content_type"]
    # the manifest is a signed receipt: the stored copy verifies offline with our public key
    stored = Path(env["OFFBOARDING_STATE_DIR"]) / "manifest.json"
    stored.write_bytes(body(store, manifest["manifest_key"]))
    checked = run_cli(["receipts", "verify", str(stored), "--json"], env)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["kind"] == "export manifest"
    # the usage table went up in several parts (streamed), and still matches the source
    usage = next(o for o in manifest["objects"] if o["name"] == "usage.csv")
    assert store.head(usage["key"])["etag"].endswith(tuple(f"-{n}" for n in range(2, 100)))
    # the PDF opens and names the account, with its row counts
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(bodies["report.pdf"])).pages)
    assert "Acme Bakeries" in text and "ACME-SMB" in text
    assert f"{usage['rows']:,}" in text
    assert store.list_multipart_uploads("exports") == []


def test_export_of_one_account_never_holds_another_accounts_rows(
    env: dict[str, str], store: ObjectStore, dataset: Path
) -> None:
    from flows.export_flow import export_flow

    manifests = {a: export_flow(account_id=a) for a in ("GLOBEX-ENT", "INITECH-MM")}
    for account, manifest in manifests.items():
        check_export(store, manifest, account, dataset)  # rows: only this account's
        other = next(a for a in manifests if a != account)
        for o in manifest["objects"]:
            assert other not in body(store, o["key"]).decode("utf-8", "replace")
    # the source really was interleaved: neighbouring rows belong to different accounts
    usage = source_table(dataset, "usage", "GLOBEX-ENT").num_rows
    assert 0 < usage < 600_000 / 2


class _Fault(Exception):
    """A fault no retry can fix (e.g. the connection is gone for good)."""


def _faulty_store(s3: SeaweedS3, name: str, part: int) -> ObjectStore:
    client = s3_client(endpoint_url=s3.endpoint)
    state = {"fired": False}

    def inject(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].endswith(name) and params["PartNumber"] == part and not state["fired"]:
            state["fired"] = True
            raise _Fault(f"connection lost uploading part {part} of {name}")

    client.meta.events.register("before-parameter-build.s3.UploadPart", inject)
    st = ObjectStore(BUCKET, "", client=client)
    st.ensure_bucket()
    return st


def test_fault_mid_upload_aborts_then_rerun_completes_with_the_same_manifest(
    env: dict[str, str],
    store: ObjectStore,
    s3: SeaweedS3,
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tasks.export
    from flows.export_flow import export_flow

    export_id = "E-fault-test"
    prefix = f"exports/SOYLENT-EU/{export_id}"
    monkeypatch.setattr(tasks.export, "store", lambda: _faulty_store(s3, "usage.csv", 2))
    with pytest.raises(_Fault):
        export_flow(account_id="SOYLENT-EU", export_id=export_id)
    assert store.list_multipart_uploads(prefix) == []  # the failed upload was aborted
    assert store.head(f"{prefix}/usage.csv") is None
    assert store.head(f"{prefix}/manifest.json") is None  # nothing published half-done
    finished = {k: store.head(k)["last_modified"] for k in store.list_keys(prefix)}
    assert finished  # the other parts completed

    monkeypatch.undo()
    first = export_flow(account_id="SOYLENT-EU", export_id=export_id)
    check_export(store, first, "SOYLENT-EU", dataset)
    for key, modified in finished.items():  # complete objects were skipped, not rewritten
        assert store.head(key)["last_modified"] == modified
    manifest_bytes = body(store, first["manifest_key"])

    again = export_flow(account_id="SOYLENT-EU", export_id=export_id)
    assert again == first
    assert body(store, first["manifest_key"]) == manifest_bytes
    assert store.list_multipart_uploads("exports") == []

    # a clean export of the same account writes the same data bytes (same checksums); only
    # the report differs, since it names its export id
    clean = export_flow(account_id="SOYLENT-EU")
    data = {o["name"]: o["sha256"] for o in first["objects"] if o["format"] != "pdf"}
    assert {o["name"]: o["sha256"] for o in clean["objects"] if o["format"] != "pdf"} == data


def _closed_case(account_id: str) -> str:
    """A case through planning, as the offboarding flow leaves it before its export."""
    from offboarding.cases.store import get_account, open_case, set_status
    from offboarding.cases.timeline import plan_timeline
    from offboarding.domain import CancellationRequest, CaseStatus
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope

    with session_scope(get_settings().db_url) as s:
        case, _ = open_case(
            s,
            CancellationRequest(
                account_id=account_id,
                channel="email",
                requested_by="jo@kampung.example",
                requested_at=datetime.now(UTC),
                reason_text="closing down",
            ),
        )
        account = get_account(s, account_id)
        case.plan = plan_timeline(account, date.today(), get_settings().policy()).to_dict()
        set_status(s, case, CaseStatus.offboarding, "test")
        return case.case_id


def test_case_export_records_delivery_time_and_show_displays_it(
    env: dict[str, str], store: ObjectStore, dataset: Path
) -> None:
    from flows.export_flow import export_flow

    case_id = _closed_case("KAMPUNG-MY")
    manifest = export_flow(account_id="KAMPUNG-MY", case_id=case_id)
    check_export(store, manifest, "KAMPUNG-MY", dataset)
    delivery = manifest["delivery"]
    assert delivery["target_hours"] == 48 and delivery["met"] is True
    assert 0 <= delivery["hours"] < 1

    shown = run_cli(["show", case_id, "--json"], env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    view = json.loads(shown.stdout)
    (export,) = view["exports"]
    assert export["delivery_hours"] == delivery["hours"]
    assert export["target_hours"] == 48 and export["met"] is True
    human = run_cli(["show", case_id], env)
    assert "delivered in" in human.stdout and "target 48" in human.stdout, human.stdout
    # the PDF of a case export states the retention and deletion dates
    report = next(o for o in manifest["objects"] if o["name"] == "report.pdf")
    pdf = PdfReader(io.BytesIO(body(store, report["key"])))
    text = "".join(p.extract_text() for p in pdf.pages)
    # ... in the account's language (Malay), its fonts embedded
    flat = " ".join(text.split())  # line breaks fall anywhere
    for day in (view["plan"]["purge_on"], view["plan"]["backups_expire_on"]):
        assert format_day(day, "ms", "MY") in flat
    assert "Penyimpanan dan pemadaman" in flat and "Untuk berhubung terus" in flat
    for font in pdf.pages[0]["/Resources"]["/Font"].values():
        assert "/FontFile2" in font.get_object()["/FontDescriptor"], font.get_object()


def test_cli_export_rides_out_s3_down_for_30_s_mid_export(
    env: dict[str, str], store: ObjectStore, dataset: Path
) -> None:
    """S3 goes away after the export's first object and comes back 30 s later: the same
    command finishes, with a correct manifest and no unfinished upload left behind."""
    prefix = "exports/UMBRELLA-MM"
    before = set(store.list_keys(prefix))
    with TcpGate(urlsplit(env["AWS_ENDPOINT_URL_S3"]).port or 80) as gate:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "offboard"), "export", "UMBRELLA-MM", "--json"],
            env={**os.environ, **env, "AWS_ENDPOINT_URL_S3": gate.endpoint},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while not set(store.list_keys(prefix)) - before:  # the first object is written
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the export wrote nothing in 300 s"
            time.sleep(0.05)
        gate.down()
        time.sleep(30)
        assert proc.poll() is None, "the export ended while S3 was down"
        gate.up()
        out, errs = proc.communicate(timeout=600)
    assert proc.returncode == 0, errs[-3000:]
    manifest = json.loads(out)
    check_export(store, manifest, "UMBRELLA-MM", dataset)
    assert store.list_multipart_uploads(prefix) == []
    assert "S3 unreachable" in errs  # the wait was said, not silent
