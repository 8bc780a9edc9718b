"""`make demo` says where the Japanese account's export report is (issue 16): the demo keeps a
checked copy of the report its case export wrote (the purge deletes the original at retention
end) and the summary prints that path. SQLite in a temporary folder, a stand-in object store.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from offboard.demo.runner import KEEP_REPORTS
from offboard.demo.summary import export_reports, print_summary
from offboard.service.exports import keep_report
from offboarding.settings import get_settings
from offboarding.storage.db import engine_for, session_scope
from offboarding.storage.models import ExportRow
from offboarding.storage.models.export import ExportObjectRow

PDF = b"%PDF-1.4 the Japanese report"
KEY = "exports/SAKURA-JP/C-JP000001-export/report.pdf"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A demo-like state folder whose database records a case export's report."""
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(tmp_path / "demo"))
    monkeypatch.delenv("OFFBOARDING_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    url = get_settings().db_url
    with session_scope(url) as s:
        now = datetime.now(UTC)
        s.add(
            ExportRow(
                export_id="C-JP000001-export",
                account_id="SAKURA-JP",
                case_id="C-JP000001",
                status="delivered",
                requested_at=now,
            )
        )
        s.add(
            ExportObjectRow(
                export_id="C-JP000001-export",
                name="report.pdf",
                key=KEY,
                category="report",
                format="pdf",
                bytes=len(PDF),
                rows=None,
                sha256=hashlib.sha256(PDF).hexdigest(),
                content_type="application/pdf",
                done_at=now,
            )
        )
    yield tmp_path / "demo"
    engine_for(url).dispose()
    get_settings.cache_clear()


def _store(monkeypatch: pytest.MonkeyPatch, body: bytes) -> None:
    import tasks.export

    def get_object(Bucket: str, Key: str) -> dict:  # noqa: N803 - boto3's names
        assert (Bucket, Key) == ("offboarding-exports", KEY)
        return {"Body": io.BytesIO(body)}

    fake = SimpleNamespace(
        bucket="offboarding-exports", client=SimpleNamespace(get_object=get_object)
    )
    monkeypatch.setattr(tasks.export, "store", lambda: fake)


def test_the_demo_keeps_the_japanese_accounts_report() -> None:
    assert "SAKURA-JP" in KEEP_REPORTS


def test_the_case_exports_report_is_copied_and_checked(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(monkeypatch, PDF)
    kept = keep_report("C-JP000001", timeout=5)
    assert kept is not None
    assert Path(kept["path"]) == state / "reports" / "SAKURA-JP-C-JP000001-report.pdf"
    assert Path(kept["path"]).read_bytes() == PDF
    assert kept["s3_uri"] == f"s3://offboarding-exports/{KEY}"
    assert keep_report("C-NO-EXPORT", timeout=0.2, poll=0.05) is None

    _store(monkeypatch, b"%PDF-1.4 something else")  # not the bytes the export recorded
    with pytest.raises(RuntimeError, match="not the one export"):
        keep_report("C-JP000001", timeout=5)


def test_the_summary_prints_where_the_report_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = tmp_path / ".state" / "demo" / "reports" / "SAKURA-JP-C-JP000001-report.pdf"
    kept = {"path": str(report), "s3_uri": f"s3://offboarding-exports/{KEY}", "sha256": "ab"}
    rows = [
        {
            "case_id": "C-JP000001",
            "account_id": "SAKURA-JP",
            "title": "Japanese account (low value)",
            "path": "acknowledged",
            "status": "purged",
            "elapsed": 1.0,
            "ok": True,
            "report": kept,
        },
        {
            "case_id": "?",
            "account_id": "ACME-SMB",
            "title": "t",
            "path": "",
            "status": "x",
            "elapsed": 0,
            "ok": False,
        },  # fmt: skip
    ]
    surveys = {"answered": [], "declined": [], "no_reply": [], "failed": []}
    stack = SimpleNamespace(state_dir=tmp_path / ".state" / "demo", ui_url="http://127.0.0.1:1")
    out = io.StringIO()
    print_summary(rows, surveys, stack, Console(file=out, width=120), as_json=False)
    line = next(ln for ln in out.getvalue().splitlines() if ln.startswith("Export report of"))
    assert "SAKURA-JP" in line
    assert ".state/demo/reports/SAKURA-JP-C-JP000001-report.pdf" in line and KEY in line
    assert export_reports(rows) == {"SAKURA-JP": kept}
