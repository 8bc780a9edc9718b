"""Stripe billing through the real `stripe` client against the local Stripe sandbox: the
subscription's cancel_at at the closure day's end, the one refund (or credit note) at final
billing, 429 + Retry-After, 500s, 4xx, a lost worker, and the sandbox's idempotency itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from sqlalchemy import select, update

from offboard.vendor_sandbox.stripe import Reply, StripeSandbox
from offboarding.cases.store import audit_of, get_account, get_case, upsert_accounts
from offboarding.cases.timeline import plan_timeline
from offboarding.integrations import stripe_billing
from offboarding.integrations.billing_rules import cancel_at, minor_units
from offboarding.integrations.errors import CallBlocked
from offboarding.integrations.settings import integration_settings
from offboarding.settings import get_settings
from offboarding.storage.db import session_scope, utcnow
from offboarding.storage.models import InvoiceRow
from offboarding.storage.models.integrations import VendorCallAttemptRow, VendorCallRow
from tasks import approvals, stages, vendor_billing
from tasks.common import is_transient
from tasks.integrations import idempotency_key
from tests.integration.comms_env import comms_env, open_test_case

pytestmark = pytest.mark.integration


@pytest.fixture
def sb() -> Iterator[StripeSandbox]:
    with StripeSandbox() as server:
        yield server


@pytest.fixture
def env(tmp_path: Path, sb: StripeSandbox) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'offboarding.db'}"
    keys = {"STRIPE_API_KEY": sb.api_key, "OFFBOARDING_STRIPE_API_BASE": sb.url}
    integration_settings.cache_clear()
    try:
        with comms_env(tmp_path, url, **keys):
            yield url
    finally:
        integration_settings.cache_clear()


def planned_case(account_id: str, ref: str) -> str:
    """A case whose plan was agreed today (closure in the future), as approvals leave it."""
    case_id = open_test_case(account_id, ref)
    with session_scope(get_settings().db_url) as s:
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        case.plan = plan_timeline(account, date.today(), get_settings().policy()).to_dict()
        case.status = "awaiting_approval"
    return case_id


def client(sb: StripeSandbox) -> stripe.StripeClient:
    return stripe.StripeClient(sb.api_key, base_addresses={"api": sb.url})


def closure_on(case_id: str) -> date:
    with session_scope(get_settings().db_url) as s:
        return date.fromisoformat(get_case(s, case_id).plan["closure_on"])


def call_row(case_id: str, step: str) -> VendorCallRow:
    with session_scope(get_settings().db_url) as s:
        row = s.scalar(select(VendorCallRow).where(
            VendorCallRow.case_id == case_id, VendorCallRow.step == step))  # fmt: skip
        s.expunge_all()
        return row


def outcomes(case_id: str, step: str) -> list[tuple[str, int | None]]:
    row = call_row(case_id, step)
    with session_scope(get_settings().db_url) as s:
        q = select(VendorCallAttemptRow).where(VendorCallAttemptRow.call_id == row.id)
        return [(a.outcome, a.status) for a in s.scalars(q.order_by(VendorCallAttemptRow.id))]


def attention(case_id: str) -> str | None:
    with session_scope(get_settings().db_url) as s:
        return get_case(s, case_id).needs_attention


def retried(fn: Callable[[], Any], tries: int = 5) -> Any:
    """What the task retry policy does: a transient fault is tried again, anything else is not."""
    for attempt in range(tries):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc) or attempt == tries - 1:
                raise


def test_cancel_at_the_closure_day_and_one_refund_read_back_from_stripe(
    env: str, sb: StripeSandbox
) -> None:
    ids = sb.add_subscription("ACME-SMB", amount=80000)  # found by Search (no external id)
    case_id = planned_case("ACME-SMB", "ST-HAPPY")
    for _ in range(2):  # a rerun or resume: the ledger answers, Stripe hears nothing new
        approvals.start_offboarding.fn(case_id)
    sub = client(sb).v1.subscriptions.retrieve(ids["subscription"])  # GET /v1/subscriptions/{id}
    assert sub.cancel_at == cancel_at(closure_on(case_id), "America/Chicago")
    assert sub.status == "active", "ends at the closure day, not now"
    (post,) = sb.posts("/v1/subscriptions/")
    assert post.params["proration_behavior"] == "none"
    assert post.headers["idempotency-key"] == idempotency_key(
        case_id, "stripe", "cancel_subscription"
    )
    assert not [r for r in sb.requests if r.method == "DELETE"], "never an immediate cancel"

    for _ in range(2):
        invoice = stages.final_billing.fn(case_id)
    refunds = client(sb).v1.refunds.list({"payment_intent": ids["payment_intent"]})  # GET
    (refund,) = refunds.data
    with session_scope(env) as s:
        due = s.get(InvoiceRow, case_id).refund_due
    assert invoice["refund_due"] == due and float(due) > 0
    assert refund.amount == minor_units(due, "USD") and refund.currency == "usd"
    assert refund.metadata["offboarding_case"] == case_id
    assert refund.metadata["offboarding_key"] == idempotency_key(case_id, "stripe", "final_refund")
    assert len(sb.posts("/v1/refunds")) == 1 and len(sb.posts()) == 2
    assert call_row(case_id, "final_refund").result["refund"] == refund.id
    assert outcomes(case_id, "cancel_subscription") == [("accepted", None)]
    with session_scope(env) as s:
        assert [a.action for a in audit_of(s, case_id)].count("vendor_call_done") == 2


def test_a_zero_decimal_currency_is_refunded_in_whole_yen(env: str, sb: StripeSandbox) -> None:
    with session_scope(env) as s:
        account = get_account(s, "SAKURA-JP").model_copy(update={"currency": "JPY"})
        upsert_accounts(s, [account])
    ids = sb.add_subscription("SAKURA-JP", subscription_id="sub_demo_sakura_jp",
                              currency="jpy", amount=600000)  # fmt: skip
    case_id = planned_case("SAKURA-JP", "ST-JPY")
    stages.final_billing.fn(case_id)
    with session_scope(env) as s:
        due = s.get(InvoiceRow, case_id).refund_due
    (refund,) = sb.all("refund")
    assert refund["currency"] == "jpy" and refund["payment_intent"] == ids["payment_intent"]
    assert refund["amount"] == minor_units(due, "JPY") == round(float(due))
    # the subscription came from external_ids: no Search request was needed
    assert not [r for r in sb.requests if r.path.endswith("/search")]


def test_an_open_invoice_gets_a_credit_note_and_no_refund_due_means_no_call(
    env: str, sb: StripeSandbox
) -> None:
    ids = sb.add_subscription("GLOBEX-ENT", subscription_id="sub_demo_globex_ent",
                              amount=48_000_000, invoice_status="open")  # fmt: skip
    case_id = planned_case("GLOBEX-ENT", "ST-CN")
    stages.final_billing.fn(case_id)
    (note,) = sb.all("credit_note")
    with session_scope(env) as s:
        due = s.get(InvoiceRow, case_id).refund_due
    assert note["invoice"] == ids["invoice"] and note["amount"] == minor_units(due, "USD")
    assert sb.all("refund") == []
    assert call_row(case_id, "final_refund").result["route"] == "credit_note"

    other = planned_case("ACME-SMB", "ST-ZERO")
    stages._final_invoice(other)
    with session_scope(env) as s:
        s.execute(update(InvoiceRow).where(InvoiceRow.case_id == other).values(refund_due="0.00"))
    posts = len(sb.posts())
    assert vendor_billing.refund_final_invoice(other)["amount"] == 0
    assert len(sb.posts()) == posts and call_row(other, "final_refund") is None


def test_429_waits_for_retry_after_then_refunds_once(env: str, sb: StripeSandbox) -> None:
    ids = sb.add_subscription("ACME-SMB", amount=80000)
    case_id = planned_case("ACME-SMB", "ST-429")
    stages._final_invoice(case_id)
    sb.script([Reply(429, {"Retry-After": "1"}, method="POST", path="/v1/refunds")])
    retried(lambda: vendor_billing.refund_final_invoice(case_id))
    assert [r.status for r in sb.posts("/v1/refunds")] == [429, 200]
    first, second = sb.posts("/v1/refunds")
    assert second.at - first.at >= 1.0, "the library does not retry a 429; the ledger waits"
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert outcomes(case_id, "final_refund") == [("throttled", 429), ("accepted", None)]
    assert len(client(sb).v1.refunds.list({"payment_intent": ids["payment_intent"]}).data) == 1


def test_500_is_retried_by_the_library_with_the_same_key(env: str, sb: StripeSandbox) -> None:
    ids = sb.add_subscription("ACME-SMB", amount=80000)
    case_id = planned_case("ACME-SMB", "ST-500")
    sb.script([Reply(500, method="POST")])
    vendor_billing.schedule_cancellation(case_id)  # one call: MAX_NETWORK_RETRIES absorbs it
    a, b = sb.posts()
    assert (a.status, b.status) == (500, 200)
    assert a.headers["idempotency-key"] == b.headers["idempotency-key"]
    assert outcomes(case_id, "cancel_subscription") == [("accepted", None)]
    assert sb.get("subscription", ids["subscription"])["cancel_at"] is not None


def test_500_the_library_must_not_retry_goes_to_the_ledger_and_the_next_try(
    env: str, sb: StripeSandbox
) -> None:
    sb.add_subscription("ACME-SMB", amount=80000)
    case_id = planned_case("ACME-SMB", "ST-500-NR")
    sb.script([Reply(503, {"Stripe-Should-Retry": "false"}, method="POST")])
    retried(lambda: vendor_billing.schedule_cancellation(case_id))
    assert [r.status for r in sb.posts()] == [503, 200]
    assert outcomes(case_id, "cancel_subscription") == [("unavailable", 503), ("accepted", None)]


@pytest.mark.parametrize("fault", ["unknown subscription", "wrong api key"])
def test_4xx_marks_the_case_with_stripes_message_and_is_not_retried(
    env: str, sb: StripeSandbox, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = planned_case("GLOBEX-ENT", f"ST-4XX-{fault}")  # sub_demo_globex_ent not at Stripe
    if fault == "wrong api key":
        sb.add_subscription("GLOBEX-ENT", subscription_id="sub_demo_globex_ent")
        monkeypatch.setenv("STRIPE_API_KEY", "sk_test_not_the_key")
        integration_settings.cache_clear()
    approvals.start_offboarding.fn(case_id)  # the plan still goes out; the case is flagged
    expected = "No such subscription" if fault == "unknown subscription" else "Invalid API Key"
    assert expected in attention(case_id) and "stripe cancel_subscription" in attention(case_id)
    assert len(sb.posts()) == 1, "a 4xx is not retried"
    assert "sk_test_not_the_key" not in (attention(case_id) or "")
    with pytest.raises(CallBlocked, match="releases it"):
        retried(lambda: stages.final_billing.fn(case_id))  # closure asks again: still blocked
    assert len(sb.posts()) == 1
    row = call_row(case_id, "cancel_subscription")
    assert row.status == "failed" and expected in row.last_error


def test_a_cancel_at_already_past_is_refused_not_sent(env: str, sb: StripeSandbox) -> None:
    sb.add_subscription("ACME-SMB", amount=80000)
    case_id = planned_case("ACME-SMB", "ST-PAST")
    late = datetime.now(UTC) + timedelta(days=400)
    with pytest.raises(CallBlocked, match="not cancelling early"):
        vendor_billing.schedule_cancellation(case_id, now=late)
    assert sb.posts() == [] and "not cancelling early" in attention(case_id)


def _lose_the_worker(case_id: str, step: str, run: Callable[[], Any], monkeypatch) -> None:  # noqa: ANN001
    """Stripe acted, then the worker died before `done` was committed; the lease runs out."""
    from offboarding.integrations import ledger

    def worker_dies(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("worker killed")

    with monkeypatch.context() as mp:
        mp.setattr(ledger, "complete", worker_dies)
        with pytest.raises(SystemExit):
            run()
    assert call_row(case_id, step).status == "calling"
    with session_scope(get_settings().db_url) as s:
        s.execute(update(VendorCallRow).where(VendorCallRow.case_id == case_id).values(
            claimed_at=utcnow() - timedelta(seconds=ledger.LEASE_SECONDS + 1)))  # fmt: skip


def test_a_lost_worker_is_reconciled_from_the_refunds_metadata(
    env: str, sb: StripeSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb.add_subscription("ACME-SMB", amount=80000)
    case_id = planned_case("ACME-SMB", "ST-LOST-R")
    stages._final_invoice(case_id)
    _lose_the_worker(case_id, "final_refund",
                     lambda: vendor_billing.refund_final_invoice(case_id), monkeypatch)  # fmt: skip
    result = vendor_billing.refund_final_invoice(case_id)
    assert result["reconciled"] is True and result["refund"] == sb.all("refund")[0]["id"]
    assert len(sb.all("refund")) == 1 and len(sb.posts("/v1/refunds")) == 1
    assert call_row(case_id, "final_refund").status == "done"


def test_a_lost_worker_replays_with_the_same_key_and_stripe_answers_from_its_store(
    env: str, sb: StripeSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb.add_subscription("ACME-SMB", amount=80000)
    case_id = planned_case("ACME-SMB", "ST-LOST-K")
    stages._final_invoice(case_id)
    _lose_the_worker(case_id, "final_refund",
                     lambda: vendor_billing.refund_final_invoice(case_id), monkeypatch)  # fmt: skip
    # the refund is not visible to the reconcile (say, beyond the first page): replay the call
    monkeypatch.setattr(stripe_billing.StripeBilling, "find_refund", lambda *a: None)
    result = vendor_billing.refund_final_invoice(case_id)
    first, again = sb.posts("/v1/refunds")
    assert again.headers["idempotency-key"] == first.headers["idempotency-key"]
    assert again.replayed and result["replayed"] is True
    assert len(sb.all("refund")) == 1 and result["refund"] == sb.all("refund")[0]["id"]


def test_the_sandbox_keeps_stripes_idempotency_rules(sb: StripeSandbox) -> None:
    ids = sb.add_subscription("ACME-SMB", amount=5000)
    c = stripe.StripeClient(sb.api_key, base_addresses={"api": sb.url}, max_network_retries=0)
    params = {"payment_intent": ids["payment_intent"], "amount": 100, "metadata": {"a": "b"}}
    first = c.v1.refunds.create(params, {"idempotency_key": "k-1"})
    again = c.v1.refunds.create(params, {"idempotency_key": "k-1"})
    assert again.id == first.id and again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(sb.all("refund")) == 1
    with pytest.raises(stripe.IdempotencyError, match="same parameters") as caught:
        c.v1.refunds.create({**params, "amount": 200}, {"idempotency_key": "k-1"})
    assert caught.value.http_status == 400
    with pytest.raises(stripe.AuthenticationError) as denied:
        stripe.StripeClient("sk_test_wrong", base_addresses={"api": sb.url}).v1.refunds.list()
    assert denied.value.http_status == 401
    assert denied.value.json_body["error"]["type"] == "invalid_request_error"
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded"):
        c.v1.refunds.create({**params, "amount": 99999}, {"idempotency_key": "k-2"})
    assert len(sb.all("refund")) == 1


def test_check_names_the_account_and_never_the_key(env: str, sb: StripeSandbox) -> None:
    said = stripe_billing.check()
    assert "acct_offboarding_sandbox" in said and "test mode" in said
    assert sb.api_key not in said
    assert sb.requests[-1].method == "GET" and sb.requests[-1].path == "/v1/account"


def test_with_stripe_off_nothing_is_called_and_billing_is_as_before(
    tmp_path: Path, sb: StripeSandbox
) -> None:
    url = f"sqlite:///{tmp_path / 'off.db'}"
    integration_settings.cache_clear()
    try:
        with comms_env(tmp_path, url, STRIPE_API_KEY=""):
            case_id = planned_case("ACME-SMB", "ST-OFF")
            approvals.start_offboarding.fn(case_id)
            invoice = stages.final_billing.fn(case_id)
            assert float(invoice["refund_due"]) >= 0
            assert "stripe: off" in stripe_billing.check()
            with session_scope(url) as s:
                assert s.scalars(select(VendorCallRow)).all() == []
    finally:
        integration_settings.cache_clear()
    assert sb.requests == []
