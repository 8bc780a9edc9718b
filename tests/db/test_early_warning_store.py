"""The early-warning scan on a real database (SQLite and PostgreSQL), without Prefect: product
tables through the catalogue, episodes exactly the planted patterns, one alert per episode
through the message ledger, reruns that open and send nothing, resolution and quiet days."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from offboarding.cases.store import OffboardingError
from offboarding.early_warning.sample.population import PLANTED
from offboarding.early_warning.sample.writing import ensure_product_data
from offboarding.early_warning.store.episodes import episodes, resolve
from offboarding.early_warning.store.population import load_population
from offboarding.export.sample_data import write_sample_dataset
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.storage.models import MessageRow
from offboarding.storage.models.early_warning import RiskScanRow
from tasks.early_warning import alert_owners, scan_accounts
from tests.integration.comms_env import SAMPLE, comms_env, open_test_case

DAY = date(2026, 11, 30)
WANTED = {(a, c) for a, causes in PLANTED.items() for c in causes}


@pytest.fixture
def env(db_url: str, tmp_path: Path):
    known = {a["account_id"]: a for a in json.loads(SAMPLE.read_text(encoding="utf-8"))}
    data = write_sample_dataset(tmp_path / "product-data", list(known), 700)
    ensure_product_data(data.catalogue, list(known), DAY, known)
    with comms_env(tmp_path, db_url, OFFBOARDING_CATALOGUE_FILE=str(data.catalogue)):
        yield tmp_path


def _session():  # noqa: ANN202
    return session_scope(get_settings().db_url)


def _alerts() -> int:
    with _session() as s:
        return s.scalar(
            select(func.count()).select_from(MessageRow).where(MessageRow.kind == "risk_alert")
        )


def test_scan_opens_the_planted_episodes_and_tells_each_owner_once(env: Path) -> None:
    first = scan_accounts.fn(DAY)
    assert first["population"] == 7 and first["stale"] == [] and first["not_configured"] == []
    with _session() as s:
        opened = {(r.account_id, r.cause) for r in episodes(s, "open")}
        globex = [r for r in episodes(s, "open") if r.account_id == "GLOBEX-ENT"]
    assert opened == WANTED
    assert len(first["opened"]) == len(WANTED)
    # seed 004's customer A: $480K, renews in 30 days, yellow: the ticket cluster ranks high
    tickets = next(r for r in globex if r.cause == "ticket_cluster")
    assert tickets.level == "high" and "renews in 30 days" in tickets.reasons
    assert tickets.owner == "priya.raman@example.com"

    sent = alert_owners.fn()
    assert len(sent["sent"]) == len(WANTED) and sent["failed"] == []
    assert _alerts() == len(WANTED)
    outbox = sorted((env / "outbox").glob("*.eml"))
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in outbox]
    alerts = [m for m in mails if m["Subject"].startswith("At risk")]
    assert len(alerts) == len(WANTED)
    to_priya = [m for m in alerts if "priya.raman@example.com" in m["To"]]
    assert {m["Subject"] for m in to_priya} == {
        "At risk (high): Globex Corporation, several tickets on one feature",
        "At risk (medium): Globex Corporation, the health score fell",
    }
    body = to_priya[0].get_body(("plain",)).get_content()
    assert "Evidence:" in body and "A first sentence you could use" in body

    # the same day again, and the next day: nothing new opened, no one told twice
    again = scan_accounts.fn(DAY)
    assert again["opened"] == [] and again["still_open"] == len(WANTED)
    assert alert_owners.fn() == {"sent": [], "failed": []}
    assert _alerts() == len(WANTED)
    with _session() as s:
        assert s.get(RiskScanRow, DAY).runs == 2


def test_resolved_by_a_person_and_quiet_for_a_while(env: Path) -> None:
    scan_accounts.fn(DAY)
    with _session() as s:
        with pytest.raises(OffboardingError, match="--note is required"):
            resolve(s, "INITECH-MM", by="dana.lee@example.com", note=" ")
        done = resolve(s, "INITECH-MM", by="dana.lee@example.com", note="SSO fixed with IT",
                       cause="failed_login_burst")  # fmt: skip
        assert [r.cause for r in done] == ["failed_login_burst"]
        with pytest.raises(OffboardingError, match="no open at-risk episode"):
            resolve(s, "SOYLENT-EU", by="x@example.com", note="n/a")
    # still failing the next day: resolved a moment ago, so no new episode yet
    assert scan_accounts.fn(DAY + timedelta(days=1))["opened"] == []
    with _session() as s:
        row = next(r for r in episodes(s) if r.cause == "failed_login_burst")
        assert (row.status, row.resolved_by, row.resolution_note) == (
            "resolved", "dana.lee@example.com", "SSO fixed with IT")  # fmt: skip


def test_accounts_that_asked_to_leave_are_not_watched(env: Path) -> None:
    open_test_case("GLOBEX-ENT", "EW-ASKED")
    with _session() as s:
        ids = set(load_population(s)["account_id"])
    assert "GLOBEX-ENT" not in ids and len(ids) == 6
    scan_accounts.fn(DAY)
    with _session() as s:
        assert {r.account_id for r in episodes(s)} == {a for a, _ in WANTED} - {"GLOBEX-ENT"}


def test_verification_and_save_decisions_carry_the_karte_never_the_accounts_own(env: Path) -> None:
    from offboarding.cases.store import get_case
    from offboarding.trust.store import brief_of
    from tasks.early_warning import karte_for_decision

    scan_accounts.fn(DAY)
    case_id = open_test_case("SAKURA-JP", "EW-KARTE")
    for key in ("requester-confirmation", "approval-manager", "approval-legal-round2"):
        assert karte_for_decision(case_id, key) is None  # internal: not on the account's page
    karte = karte_for_decision(case_id, "verification")
    rows = dict(karte["rows"])
    assert karte["seasonal"] and rows["Pattern"].startswith("seasonal subscriber")
    assert "no save attempt" in rows["Note"] and len(karte["weekly_usage"]) == 12
    assert karte["markdown"].startswith("### Retention karte")
    assert karte_for_decision(case_id, "save-2")["rows"] == karte["rows"]
    with _session() as s:
        brief = dict(brief_of(s, get_case(s, case_id), "verification", karte["rows"]))
    assert brief["Case"] == case_id and brief["Offer"] == rows["Offer"]


def test_retention_end_erases_episode_evidence_and_alerts(env: Path) -> None:
    from offboarding.export.erasure import ERASED, erase_account_personal_data

    scan_accounts.fn(DAY)
    alert_owners.fn()
    with _session() as s:
        counts = erase_account_personal_data(s, "INITECH-MM", env / "outbox")
        rows = [r for r in episodes(s) if r.account_id == "INITECH-MM"]
        alerts = s.scalars(
            select(MessageRow).where(MessageRow.case_id.in_([r.episode_id for r in rows]))
        ).all()
    assert counts["message_files"] == counts["message_recipients"] == 3
    assert {r.evidence for r in rows} == {ERASED} and {m.to_addr for m in alerts} == {ERASED}
    assert not any(Path(m.location).exists() for m in alerts)
