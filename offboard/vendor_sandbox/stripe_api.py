"""The Stripe resources of the sandbox (`offboard.vendor_sandbox.stripe`): customers,
subscriptions, invoices, invoice payments, payment intents, refunds and credit notes, with
Stripe's object, list, search and error shapes and its parameter checks. No HTTP here: the
server, auth, scripted replies and idempotency are in `stripe.py`."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from offboarding.domain import Account
from offboarding.integrations.billing_rules import minor_units

_PRORATION = {"always_invoice", "create_prorations", "none"}
_CREDIT_REASONS = {"duplicate", "fraudulent", "order_change", "product_unsatisfactory"}
_CLAUSE = re.compile(r"^(?:metadata\['((?:[^'\\]|\\.)+)'\]|(\w+)):'((?:[^'\\]|\\.)*)'$")
KINDS = (
    "customer",
    "subscription",
    "invoice",
    "invoice_payment",
    "payment_intent",
    "refund",
    "credit_note",
)


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        error = {"type": type_, "message": message}
        error |= {k: v for k, v in (("code", code), ("param", param)) if v}
        self.status, self.body = status, {"error": error}


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding to nested data: `a[b]=1` → {"a": {"b": "1"}}, `a[0]=x` → a list."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node = out
        for here in parts[:-1]:
            node = node.setdefault(here, {})
        node[parts[-1] if parts else key] = value
    return _lists(out)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _amount(params: dict[str, Any], name: str, required: bool = True) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        if required:
            raise StripeError(
                400, f"Missing required param: {name}.", code="parameter_missing", param=name
            )
        return None
    if not str(raw).isdigit() or int(raw) <= 0:
        raise StripeError(
            400, f"Invalid positive integer: {name}", code="parameter_invalid_integer", param=name
        )
    return int(raw)


def _only(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed | {"expand"}:
            raise StripeError(
                400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name
            )


class StripeApi:
    """The sandbox's state and its v1 resources; every method runs under `self.lock`."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self.lock = threading.RLock()

    def add_subscription(
        self,
        account_id: str,
        *,
        subscription_id: str | None = None,
        currency: str = "usd",
        amount: int = 10000,
        invoice_status: str = "paid",
    ) -> dict[str, str]:
        """A customer with an active subscription (metadata account_id) and its latest invoice,
        paid by a payment intent unless `invoice_status` says otherwise; returns the ids."""
        now, cur = int(time.time()), currency.lower()
        with self.lock:
            cus = self._put(
                "customer", {"id": new_id("cus"), "metadata": {"account_id": account_id}}
            )
            sub = self._put(
                "subscription",
                {
                    "id": subscription_id or new_id("sub"),
                    "customer": cus["id"],
                    "status": "active",
                    "currency": cur,
                    "cancel_at": None,
                    "cancel_at_period_end": False,
                    "canceled_at": None,
                    "created": now - 86400,
                    "metadata": {"account_id": account_id},
                },
            )
            paid = invoice_status == "paid"
            inv = self._put(
                "invoice",
                {
                    "id": new_id("in"),
                    "customer": cus["id"],
                    "currency": cur,
                    "status": invoice_status,
                    "total": amount,
                    "amount_due": amount,
                    "amount_paid": amount if paid else 0,
                    "amount_remaining": 0 if paid else amount,
                    "created": now - 3600,
                    "parent": {
                        "type": "subscription_details",
                        "subscription_details": {"subscription": sub["id"]},
                    },
                },
            )
            ids = {"customer": cus["id"], "subscription": sub["id"], "invoice": inv["id"]}
            if paid:
                pi = self._put(
                    "payment_intent",
                    {
                        "id": new_id("pi"),
                        "amount": amount,
                        "amount_received": amount,
                        "currency": cur,
                        "status": "succeeded",
                        "customer": cus["id"],
                    },
                )
                self._put(
                    "invoice_payment",
                    {
                        "id": new_id("inpay"),
                        "invoice": inv["id"],
                        "amount_paid": amount,
                        "currency": cur,
                        "status": "paid",
                        "is_default": True,
                        "payment": {"type": "payment_intent", "payment_intent": pi["id"]},
                    },
                )
                ids["payment_intent"] = pi["id"]
            return ids

    def seed_accounts(self, accounts: Iterable[Account]) -> dict[str, dict[str, str]]:
        """One subscription per account (its `external_ids.stripe_subscription` when given),
        its latest invoice paid with the account's prepaid amount: for the demo."""
        return {
            a.account_id: self.add_subscription(
                a.account_id,
                subscription_id=a.external_ids.get("stripe_subscription"),
                currency=a.currency,
                amount=max(1, minor_units(a.prepaid_amount, a.currency)),
            )
            for a in accounts
        }

    def all(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o) for o in self.objects[kind].values()]

    def get(self, kind: str, object_id: str) -> dict[str, Any]:
        with self.lock:
            return dict(self.objects[kind][object_id])

    def route(self, method: str, path: str, p: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")[1:]  # without "v1"
        match method, parts:
            case "GET", ["account"]:
                return {
                    "id": "acct_offboarding_sandbox",
                    "object": "account",
                    "country": "US",
                    "default_currency": "usd",
                    "charges_enabled": True,
                    "business_profile": {"name": "Offboarding sandbox"},
                }
            case "GET", ["subscriptions", "search"]:
                return self._search(p.get("query", ""))
            case "GET", ["subscriptions", sid]:
                return self._find("subscription", sid)
            case "POST", ["subscriptions", sid]:
                return self._update_subscription(self._find("subscription", sid), p)
            case "DELETE", ["subscriptions", sid]:
                sub = self._find("subscription", sid)
                sub.update(status="canceled", canceled_at=int(time.time()))
                return sub
            case "GET", ["invoices"]:
                return self._list(
                    "invoice",
                    p,
                    subscription=lambda o: o["parent"]["subscription_details"]["subscription"],
                )
            case "GET", ["invoice_payments"]:
                return self._list("invoice_payment", p, invoice=lambda o: o["invoice"])
            case "POST", ["refunds"]:
                return self._refund(p)
            case "GET", ["refunds"]:
                return self._list("refund", p, payment_intent=lambda o: o["payment_intent"])
            case "GET", ["refunds", rid]:
                return self._find("refund", rid)
            case "POST", ["credit_notes"]:
                return self._credit_note(p)
            case "GET", ["credit_notes"]:
                return self._list("credit_note", p, invoice=lambda o: o["invoice"])
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _put(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj = {"object": kind, "livemode": False, "created": int(time.time()), **obj}
        obj.setdefault("metadata", {})
        self.objects[kind][obj["id"]] = obj
        return obj

    def _find(self, kind: str, object_id: str, param: str = "id") -> dict[str, Any]:
        obj = self.objects[kind].get(object_id)
        if obj is None:
            raise StripeError(
                404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
            )
        return obj

    def _list(self, kind: str, p: dict[str, Any], **filters: Any) -> dict[str, Any]:
        rows = sorted(self.objects[kind].values(), key=lambda o: o["created"], reverse=True)
        for name, get in filters.items():
            if p.get(name):
                rows = [o for o in rows if get(o) == p[name]]
        if p.get("status"):
            rows = [o for o in rows if o.get("status") == p["status"]]
        limit = int(p.get("limit") or 10)
        return {
            "object": "list",
            "data": rows[:limit],
            "has_more": len(rows) > limit,
            "url": f"/v1/{kind}s",
        }

    def _search(self, query: str) -> dict[str, Any]:
        rows = list(self.objects["subscription"].values())
        for clause in (c.strip() for c in query.split(" AND ")):
            m = _CLAUSE.match(clause)
            if not m:
                raise StripeError(400, f"Invalid search query: {query!r}", param="query")
            meta, fname, value = (x and re.sub(r"\\(.)", r"\1", x) for x in m.groups())
            if meta:
                rows = [o for o in rows if o["metadata"].get(meta) == value]
            else:
                rows = [o for o in rows if str(o.get(fname)) == value]
        return {
            "object": "search_result",
            "data": rows,
            "has_more": False,
            "next_page": None,
            "url": "/v1/subscriptions/search",
        }

    def _update_subscription(self, sub: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        _only(p, {"cancel_at", "cancel_at_period_end", "proration_behavior", "metadata"})
        if sub["status"] == "canceled":
            raise StripeError(
                400,
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        if p.get("proration_behavior", "none") not in _PRORATION:
            raise StripeError(400, "Invalid proration_behavior", param="proration_behavior")
        if "cancel_at" in p:
            raw = p["cancel_at"]
            if raw != "" and (not str(raw).isdigit() or int(raw) <= time.time()):
                raise StripeError(
                    400, "cancel_at must be a Unix timestamp in the future.", param="cancel_at"
                )
            sub["cancel_at"] = int(raw) if raw != "" else None
        if "cancel_at_period_end" in p:
            sub["cancel_at_period_end"] = p["cancel_at_period_end"] == "true"
        sub["metadata"] = {**sub["metadata"], **(p.get("metadata") or {})}
        return sub

    def _refund(self, p: dict[str, Any]) -> dict[str, Any]:
        _only(p, {"payment_intent", "amount", "metadata", "reason"})
        if not p.get("payment_intent"):
            raise StripeError(
                400,
                "One of the following params should be provided for this "
                "request: payment_intent or charge.",
            )
        pi = self._find("payment_intent", p["payment_intent"], "payment_intent")
        done = sum(
            r["amount"]
            for r in self.objects["refund"].values()
            if r["payment_intent"] == pi["id"] and r["status"] == "succeeded"
        )
        left = pi["amount_received"] - done
        amount = _amount(p, "amount", required=False) or left
        if amount > left:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        return self._put(
            "refund",
            {
                "id": new_id("re"),
                "amount": amount,
                "currency": pi["currency"],
                "payment_intent": pi["id"],
                "charge": "ch_" + pi["id"][3:],
                "status": "succeeded",
                "reason": p.get("reason"),
                "metadata": p.get("metadata") or {},
            },
        )

    def _credit_note(self, p: dict[str, Any]) -> dict[str, Any]:
        _only(p, {"invoice", "amount", "memo", "metadata", "reason"})
        if not p.get("invoice"):
            raise StripeError(400, "Missing required param: invoice.", param="invoice")
        inv = self._find("invoice", p["invoice"], "invoice")
        if p.get("reason") and p["reason"] not in _CREDIT_REASONS:
            raise StripeError(400, "Invalid reason", param="reason")
        amount = _amount(p, "amount")
        if inv["status"] != "open" or amount > inv["amount_remaining"]:
            raise StripeError(
                400,
                f"The credit note amount ({amount}) exceeds what can be "
                f"credited on invoice {inv['id']} ({inv['status']}).",
                param="amount",
            )
        inv["amount_remaining"] -= amount
        inv["amount_due"] -= amount
        return self._put(
            "credit_note",
            {
                "id": new_id("cn"),
                "invoice": inv["id"],
                "amount": amount,
                "currency": inv["currency"],
                "status": "issued",
                "type": "pre_payment",
                "memo": p.get("memo"),
                "reason": p.get("reason"),
                "metadata": p.get("metadata") or {},
            },
        )
