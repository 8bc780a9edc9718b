"""The deployed daily early-warning flow, twice, over generated product data read through the
catalogue: the episodes are exactly the planted patterns, each owner is told once, and the
second run opens none and tells no one. Then a cancellation of a seasonal subscriber: its
verification form, its decision page and `offboard show` carry the account's karte, and the
save protocol attempts no save. And the daily cron schedule on the real Prefect server."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select

from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.storage.models import MessageRow
from offboarding.storage.models.early_warning import RiskEpisodeRow, RiskScanRow
from tasks.deployment_names import EARLY_WARNING
from tests.e2e.conftest import SAMPLE, budget, request, restart_runner, wait_waiting

pytestmark = pytest.mark.integration


def _session():  # noqa: ANN202
    return session_scope(get_settings().db_url)


def _run(day: date) -> None:
    from prefect.deployments import run_deployment

    run = run_deployment(EARLY_WARNING, parameters={"on": day.isoformat()}, timeout=budget(runs=5))
    assert run.state is not None and run.state.is_completed(), run.state


def _state() -> dict:
    with _session() as s:
        rows = s.scalars(select(RiskEpisodeRow)).all()
        return {
            "episodes": {(r.episode_id, r.account_id, r.cause, r.status) for r in rows},
            "told": {r.episode_id for r in rows if r.notified_at is not None},
            "alerts": s.scalar(
                select(func.count()).select_from(MessageRow).where(MessageRow.kind == "risk_alert")
            ),
            "sent": {
                m.case_id
                for m in s.scalars(select(MessageRow).where(MessageRow.kind == "risk_alert"))
                if m.status == "sent"
            },
        }


@pytest.fixture(scope="module")
def product_data(stack, tmp_path_factory) -> Iterator[date]:
    """Generated product tables (patterns planted at the sample accounts, as of today) in a
    catalogue of their own, which the runner's flow runs read."""
    from offboarding.early_warning.sample.writing import ensure_product_data
    from offboarding.export.sample_data import write_sample_dataset
    from tasks.early_warning import today

    day = today()
    known = {a["account_id"]: a for a in json.loads((SAMPLE / "accounts.json").read_text())}
    folder = tmp_path_factory.mktemp("early-warning") / "product-data"
    data = write_sample_dataset(folder, list(known), 2_000)
    ensure_product_data(data.catalogue, list(known), day, known)
    restart_runner(stack, OFFBOARDING_CATALOGUE_FILE=str(data.catalogue))
    yield day
    # the stack is shared by the session: later tests read the default catalogue again
    stack.extra_env.pop("OFFBOARDING_CATALOGUE_FILE", None)
    os.environ.pop("OFFBOARDING_CATALOGUE_FILE", None)
    restart_runner(stack)


def test_daily_scan_twice_exactly_the_planted_episodes_told_once(product_data: date) -> None:
    from offboarding.early_warning.sample.population import PLANTED
    from offboarding.early_warning.store.population import load_population

    day = product_data
    with _session() as s:  # accounts another test's case took out of the watched population
        watched = set(load_population(s)["account_id"])
    planted = {(a, c) for a, causes in PLANTED.items() for c in causes if a in watched}
    assert planted, "every planted account has a case already"

    _run(day)
    first = _state()
    assert {(a, c) for _, a, c, st in first["episodes"] if st == "open"} == planted
    ids = {e for e, *_ in first["episodes"]}
    assert first["told"] == ids == first["sent"]
    assert first["alerts"] == len(planted)

    _run(day)  # the same day again: nothing opened, no one told twice
    assert _state() == first
    with _session() as s:
        scan = s.get(RiskScanRow, day)
        assert (scan.runs, scan.opened, scan.findings) == (2, len(planted), len(planted))

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactCollectionFilter,
        ArtifactCollectionFilterKey,
    )

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=["early-warning-daily"])
            )
        )
        deployment = client.read_deployment_by_name(EARLY_WARNING)
    table = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert {(r["account"], r["cause"]) for r in table} == planted
    assert all(r["owner told"] == "yes" for r in table)
    settings = get_settings()
    crons = [(x.schedule.cron, x.schedule.timezone) for x in deployment.schedules]
    assert crons == [(settings.early_warning_cron, settings.early_warning_timezone)]


def test_the_karte_reaches_the_form_the_page_and_show_and_no_save_for_a_season(
    product_data: date,
) -> None:
    from prefect.input.actions import read_flow_run_input

    from offboard.service import case_view
    from offboard.service.decision_pages import open_decision
    from offboard.service.outbox_codes import read_decision_mail
    from tests.e2e.conftest import decide, verify_payload

    owner = "yuki.tanaka@example.com"  # SAKURA-JP: a seasonal subscriber
    case_id = request("SAKURA-JP", "hanako@sakura-design.example", "E2E-KARTE", "季節が終わった")[
        "case_id"
    ]
    case = wait_waiting(case_id, "verification")
    deadline = time.monotonic() + budget(
        runs=2
    )  # Prefect stores the form just after the suspension
    while (form := read_flow_run_input("suspended-verification-description",
                                        case.flow_run_id)) is None:  # fmt: skip
        assert time.monotonic() < deadline, "the verification form never appeared"
        time.sleep(1)
    assert "Retention karte" in form and "Seasonal subscriber: don't hold back" in form
    assert "| Talk track |" in form

    mail = read_decision_mail(case_id, owner)
    token = mail["link"].rsplit("/decide/", 1)[1]
    page = open_decision(token)
    shown = dict(page["summary"])
    assert shown["Pattern"].startswith("seasonal subscriber")
    assert "invite them again when their season returns" in shown["Offer"]
    assert page["usage"] and len(page["usage"]) == 12
    html = httpx.get(mail["link"], timeout=30).text
    assert 'id="usage-chart"' in html and "Seasonal subscriber" in html

    view = case_view(case_id)
    rows = {r["label"]: r["value"] for r in view["karte"]["rows"]}
    assert view["karte"]["seasonal"] and "no save attempt" in rows["Note"]

    decide(case_id, "verify", verify_payload(owner, reason="other"))
    deadline = time.monotonic() + budget(runs=3)
    while time.monotonic() < deadline and not case_view(case_id)["save_decision"]:
        time.sleep(1)
    decision = case_view(case_id)["save_decision"]
    assert decision["attempt"] is False
    assert "seasonal_subscriber" in decision["accept_criteria"]

    # the case runs on to its purge (a day is 0.25 s here), which erases SAKURA-JP's contacts;
    # the sample accounts come back so that later tests of the session find them as before
    from offboard.service import import_accounts, wait_for

    wait_for(case_id, lambda c: c.status == "purged", budget(days=105, runs=5))
    import_accounts(SAMPLE / "accounts.json")
