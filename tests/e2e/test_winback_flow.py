"""The deployed nightly win-back flow, twice on the same night, over generated data; and its
cron schedule creating upcoming runs on the real Prefect server (the sqlalchemy pin holds)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from sqlalchemy import func, select

from offboarding.settings import get_settings
from offboarding.storage.db import session_scope
from offboarding.storage.models import MessageRow
from offboarding.storage.models.winback import WinbackLeadRow, WinbackNightRow
from offboarding.winback.rules import select_reference
from offboarding.winback.sample.population import generate
from offboarding.winback.sample.writing import load_into_store
from offboarding.winback.selection import candidate_facts, signal_facts
from offboarding.winback.store.candidates import load_candidates
from offboarding.winback.store.outreach import outreach_rows
from offboarding.winback.store.signals import load_signals
from tasks.deployment_names import WINBACK
from tests.e2e.conftest import budget

pytestmark = pytest.mark.integration
NIGHT = date(2031, 6, 15)
BUCKET = "winback-signals-e2e"


def _session():  # noqa: ANN202
    return session_scope(get_settings().db_url)


def _run_nightly() -> None:
    from prefect.deployments import run_deployment

    run = run_deployment(WINBACK, parameters={"on": NIGHT.isoformat()}, timeout=budget(runs=4))
    assert run.state is not None and run.state.is_completed(), run.state


def _state() -> dict:
    with _session() as s:
        rows = outreach_rows(s, NIGHT)
        cases = [o.case_id for o in rows]
        return {
            "outreach": {(o.account_id, o.signal_id, o.status) for o in rows},
            "messages": s.scalar(
                select(func.count())
                .select_from(MessageRow)
                .where(MessageRow.kind == "winback_outreach", MessageRow.case_id.in_(cases))
            ),
            "leads": s.scalar(select(func.count()).select_from(WinbackLeadRow)),
            "night": s.get(WinbackNightRow, NIGHT).evaluated_at,
        }


def test_nightly_flow_selects_exactly_what_the_rules_select_once(stack, tmp_path: Path) -> None:
    sample = generate(300, 4_000, NIGHT, seed=55, owners=12)
    # a few strategic accounts, so the owner-review path is part of the run
    sample = replace(
        sample,
        candidates=sample.candidates.with_columns(strategic=pl.int_range(pl.len()) % 6 == 0),
    )
    with _session() as s:
        load_into_store(s, replace(sample, signals=sample.signals.head(0)))

    # the signals arrive as a Parquet file in S3 and are ingested as `offboard signals ingest`
    from offboarding.adapters.s3.client import s3_client
    from offboarding.winback.signals.files import read_signal_file
    from offboarding.winback.store.signals import ingest_signals

    sample.signals.write_parquet(tmp_path / "signals.parquet")
    client = s3_client()
    client.create_bucket(Bucket=BUCKET)
    client.upload_file(str(tmp_path / "signals.parquet"), BUCKET, "2031/06/signals.parquet")
    frame = read_signal_file(f"s3://{BUCKET}/2031/06/signals.parquet")
    with _session() as s:
        assert ingest_signals(s, frame)["new"] == sample.signals.height

    # what the rules select, one account at a time, over what the store holds
    policy = get_settings().policy()
    with _session() as s:
        candidates, signals = load_candidates(s), load_signals(s, NIGHT, policy)
    ours = candidates.filter(pl.col("account_id").is_in(sample.candidates["account_id"].implode()))
    assert ours.sort("account_id").equals(sample.candidates.sort("account_id"))
    expected = select_reference(candidate_facts(candidates), signal_facts(signals), NIGHT, policy)
    assert len(expected) > 20

    _run_nightly()
    first = _state()
    assert {(a, s) for a, s, _ in first["outreach"]} == {
        (c.account_id, c.signal_id) for c in expected
    }
    status = {a: st for a, _, st in first["outreach"]}
    for c in expected:
        if c.signal_type == "champion_moved":
            assert status[c.account_id] == "lead"
        elif c.strategic:
            assert status[c.account_id] == "awaiting_review"  # the owner reviews first
        else:
            assert status[c.account_id] == "sent"
    assert first["messages"] == sum(1 for *_, st in first["outreach"] if st == "sent") > 0
    assert first["leads"] >= sum(1 for *_, st in first["outreach"] if st == "lead") > 0
    assert {"awaiting_review", "lead", "sent"} <= set(status.values())

    _run_nightly()  # the same night again: nothing new, nothing sent twice
    assert _state() == first

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactCollectionFilter,
        ArtifactCollectionFilterKey,
    )

    with get_client(sync_client=True) as client:
        artifacts = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=["winback-nightly"])
            )
        )
    table = artifacts[0].data
    table = json.loads(table) if isinstance(table, str) else table
    assert {(r["account"], r["status"]) for r in table} == set(status.items())


def test_cron_schedule_creates_upcoming_runs(stack) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateName,
    )

    settings = get_settings()
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(WINBACK)
        crons = [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules]
        assert crons == [(settings.winback_cron, settings.winback_timezone)]
        assert all(s.active for s in deployment.schedules)
        deadline = time.monotonic() + 100
        while True:
            upcoming = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Scheduled"])),
                    expected_start_time=FlowRunFilterExpectedStartTime(after_=datetime.now(UTC)),
                ),
            )
            if upcoming or time.monotonic() > deadline:
                break
            time.sleep(2)
    assert upcoming, "the scheduler created no upcoming win-back runs"
    minute, hour = (int(x) for x in settings.winback_cron.split()[:2])  # "0 2 * * *"
    for run in upcoming:
        local = run.expected_start_time.astimezone(ZoneInfo(settings.winback_timezone))
        assert (local.hour, local.minute) == (hour, minute)
