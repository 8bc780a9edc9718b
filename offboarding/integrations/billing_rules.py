"""Stripe billing rules (pure): money in a currency's minor units, the moment a subscription
ends, and how a final refund is given.

Kept apart from the adapter so each rule is a table test: an off-by-100 on yen or a
cancellation one day early is a real customer's money.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

#: Stripe's zero-decimal currencies: an amount is in whole units (¥500 is 500, not 50000).
ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
#: Three-decimal currencies: thousandths, and Stripe needs the last digit to be 0.
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
#: Stripe represents these as two-decimal but accepts only whole units (a multiple of 100).
WHOLE_UNITS_TWO_DECIMAL = frozenset({"ISK"})


def minor_units(amount: Decimal | str | int | float, currency: str) -> int:
    """The integer Stripe expects for `amount` of `currency`, rounded half up.

    A negative amount is refused: refunds and credits are given as positive amounts.
    """
    value = Decimal(str(amount))
    if value < 0:
        raise ValueError(f"a negative amount ({value}) cannot be sent to Stripe")
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if code in THREE_DECIMAL:
        tens = (value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return int(tens) * 10
    if code in WHOLE_UNITS_TWO_DECIMAL:
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 100
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor_units(amount: int, currency: str) -> Decimal:
    """The inverse of `minor_units`, for messages and read-backs."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return Decimal(amount)
    if code in THREE_DECIMAL:
        return Decimal(amount) / 1000
    return Decimal(amount) / 100


def cancel_at(closure_on: date, timezone: str) -> int:
    """The closure date's end of day (23:59:59) in the account's time zone, as a Unix
    timestamp: the customer keeps the service through the whole agreed closure day."""
    zone = ZoneInfo(timezone)
    next_midnight = datetime.combine(closure_on + timedelta(days=1), time(0), tzinfo=zone)
    return int(next_midnight.timestamp()) - 1


def cancel_at_refusal(cancel_at_ts: int, now: datetime) -> str | None:
    """Why `cancel_at_ts` must not be sent (it is not in the future), or None when it may.
    A past cancel_at would end the subscription at once: earlier than agreed."""
    now_ts = int(now.timestamp())
    if cancel_at_ts <= now_ts:
        return (
            f"cancel_at {cancel_at_ts} is not in the future (now {now_ts}): the agreed "
            f"closure day is over, so Stripe would cancel at once; not cancelling early"
        )
    return None


class RefundRoute(StrEnum):
    """How the pro-rata refund reaches the customer."""

    refund = "refund"  # the invoice was paid: money back to the card/bank via its payment
    credit_note = "credit_note"  # not paid yet: a credit note lowers what is owed


def refund_route(invoice_status: str | None) -> RefundRoute | None:
    """Paid → a Refund on its payment; open → a credit note; anything else (draft, void,
    uncollectible, no invoice) → None: a person decides, nothing is guessed."""
    if invoice_status == "paid":
        return RefundRoute.refund
    if invoice_status == "open":
        return RefundRoute.credit_note
    return None


def search_query(account_id: str) -> str:
    """Stripe Search query for the account's active subscription (quotes escaped)."""
    quoted = account_id.replace("\\", "\\\\").replace("'", "\\'")
    return f"metadata['account_id']:'{quoted}' AND status:'active'"
