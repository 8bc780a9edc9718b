"""§5 timeline: default plan, agreed date, notice periods, early termination."""

from __future__ import annotations

from datetime import date

import pytest

from offboarding.cases.timeline import PlanError, add_months, day, plan_timeline
from offboarding.domain import BillingPeriod
from tests.unit.conftest import CONFIRMED, make_account, make_policy

POLICY = make_policy()


def plan(account=None, **kwargs):
    return plan_timeline(account or make_account(), CONFIRMED, POLICY, **kwargs)


def test_day_one_is_confirmation_day():
    assert day(CONFIRMED, 1) == CONFIRMED
    assert day(CONFIRMED, 15) == date(2025, 3, 17)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("confirmed_on", date(2025, 3, 3)),  # day 1
        ("export_due", date(2025, 3, 5)),  # day 3
        ("knowledge_transfer_from", date(2025, 3, 6)),  # day 4
        ("knowledge_transfer_until", date(2025, 3, 9)),  # day 7
        ("access_reduction_on", date(2025, 3, 10)),  # day 8
        ("closure_on", date(2025, 3, 17)),  # day 15
        ("deactivation_on", date(2025, 3, 18)),  # day 16
        ("purge_on", date(2025, 6, 15)),  # closure + 90 days
        ("backups_expire_on", date(2026, 6, 15)),  # purge + 12 months
    ],
)
def test_default_plan_days(field, expected):
    assert getattr(plan(), field) == expected


def test_default_plan_flags_and_notes():
    p = plan()
    assert p.notice_waived is False
    assert p.early_termination is False  # monthly contract
    assert p.notes == ()


def test_default_plan_to_dict_and_stage_dates():
    p = plan()
    d = p.to_dict()
    assert d["closure_on"] == "2025-03-17"
    assert d["notice_waived"] is False
    assert p.stage_dates() == {
        "access_reduction": date(2025, 3, 10),
        "closure": date(2025, 3, 17),
        "deactivation": date(2025, 3, 18),
        "purge": date(2025, 6, 15),
    }


def test_agreed_wished_date_later_gives_migration_time():
    wished = date(2025, 4, 30)
    p = plan(wished_date=wished)
    assert p.closure_on == wished
    assert p.deactivation_on == date(2025, 5, 1)
    assert p.purge_on == date(2025, 7, 29)
    # export and knowledge transfer keep the default rhythm
    assert p.export_due == date(2025, 3, 5)
    assert p.knowledge_transfer_until == date(2025, 3, 9)
    # access stays active until a week before the agreed closure
    assert p.access_reduction_on == date(2025, 4, 23)
    assert "closure on the date the customer asked for" in p.notes


def test_agreed_wished_date_earlier_than_default():
    wished = date(2025, 3, 8)  # day 6
    p = plan(wished_date=wished)
    assert p.closure_on == wished
    assert p.export_due == date(2025, 3, 5)
    assert p.knowledge_transfer_from == date(2025, 3, 6)
    assert p.knowledge_transfer_until == wished  # capped at closure
    assert p.access_reduction_on <= p.closure_on
    assert p.access_reduction_on >= p.confirmed_on


def test_immediate_closure_compresses_steps():
    p = plan(wished_date=CONFIRMED)
    assert p.closure_on == CONFIRMED
    for field in (
        "export_due",
        "knowledge_transfer_from",
        "knowledge_transfer_until",
        "access_reduction_on",
    ):
        assert getattr(p, field) == CONFIRMED, field
    assert p.deactivation_on == date(2025, 3, 4)
    assert p.purge_on == date(2025, 6, 1)


@pytest.mark.parametrize(
    "wished",
    [None, date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17), date(2025, 6, 30)],
)
def test_plan_steps_are_in_order(wished):
    p = plan(wished_date=wished)
    assert p.confirmed_on <= p.export_due <= p.closure_on
    assert p.knowledge_transfer_from <= p.knowledge_transfer_until <= p.closure_on
    assert p.confirmed_on <= p.access_reduction_on <= p.closure_on
    assert p.closure_on < p.deactivation_on < p.purge_on < p.backups_expire_on


def test_notice_period_holds_closure_back():
    account = make_account(notice_period_days=30)
    p = plan(account, wished_date=date(2025, 3, 10))
    assert p.closure_on == date(2025, 4, 2)  # confirmed + 30 days
    assert p.notice_end == date(2025, 4, 2)
    assert p.notice_waived is False
    assert any("notice period" in n for n in p.notes)
    assert "closure on the date the customer asked for" not in p.notes


def test_notice_period_holds_default_closure_back():
    p = plan(make_account(notice_period_days=60))
    assert p.closure_on == date(2025, 5, 2)
    assert p.deactivation_on == date(2025, 5, 3)


def test_notice_period_hold_never_runs_past_contract_end():
    account = make_account(notice_period_days=90, contract_end=date(2025, 4, 15))
    p = plan(account, wished_date=date(2025, 3, 10))
    assert p.closure_on == date(2025, 4, 15)


def test_waiver_lets_it_through_and_sets_notice_waived():
    account = make_account(notice_period_days=30)
    wished = date(2025, 3, 10)
    p = plan(account, wished_date=wished, waive_notice=True)
    assert p.closure_on == wished
    assert p.notice_waived is True
    assert "notice period of 30 days waived" in p.notes


def test_waiver_not_recorded_when_notice_already_served():
    account = make_account(notice_period_days=5)
    p = plan(account, waive_notice=True)  # default closure day 15 is after the notice end
    assert p.closure_on == date(2025, 3, 17)
    assert p.notice_waived is False


@pytest.mark.parametrize("wished", [date(2025, 3, 2), date(2024, 12, 31)])
def test_closure_in_the_past_raises_plan_error(wished):
    with pytest.raises(PlanError, match="in the past"):
        plan(wished_date=wished)


def test_past_contract_end_without_waiver_raises_plan_error():
    account = make_account(contract_end=date(2025, 3, 31))
    with pytest.raises(PlanError, match="past the contract end"):
        plan(account, wished_date=date(2025, 4, 30))


def test_past_contract_end_with_waiver_is_allowed():
    account = make_account(contract_end=date(2025, 3, 31))
    p = plan(account, wished_date=date(2025, 4, 30), allow_past_contract_end=True)
    assert p.closure_on == date(2025, 4, 30)
    assert p.early_termination is False


def test_plan_error_is_a_value_error():
    assert issubclass(PlanError, ValueError)


@pytest.mark.parametrize(
    ("billing_period", "closure", "expected"),
    [
        (BillingPeriod.annual, date(2025, 3, 17), True),  # before contract end
        (BillingPeriod.annual, date(2025, 12, 31), False),  # on contract end
        (BillingPeriod.quarterly, date(2025, 3, 17), True),
        (BillingPeriod.monthly, date(2025, 3, 17), False),  # monthly never terminates early
    ],
)
def test_early_termination_flag_for_annual_contracts(billing_period, closure, expected):
    account = make_account(
        billing_period=billing_period,
        contract_start=date(2025, 1, 1),
        contract_end=date(2025, 12, 31),
    )
    p = plan(account, wished_date=closure)
    assert p.early_termination is expected
    assert any("early termination" in n for n in p.notes) is expected


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 1, 31), 3, date(2025, 4, 30)),
        (date(2025, 3, 31), 12, date(2026, 3, 31)),
        (date(2025, 11, 15), 2, date(2026, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected
