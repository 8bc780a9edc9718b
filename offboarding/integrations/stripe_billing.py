"""Billing at Stripe, through the `stripe` library: the subscription ends at the agreed closure
day, and the pro-rata refund our final invoice computes is given back once.

- Every POST carries our (case, step) key as Stripe's Idempotency-Key, so a replay after a
  lost worker gets Stripe's stored answer (`Idempotent-Replayed: true`), not a second effect.
- The library retries 5xx, 409 and dropped connections by itself (`MAX_NETWORK_RETRIES`,
  with the same Idempotency-Key, honouring `Stripe-Should-Retry`); what is still failing after
  that reaches the ledger as transient and the task retry policy takes over. It never retries
  a 429: the ledger waits for Retry-After.
- Stripe's exceptions are translated into `errors.Vendor*`, the same for every vendor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe

from offboarding.domain import Account
from offboarding.integrations.billing_rules import search_query
from offboarding.integrations.errors import (
    VendorRefused,
    VendorThrottled,
    VendorUnavailable,
    classify_status,
    parse_retry_after,
)
from offboarding.integrations.settings import IntegrationSettings, integration_settings

VENDOR = "stripe"
#: Retries inside one call (0.5 s, then ~1 s of backoff): a blip is absorbed where it happens.
MAX_NETWORK_RETRIES = 2
#: Per HTTP try; 3 tries stay well inside the ledger's 60 s lease (`ledger.LEASE_SECONDS`).
TIMEOUT_SECONDS = 15.0


class NotSent(VendorRefused):
    """We refused to make the call (a past cancel_at, no invoice, another currency): like a
    vendor's 4xx, the case needs a person; nothing was sent to Stripe."""

    def __init__(self, message: str) -> None:
        super().__init__(VENDOR, message, None)

    def __str__(self) -> str:
        return f"{VENDOR} not called: {self.detail}"


@contextmanager
def translated() -> Iterator[None]:
    """Stripe's exceptions as the shared vendor errors (the message is Stripe's own)."""
    try:
        yield
    except stripe.RateLimitError as exc:
        raise VendorThrottled(VENDOR, _message(exc), parse_retry_after(_retry_after(exc))) from exc
    except stripe.APIConnectionError as exc:
        raise VendorUnavailable(VENDOR, _message(exc)) from exc
    except stripe.StripeError as exc:
        if exc.http_status is None:
            raise VendorUnavailable(VENDOR, _message(exc)) from exc
        raise classify_status(VENDOR, exc.http_status, _message(exc), _retry_after(exc)) from exc


def _retry_after(exc: stripe.StripeError) -> str | None:
    headers = exc.headers or {}
    return headers.get("Retry-After") or headers.get("retry-after")


def _message(exc: stripe.StripeError) -> str:
    parts = [exc.user_message or type(exc).__name__]
    if exc.code:
        parts.append(f"code {exc.code}")
    if exc.request_id:
        parts.append(f"request {exc.request_id}")
    return "; ".join(parts)


