"""Early-warning side effects as Prefect tasks (§14): the daily scan recorded, each owner told
once, the at-risk queue published.

Idempotent on natural keys in our database: the open episode (account + cause: a rerun the
same day, or the next day, opens nothing new for it) and the alert (the message ledger,
keyed by the episode id, `risk_alert`, 1), so a rerun or a retry repeats nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from offboarding.early_warning import queue
from offboarding.early_warning.signals.files import missing_tables, product_frames
from offboarding.early_warning.store.episodes import (
    episode_view,
    episodes,
    get_episode,
    mark_notified,
    record_scan,
    to_notify,
)
from offboarding.early_warning.store.population import load_population
from offboarding.export.catalogue import SAMPLE_DIR_NAME, Catalogue, active_catalogue
from offboarding.settings import get_settings
from offboarding.storage.models import AccountRow
from tasks.common import RETRYING, current_flow_run_id, db, is_transient

KIND = "risk_alert"
#: A champion's name and address in the evidence (Prefect keeps artifacts; names stay out).
NAMED = re.compile(r"champion [^;()]*\([^)]*@[^)]*\)")
ARTIFACT_KEY = "early-warning-daily"


def _log() -> logging.Logger | logging.LoggerAdapter:
    """The run's logger inside a run; the module's outside (the CLI, the tests)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def today() -> date:
    """Today where the customer-success team works (the cron's time zone)."""
    return datetime.now(ZoneInfo(get_settings().early_warning_timezone)).date()


def product_catalogue(day: date) -> Catalogue:
    """The catalogue exports read; when it is the generated sample dataset without product
    tables yet, they are written into it first (planted at the sample accounts)."""
    from sqlalchemy import select

    from offboarding.early_warning.sample.writing import ensure_product_data
    from offboarding.export.catalogue import load_catalogue

    def account_ids() -> list[str]:
        with db() as s:
            return list(s.scalars(select(AccountRow.account_id).order_by(AccountRow.account_id)))

    settings = get_settings()
    catalogue = active_catalogue(settings.state_dir, account_ids)
    sample = (Path(settings.state_dir) / SAMPLE_DIR_NAME / "catalogue.yaml").resolve()
    if not catalogue.tables and catalogue.path == sample:
        with db() as s:
            known = {a.account_id: a.data for a in s.scalars(select(AccountRow))}
        ensure_product_data(sample, list(catalogue.accounts or known), day, known)
        catalogue = load_catalogue(sample)
    return catalogue


@task(name="early-warning-scan", **RETRYING)
def scan_accounts(day: date) -> dict[str, Any]:
    """The whole population against every rule, vectorised; new episodes recorded at once."""
    policy = get_settings().policy()
    catalogue = product_catalogue(day)
    with db() as s:
        population = load_population(s)
    frames = product_frames(catalogue, population, day, policy)
    ranked, stale = queue.scan(frames, day, policy)
    if stale:
        _log().warning("stale product feeds, their rules skipped: %s", sorted(stale))
    with db() as s:
        result = record_scan(
            s, day, ranked, policy, population=population.height, stale=stale,
            flow_run_id=current_flow_run_id(),
        )  # fmt: skip
    return {
        **result,
        "population": population.height,
        "findings": ranked.height,
        "stale": sorted(stale),
        "not_configured": missing_tables(catalogue),
    }


def alert_one(episode_id: str) -> dict[str, Any]:
    """Tell the owner about one episode, once (the ledger); an owner told already is not."""
    from tasks.messaging import deliver

    policy = get_settings().policy()
    with db() as s:
        row = get_episode(s, episode_id)
        if row.notified_at is not None:
            return {"episode_id": episode_id, "sent_now": False}
        view = episode_view(row)
        others = [f"{o.cause} ({o.level})" for o in episodes(s, "open", row.account_id)
                  if o.episode_id != episode_id]  # fmt: skip
        account_id, cause = row.account_id, row.cause
    extra = {
        "episode": {
            "cause": cause, "evidence": view["evidence"], "priority": view["priority"],
            "impact": view["impact"], "urgency": view["urgency"], "context": view["context"],
            "respond_by": view["respond_by"],
        },
        "others": others,
        "custom_opening": policy.early_warning.causes[cause].opening,
    }  # fmt: skip
    sent = deliver(episode_id, KIND, 1, extra, account_id=account_id)
    with db() as s:
        mark_notified(s, episode_id, sent["location"])
    return {"episode_id": episode_id, "sent_now": sent["sent_now"]}


