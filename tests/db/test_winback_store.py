"""Win-back state on a real database (SQLite and PostgreSQL): signals stored once, the
candidate population read back exactly, one evaluation per night, owner review, won-back
outcomes and the win-back rate."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import func, select

from offboarding.cases.store import OffboardingError
from offboarding.cases.timeline import add_months
from offboarding.policy import Policy
from offboarding.storage.db import session_scope
from offboarding.storage.models import AuditRow, CaseRow
from offboarding.storage.models.winback import (
    WinbackLeadRow,
    WinbackOutcomeRow,
    WinbackOutreachRow,
)
from offboarding.winback.sample.population import generate
from offboarding.winback.sample.writing import load_into_store
from offboarding.winback.selection import select_outreach
from offboarding.winback.signals.model import WinbackSignal
from offboarding.winback.store.candidates import load_candidates, set_preference
from offboarding.winback.store.outcomes import rates, record_won_back
from offboarding.winback.store.outreach import (
    mark_sent,
    outreach_rows,
    record_night,
    review,
    withdraw_if_unwanted,
)
from offboarding.winback.store.signals import add_signal, ingest_signals, load_signals

NIGHT = date(2031, 6, 15)
POLICY = Policy()


@pytest.fixture
def population(db_url: str):
    sample = generate(400, 5_000, NIGHT, seed=21, owners=40)
    # every fourth account strategic, so tonight's selection has some for the owner to review
    strategic = pl.int_range(pl.len()) % 4 == 0
    sample = replace(sample, candidates=sample.candidates.with_columns(strategic=strategic))
    with session_scope(db_url) as s:
        load_into_store(s, sample)
    return db_url, sample


def evaluate(url: str, night: date) -> dict:
    with session_scope(url) as s:
        cands, sigs = load_candidates(s), load_signals(s, night, POLICY)
    selected = select_outreach(cands, sigs, night, POLICY)
    details = {k: json.loads(v) for k, v in sigs.select("signal_id", "details").iter_rows()}
    with session_scope(url) as s:
        return record_night(
            s, night, selected, details, candidates=cands.height, signals=sigs.height
        ) | {"selected": selected}


def test_store_reads_back_the_population_exactly(population) -> None:
    url, sample = population
    with session_scope(url) as s:
        got = load_candidates(s).sort("account_id")
        window = load_signals(s, NIGHT, POLICY)
    assert_frame_equal(got, sample.candidates.sort("account_id"))
    since = datetime(2031, 5, 17, tzinfo=UTC)  # 30 days up to tonight, inclusive
    want = sample.signals.filter(
        (pl.col("observed_at") >= since)
        & (pl.col("observed_at") < datetime(2031, 6, 16, tzinfo=UTC))
    )
    assert sorted(window["signal_id"]) == sorted(want["signal_id"])
    assert window.sort("signal_id").drop("details").equals(want.sort("signal_id").drop("details"))


def test_signals_are_stored_once(population) -> None:
    url, sample = population
    with session_scope(url) as s:
        again = ingest_signals(s, sample.signals.head(100))
    assert again == {"rows": 100, "new": 0, "already_stored": 100}
    sig = WinbackSignal(
        type="growth_phase",
        account_id=sample.candidates["account_id"][0],
        observed_at=datetime(2031, 6, 14, 8, tzinfo=UTC),
        source="crm",
        details={"kind": "hiring"},
    )
    with session_scope(url) as s:
        first = add_signal(s, sig)
    with session_scope(url) as s:
        second = add_signal(s, sig)
    assert first == {"signal_id": sig.signal_id, "new": True}
    assert second == {"signal_id": sig.signal_id, "new": False}


def test_one_evaluation_per_night(population) -> None:
    url, _ = population
    first = evaluate(url, NIGHT)
    selected = first.pop("selected")
    assert first["created"] == selected.height > 0 and not first["already_recorded"]
    again = evaluate(url, NIGHT)
    assert again["created"] == 0 and again["already_recorded"]
    with session_scope(url) as s:
        rows = outreach_rows(s, NIGHT)
        leads = s.scalars(select(WinbackLeadRow)).all()
    assert {(o.account_id, o.signal_id) for o in rows} == set(
        zip(selected["account_id"], selected["signal_id"], strict=True)
    )
    by_status = {o.account_id: o.status for o in rows}
    for r in selected.iter_rows(named=True):
        expected = (
            "lead"
            if r["type"] == "champion_moved"
            else "awaiting_review"
            if r["strategic"]
            else "to_send"
        )
        assert by_status[r["account_id"]] == expected
    assert {lead.outreach_id for lead in leads} == {
        o.outreach_id for o in rows if o.status == "lead"
    }
    assert all(lead.new_company.startswith("NewCo") for lead in leads)
    assert all(o.why and o.message_seq >= 1 for o in rows)
    # the next night, the same accounts are not reached again (one per 12 months)
    following = evaluate(url, NIGHT + timedelta(days=1)).pop("selected")
    assert not set(following["account_id"]) & set(selected["account_id"])


def test_owner_review_and_opt_out(population) -> None:
    url, sample = population
    evaluate(url, NIGHT)
    with session_scope(url) as s:
        waiting = outreach_rows(s, NIGHT, "awaiting_review")
    assert len(waiting) >= 2, "the sample has strategic accounts selected tonight"
    o = waiting[0]
    with session_scope(url) as s:
        row, refused = review(
            s, o.outreach_id, by="someone@example.com", approve=True, note="", reviewers=set()
        )
        assert "neither the account owner" in refused and row.status == "awaiting_review"
    with session_scope(url) as s:  # the refusal is kept in the audit log
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditRow)
                .where(AuditRow.action == "winback_review_refused", AuditRow.case_id == o.case_id)
            )
            == 1
        )
    with session_scope(url) as s:
        row, refused = review(
            s, o.outreach_id, by=o.owner.upper(), approve=True, note="hi", reviewers=set()
        )
        assert refused is None and row.status == "to_send" and row.reviewed_by == o.owner
    with pytest.raises(OffboardingError, match="not awaiting review"), session_scope(url) as s:
        review(s, o.outreach_id, by=o.owner, approve=False, note="", reviewers=set())
    manager = "maya.manager@example.com"
    with session_scope(url) as s:
        row, _ = review(
            s,
            waiting[1].outreach_id,
            by=manager,
            approve=False,
            note="not now",
            reviewers={manager},
        )
        assert row.status == "declined"
    # an opt-out after the selection, before the message went, withdraws it
    with session_scope(url) as s:
        set_preference(s, o.account_id, by="ops@example.com", note="replied: no more emails")
    with session_scope(url) as s:
        row = s.get(WinbackOutreachRow, o.outreach_id)
        assert "opted out" in withdraw_if_unwanted(s, row)
        assert row.status == "declined"
    with session_scope(url) as s:
        plain = outreach_rows(s, NIGHT, "to_send")[0]
        assert withdraw_if_unwanted(s, plain) is None and plain.status == "to_send"
    # opting out takes the account out of every later night
    account = sample.candidates.filter(pl.col("candidate"))["account_id"][0]
    with session_scope(url) as s:
        set_preference(s, account, by="ops@example.com", clean_break=True, note="asked")
        cands = load_candidates(s)
    assert cands.filter(pl.col("account_id") == account)["clean_break"].item() is True
    with pytest.raises(OffboardingError, match="unknown account"), session_scope(url) as s:
        set_preference(s, "NOPE", by="ops@example.com")


def test_won_back_links_the_outreach_and_rates(population) -> None:
    url, _ = population
    evaluate(url, NIGHT)
    with session_scope(url) as s:
        o = outreach_rows(s, NIGHT, "to_send")[0]
        mark_sent(s, o.outreach_id, "outbox/x.eml")
        case = s.get(CaseRow, o.case_id)
        closed = case.closed_on
    with pytest.raises(OffboardingError, match="before the closure"), session_scope(url) as s:
        record_won_back(s, o.case_id, on=closed - timedelta(days=1), by="ops@example.com")
    with session_scope(url) as s:
        done = record_won_back(s, o.case_id, on=NIGHT + timedelta(days=20), by="ops@example.com")
    assert done["outreach_id"] == o.outreach_id and done["signal_id"] == o.signal_id
    with pytest.raises(OffboardingError, match="already recorded"), session_scope(url) as s:
        record_won_back(s, o.case_id, on=NIGHT + timedelta(days=21), by="ops@example.com")
    with session_scope(url) as s:
        n_audit = s.scalar(
            select(func.count()).select_from(AuditRow).where(AuditRow.action == "won_back")
        )
        churned = s.execute(select(CaseRow.case_id, CaseRow.closed_on)).all()
        result = {r.months: r for r in rates(s, NIGHT + timedelta(days=400))}
    assert n_audit == 1
    # the same maths by hand over what is stored (the sample's own outcomes included)
    with session_scope(url) as s:
        back = dict(
            s.execute(select(WinbackOutcomeRow.case_id, WinbackOutcomeRow.won_back_on)).all()
        )
    as_of = NIGHT + timedelta(days=400)
    for months, row in result.items():
        cohort = [(c, d) for c, d in churned if add_months(d, months) <= as_of]
        won = [c for c, d in cohort if c in back and back[c] <= add_months(d, months)]
        assert (row.churned, row.won_back) == (len(cohort), len(won))
        assert row.churned > 0
    assert o.case_id in back


def test_won_back_needs_a_churned_case(db_url: str) -> None:
    with pytest.raises(OffboardingError, match="unknown case"), session_scope(db_url) as s:
        record_won_back(s, "C-NOPE", on=NIGHT, by="ops@example.com")


def test_the_reviewer_is_who_their_token_says(population, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    """`--by` is no identity: the review is taken as the token's owner, or refused."""
    from offboard.service.tokens import token_for
    from offboard.service.winback import review_outreach
    from offboarding.cases.store import OffboardingError
    from offboarding.settings import get_settings

    url, _ = population
    monkeypatch.setenv("OFFBOARDING_DATABASE_URL", url)
    monkeypatch.setenv("OFFBOARDING_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        evaluate(url, NIGHT)
        with session_scope(url) as s:
            first = outreach_rows(s, NIGHT, "awaiting_review")[0]
            oid, owner = first.outreach_id, first.owner
        tokens: dict[str, dict[str, str]] = {}
        other, own = token_for("someone.else@example.com", tokens), token_for(owner, tokens)
        monkeypatch.setenv("OFFBOARDING_TOKEN", other)
        get_settings.cache_clear()
        with pytest.raises(OffboardingError, match="is not you"):
            review_outreach(oid, owner, approve=False, note="not now")
        monkeypatch.setenv("OFFBOARDING_TOKEN", own)
        get_settings.cache_clear()
        assert review_outreach(oid, None, approve=False, note="not now")["status"] == "declined"
        with session_scope(url) as s:
            assert s.get(type(first), oid).reviewed_by == owner
    finally:
        get_settings.cache_clear()