def _with_key(objects: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The object our call made: its metadata carries our idempotency key."""
    for obj in objects:
        if (obj.get("metadata") or {}).get("offboarding_key") == key:
            return obj
    return None


def _replayed(obj: stripe.StripeObject) -> bool:
    response = obj.last_response
    return bool(response and response.headers.get("Idempotent-Replayed") == "true")


class StripeBilling:
    """The few Stripe calls the close-out needs; reads are plain, writes take our key."""

    def __init__(
        self,
        api_key: str,
        api_base: str = "https://api.stripe.com",
        *,
        max_network_retries: int = MAX_NETWORK_RETRIES,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.api_base = api_base
        self.test_mode = api_key.startswith(("sk_test_", "rk_test_"))
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    # -- reads --------------------------------------------------------------------------------
    def find_subscription(self, account: Account) -> str:
        """The account's subscription: `external_ids.stripe_subscription`, else the one
        active subscription whose metadata names the account (Stripe Search)."""
        known = account.external_ids.get("stripe_subscription")
        if known:
            return known
        with translated():
            found = self._client.v1.subscriptions.search(
                {"query": search_query(account.account_id), "limit": 10}
            )
        ids = [s.id for s in found.data]
        if len(ids) != 1:
            raise NotSent(
                f"{len(ids)} active subscriptions have metadata account_id="
                f"{account.account_id} ({', '.join(ids) or 'none'}); expected exactly one: set "
                f"external_ids.stripe_subscription on the account"
            )
        return ids[0]

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        with translated():
            return self._client.v1.subscriptions.retrieve(subscription_id).to_dict()

    def last_invoice(self, subscription_id: str) -> dict[str, Any] | None:
        """The subscription's most recent paid or open invoice: the prepaid period's bill."""
        found = []
        with translated():
            for status in ("paid", "open"):
                page = self._client.v1.invoices.list(
                    {"subscription": subscription_id, "status": status, "limit": 1}
                )
                found += [i.to_dict() for i in page.data]
        return max(found, key=lambda i: i["created"], default=None)

    def payment_intent_of(self, invoice_id: str) -> str | None:
        """The payment intent that paid the invoice (Stripe lists it as an invoice payment)."""
        with translated():
            page = self._client.v1.invoice_payments.list(
                {"invoice": invoice_id, "status": "paid", "limit": 10}
            )
        for pay in page.data:
            payment = pay.payment
            if payment.type == "payment_intent" and payment.payment_intent:
                pi = payment.payment_intent
                return pi if isinstance(pi, str) else pi.id
        return None

    def find_refund(self, payment_intent: str, key: str) -> dict[str, Any] | None:
        """Our refund on the payment intent, found by the key in its metadata (reconcile)."""
        with translated():
            page = self._client.v1.refunds.list({"payment_intent": payment_intent, "limit": 100})
        return _with_key([r.to_dict() for r in page.data], key)

    def find_credit_note(self, invoice_id: str, key: str) -> dict[str, Any] | None:
        with translated():
            page = self._client.v1.credit_notes.list({"invoice": invoice_id, "limit": 100})
        return _with_key([c.to_dict() for c in page.data], key)

    def account(self) -> dict[str, Any]:
        with translated():
            return self._client.v1.accounts.retrieve_current().to_dict()

    # -- writes (each with our idempotency key) -----------------------------------------------
    def schedule_cancellation(
        self, subscription_id: str, cancel_at: int, key: str, metadata: dict[str, str]
    ) -> dict[str, Any]:
        """End the subscription at `cancel_at`, without prorations; never cancel it now."""
        params = {"cancel_at": cancel_at, "proration_behavior": "none", "metadata": metadata}
        with translated():
            sub = self._client.v1.subscriptions.update(
                subscription_id, params, {"idempotency_key": key}
            )
        return {
            "subscription": sub.id,
            "cancel_at": sub.cancel_at,
            "status": sub.status,
            "replayed": _replayed(sub),
        }

    def refund(
        self, payment_intent: str, amount: int, key: str, metadata: dict[str, str]
    ) -> dict[str, Any]:
        params = {
            "payment_intent": payment_intent,
            "amount": amount,
            "reason": "requested_by_customer",
            "metadata": metadata,
        }
        with translated():
            r = self._client.v1.refunds.create(params, {"idempotency_key": key})
        return {"refund": r.id, "amount": r.amount, "currency": r.currency,
                "status": r.status, "payment_intent": payment_intent,
                "replayed": _replayed(r)}  # fmt: skip

    def credit_note(
        self, invoice_id: str, amount: int, memo: str, key: str, metadata: dict[str, str]
    ) -> dict[str, Any]:
        params = {"invoice": invoice_id, "amount": amount, "memo": memo, "metadata": metadata}
        with translated():
            c = self._client.v1.credit_notes.create(params, {"idempotency_key": key})
        return {"credit_note": c.id, "amount": c.amount, "currency": c.currency,
                "status": c.status, "invoice": invoice_id, "replayed": _replayed(c)}  # fmt: skip


def billing_from_settings(settings: IntegrationSettings | None = None) -> StripeBilling | None:
    """The adapter when STRIPE_API_KEY is set; None means the embedded default applies."""
    settings = settings or integration_settings()
    if not settings.stripe_on:
        return None
    return StripeBilling(settings.stripe_api_key, settings.stripe_api_base)


def check(settings: IntegrationSettings | None = None) -> str:
    """One read-only call (GET /v1/account): which Stripe account we would act on."""
    billing = billing_from_settings(settings)
    if billing is None:
        return "stripe: off (STRIPE_API_KEY not set); billing is recorded in our database only"
    mode = "test mode" if billing.test_mode else "LIVE mode"
    try:
        acct = billing.account()
    except (VendorRefused, VendorUnavailable) as exc:
        return f"stripe: on ({mode}, {billing.api_base}) but the check failed: {exc}"
    name = (acct.get("business_profile") or {}).get("name") or acct.get("email") or ""
    return (
        f"stripe: on ({mode}, {billing.api_base}), account {acct.get('id')} {name}".rstrip()
        + "; subscriptions end at the closure day, refunds at final billing"
    )