@task(name="early-warning-alert-owners", **RETRYING)
def alert_owners() -> dict[str, list]:
    """Every open episode whose owner has not been told: one internal message each."""
    with db() as s:
        todo = to_notify(s)
    sent, failed = [], []
    for eid in todo:
        try:
            alert_one(eid)
            sent.append(eid)
        except Exception as exc:
            if is_transient(exc):
                raise  # the task retries; what was sent stays sent
            _log().error("at-risk alert %s not sent: %s", eid, exc)
            failed.append({"episode_id": eid, "error": str(exc)[:300]})
    return {"sent": sent, "failed": failed}


@task(name="early-warning-publish-queue", **RETRYING)
def publish_queue(day: date, failed: list[dict]) -> list[dict[str, Any]]:
    """The at-risk queue as a table artifact: every open episode, most pressing first, with
    its evidence, the response due and whether the owner was told."""
    errors = {f["episode_id"]: f["error"] for f in failed}
    with db() as s:
        rows = [episode_view(r) for r in episodes(s, status="open")]
    table = [
        {
            "account": r["account_id"],
            "cause": r["cause"],
            "priority": r["priority"],
            "evidence": NAMED.sub("a champion", r["latest_evidence"]),  # names stay with us
            "context": ", ".join(r["context"]),
            "respond by": (r["respond_by"] or "")[:16],
            "owner": r["owner"],
            "opened": r["opened_on"],
            "owner told": "yes" if r["notified_at"] else f"no ({errors.get(r['episode_id'], '')})",
        }
        for r in rows
    ]
    create_table_artifact(
        table or [{"account": "", "evidence": f"no account at risk on {day}"}],
        key=ARTIFACT_KEY,
        description=f"At-risk queue after the scan of {day} ({len(rows)} open episodes)",
    )
    return rows


def karte_for_decision(case_id: str, input_key: str) -> dict | None:
    """The retention karte a verification or save decision request records (its brief, the
    form and the page show it); None for other decisions or when it cannot be made. Read in
    a session of its own, so nothing here can spoil the caller's transaction."""
    from offboarding.cases.store import get_case
    from offboarding.early_warning.karte import KARTE_DECISIONS
    from offboarding.early_warning.store.karte import current_catalogue, decision_karte

    if input_key.split("-")[0] not in KARTE_DECISIONS:
        return None
    settings = get_settings()
    try:
        with db() as s:
            case = get_case(s, case_id)
            catalogue = current_catalogue(settings.state_dir)
            return decision_karte(s, case, input_key, today(), settings.policy(), catalogue)
    except Exception as exc:  # noqa: BLE001 - a decision never waits on its karte
        _log().warning("no karte for %s %s: %s", case_id, input_key, exc)
        return None


def form_with_karte(description: str, kind: str) -> str:
    """A waiting run's form description with the karte its decision request recorded (read
    back, not computed: this runs in the flow body, again on every resumed pass)."""
    from prefect.runtime import flow_run
    from sqlalchemy import select

    from offboarding.storage.models import StepRow
    from tasks.proofs import REQUESTS_STEP

    case_id = (flow_run.parameters or {}).get("case_id")
    if not case_id:
        return description
    try:
        with db() as s:
            step = s.scalar(
                select(StepRow)
                .where(StepRow.case_id == case_id, StepRow.step.like(f"{REQUESTS_STEP}{kind}%"))
                .order_by(StepRow.id.desc())
                .limit(1)
            )
            karte = (step.result or {}).get("karte") if step else None
    except Exception as exc:  # noqa: BLE001 - the form must appear whatever happens here
        _log().warning("form of %s without its karte: %s", case_id, exc)
        return description
    return f"{description}\n\n{karte['markdown']}" if karte else description
