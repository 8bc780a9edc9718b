"""Shared setup for the communications tests: settings pointed at a test database, the sample
accounts loaded, and cases opened directly (no flow run needed to send a message)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from offboarding.cases.store import open_case, upsert_accounts
from offboarding.domain import Account, CancellationRequest
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope

SAMPLE = Path(__file__).resolve().parents[2] / "offboarding" / "sample_data" / "accounts.json"
REQUESTERS = {
    "ACME-SMB": "ann@acme-bakeries.example",
    "GLOBEX-ENT": "hank@globex.example",
    "SAKURA-JP": "hanako@sakura-design.example",
    "KAMPUNG-MY": "ahmad@kampung.example",
    "SOYLENT-EU": "jonas@soylent.example",
}


@contextmanager
def comms_env(state_dir: Path, db_url: str, **env: str) -> Iterator[None]:
    """OFFBOARDING_* settings for one test; the settings cache is cleared on the way in and out."""
    values = {
        "OFFBOARDING_STATE_DIR": str(state_dir),
        "OFFBOARDING_DATABASE_URL": db_url,
        "OFFBOARDING_OUTBOX_DIR": str(state_dir / "outbox"),
        "OFFBOARDING_SENDGRID_API_KEY": "",
        "OFFBOARDING_MAIL_FROM": "",
        **env,
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("OFFBOARDING_POLICY_FILE", raising=False)
        for k, v in values.items():
            mp.setenv(k, v)
        get_settings.cache_clear()
        try:
            with session_scope(db_url) as s:
                accounts = [Account.model_validate(a) for a in json.loads(SAMPLE.read_text())]
                upsert_accounts(s, accounts)
            yield
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


def open_test_case(
    account_id: str, ref: str, channel: str = "email", requested_at: datetime | None = None
) -> str:
    with session_scope(get_settings().db_url) as s:
        case, _ = open_case(
            s,
            CancellationRequest(
                account_id=account_id,
                channel=channel,
                requested_by=REQUESTERS[account_id],
                requested_at=requested_at or datetime.now(UTC),
                reason_text="please cancel",
                external_ref=ref,
            ),
        )
        return case.case_id


def give_plan_and_invoice(case_id: str) -> bytes:
    """What the later messages need: the dated plan (today) and a final invoice; returns its PDF."""
    from datetime import date

    from offboarding.cases.billing import final_invoice
    from offboarding.cases.invoice_pdf import invoice_pdf
    from offboarding.cases.store import get_account, get_case
    from offboarding.cases.timeline import plan_timeline
    from offboarding.storage.models import InvoiceRow

    with session_scope(get_settings().db_url) as s:
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        plan = plan_timeline(account, date.today(), get_settings().policy())
        case.plan = plan.to_dict()
        invoice = final_invoice(account, plan.closure_on)
        s.add(
            InvoiceRow(
                case_id=case_id,
                issued_on=invoice.issued_on,
                total=str(invoice.total),
                refund_due=str(invoice.refund_due),
                data=invoice.to_dict(),
            )
        )
        return invoice_pdf(invoice, account.name)
