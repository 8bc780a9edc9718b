"""§3 save attempt protocol: one test per playbook criterion, named after it."""

from __future__ import annotations

from datetime import date

import pytest

from offboarding.cases.save_protocol import (
    accept_criteria,
    attempt_criteria,
    decide_save,
    max_conversations,
    may_hold_another_conversation,
)
from offboarding.domain import ADDRESSABLE_REASONS, ReasonCategory, Segment
from tests.unit.conftest import TODAY, make_account, make_reason, make_request, make_save_policy

POLICY = make_save_policy()


def decide(account=None, request=None, reason=None, policy=POLICY, today=TODAY):
    return decide_save(
        account or make_account(),
        request or make_request(),
        reason or make_reason(),
        policy,
        today,
    )


def test_baseline_account_meets_no_criterion():
    decision = decide()
    assert decision.attempt_criteria == ()
    assert decision.accept_criteria == ()
    assert decision.attempt is False
    assert decision.why == "accept: no save criterion met"


# --- attempt criteria -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arr", "expected"),
    [(99_999.99, False), (100_000, True), (250_000, True)],
)
def test_attempt_high_value(arr, expected):
    decision = decide(make_account(arr=arr, segment=Segment.enterprise))
    assert ("high_value" in decision.attempt_criteria) is expected
    assert decision.attempt is expected


def test_attempt_high_value_follows_policy_threshold():
    policy = make_save_policy(strategic_arr_threshold=50_000)
    assert "high_value" in attempt_criteria(make_account(arr=60_000), make_reason(), policy, TODAY)
    assert "high_value" not in attempt_criteria(
        make_account(arr=60_000), make_reason(), POLICY, TODAY
    )


def test_attempt_high_expansion_potential():
    decision = decide(make_account(expansion_potential=True))
    assert decision.attempt_criteria == ("high_expansion_potential",)
    assert decision.attempt is True


@pytest.mark.parametrize(
    "flags",
    [{"strategic": True}, {"reference": True}, {"strategic": True, "reference": True}],
)
def test_attempt_strategic_or_reference(flags):
    decision = decide(make_account(**flags))
    assert decision.attempt_criteria == ("strategic_or_reference",)
    assert decision.attempt is True
    assert decision.why == "attempt a save: strategic_or_reference"


@pytest.mark.parametrize(
    "category",
    [
        ReasonCategory.product_gap,
        ReasonCategory.misunderstanding,
        ReasonCategory.outcome,
        ReasonCategory.expectation,
        ReasonCategory.experience,
        ReasonCategory.cost,
    ],
)
def test_attempt_addressable_reason(category):
    decision = decide(reason=make_reason(category))
    assert decision.attempt_criteria == ("addressable_reason",)
    assert decision.attempt is True


@pytest.mark.parametrize(
    "category",
    [c for c in ReasonCategory if c not in ADDRESSABLE_REASONS],
)
def test_attempt_addressable_reason_not_for_other_categories(category):
    criteria = attempt_criteria(make_account(), make_reason(category), POLICY, TODAY)
    assert "addressable_reason" not in criteria


def test_addressable_reasons_are_exactly_the_playbook_list():
    assert {
        ReasonCategory.product_gap,
        ReasonCategory.misunderstanding,
        ReasonCategory.outcome,
        ReasonCategory.expectation,
        ReasonCategory.experience,
        ReasonCategory.cost,
    } == ADDRESSABLE_REASONS


@pytest.mark.parametrize(
    ("contract_start", "relationship_strong", "expected"),
    [
        (date(2021, 1, 1), True, True),  # ~4.2 years, strong
        (date(2022, 3, 3), True, True),  # exactly 3 years (1096 days / 365.25)
        (date(2022, 3, 4), True, False),  # one day short of 3 years
        (date(2021, 1, 1), False, False),  # long tenure alone is not enough
        (date(2024, 1, 1), True, False),  # strong relationship alone is not enough
    ],
)
def test_attempt_long_tenure_strong_relationship(contract_start, relationship_strong, expected):
    account = make_account(contract_start=contract_start, relationship_strong=relationship_strong)
    criteria = attempt_criteria(account, make_reason(), POLICY, TODAY)
    assert ("long_tenure_strong_relationship" in criteria) is expected


def test_attempt_criteria_all_listed_in_order():
    account = make_account(
        arr=200_000,
        expansion_potential=True,
        strategic=True,
        contract_start=date(2020, 1, 1),
        relationship_strong=True,
    )
    criteria = attempt_criteria(account, make_reason(ReasonCategory.cost), POLICY, TODAY)
    assert criteria == (
        "high_value",
        "high_expansion_potential",
        "strategic_or_reference",
        "addressable_reason",
        "long_tenure_strong_relationship",
    )


# --- accept criteria --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arr", "expected"),
    [(0, True), (4_999.99, True), (5_000, False), (20_000, False)],
)
def test_accept_low_value(arr, expected):
    criteria = accept_criteria(make_account(arr=arr), make_request(), make_reason(), POLICY)
    assert ("low_value" in criteria) is expected


def test_accept_declines_sales_conversation():
    decision = decide(
        make_account(expansion_potential=True),
        make_request(declines_sales_conversation=True),
    )
    assert decision.accept_criteria == ("declines_sales_conversation",)
    assert decision.attempt is False


@pytest.mark.parametrize(
    "category",
    [ReasonCategory.business_closure, ReasonCategory.acquisition, ReasonCategory.bankruptcy],
)
def test_accept_structural_churn(category):
    decision = decide(make_account(strategic=True), reason=make_reason(category))
    assert decision.accept_criteria == ("structural_churn",)
    assert decision.attempt is False


@pytest.mark.parametrize("category", [ReasonCategory.downsizing, ReasonCategory.policy_change])
def test_accept_structural_churn_not_for_downsizing_or_policy_change(category):
    # §3 names only closure, acquisition and bankruptcy.
    criteria = accept_criteria(make_account(), make_request(), make_reason(category), POLICY)
    assert "structural_churn" not in criteria


@pytest.mark.parametrize(("signed", "expected"), [(True, True), (False, False)])
def test_accept_competitor_contract_signed(signed, expected):
    reason = make_reason(
        ReasonCategory.competitor, competitor_name="Rival Inc", competitor_contract_signed=signed
    )
    decision = decide(make_account(strategic=True), reason=reason)
    assert ("competitor_contract_signed" in decision.accept_criteria) is expected
    assert decision.attempt is (not expected)


def test_accept_competitor_contract_signed_needs_competitor_reason():
    reason = make_reason(ReasonCategory.cost, competitor_contract_signed=True)
    criteria = accept_criteria(make_account(), make_request(), reason, POLICY)
    assert "competitor_contract_signed" not in criteria


def test_accept_firm_decision():
    decision = decide(make_account(expansion_potential=True), make_request(firm_decision=True))
    assert decision.accept_criteria == ("firm_decision",)
    assert decision.attempt is False
    assert decision.why == "accept without save attempt: firm_decision"


@pytest.mark.parametrize(
    ("account_kw", "request_kw", "category"),
    [
        ({"arr": 500_000}, {}, ReasonCategory.bankruptcy),
        ({"strategic": True}, {"declines_sales_conversation": True}, ReasonCategory.other),
        ({"expansion_potential": True, "arr": 1_000}, {}, ReasonCategory.product_gap),
        ({"reference": True}, {"firm_decision": True}, ReasonCategory.cost),
    ],
)
def test_accept_beats_attempt(account_kw, request_kw, category):
    decision = decide(make_account(**account_kw), make_request(**request_kw), make_reason(category))
    assert decision.attempt_criteria, "the case meets an attempt criterion"
    assert decision.accept_criteria, "the case meets an accept criterion"
    assert decision.attempt is False
    assert decision.why.startswith("accept without save attempt: ")


@pytest.mark.parametrize(
    ("account_kw", "seasonal", "attempt"),
    [
        ({"strategic": True}, True, False),  # seed 003: never held back, even if strategic
        ({"expansion_potential": True}, True, False),
        ({"expansion_potential": True}, False, True),
        ({}, True, False),
    ],
)
def test_accept_seasonal_subscriber(account_kw, seasonal, attempt):
    account = make_account(seasonal=seasonal, season="grand slams", **account_kw)
    decision = decide(account, reason=make_reason(ReasonCategory.cost))
    assert ("seasonal_subscriber" in decision.accept_criteria) is seasonal
    assert decision.attempt is attempt


# --- conversation cap -------------------------------------------------------------------


def test_at_most_one_conversation():
    account = make_account(expansion_potential=True)
    assert max_conversations(account, POLICY) == 1
    assert decide(account).max_conversations == 1
    assert may_hold_another_conversation(0, False, account, POLICY) is True
    assert may_hold_another_conversation(1, False, account, POLICY) is False


def test_two_conversations_for_strategic():
    account = make_account(strategic=True)
    assert max_conversations(account, POLICY) == 2
    assert decide(account).max_conversations == 2
    assert may_hold_another_conversation(1, False, account, POLICY) is True
    assert may_hold_another_conversation(2, False, account, POLICY) is False
    assert may_hold_another_conversation(3, False, account, POLICY) is False


def test_reference_only_account_gets_one_conversation():
    assert max_conversations(make_account(reference=True), POLICY) == 1


@pytest.mark.parametrize(("strategic", "held"), [(False, 0), (True, 0), (True, 1)])
def test_decline_ends_attempt(strategic, held):
    account = make_account(strategic=strategic)
    assert may_hold_another_conversation(held, False, account, POLICY) is True
    assert may_hold_another_conversation(held, True, account, POLICY) is False
