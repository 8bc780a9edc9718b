"""How a vendor's answer is classified, the same for every vendor (pure).

Adapters translate their client library's exceptions into these three, so the ledger and
the task retry policy treat Stripe, HubSpot, SCIM, Slack and webhooks alike:
- throttled (429): wait for the vendor's Retry-After, then try again;
- unavailable (5xx, dropped connection, timeout): retry with backoff;
- refused (any other 4xx): never retried blindly; the case needs a person.
"""

from __future__ import annotations


class VendorUnavailable(ConnectionError):
    """A 5xx, a dropped connection or a timeout: a second try can fix it (transient)."""

    def __init__(self, vendor: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{vendor}: {message}")
        self.vendor, self.status = vendor, status


class VendorThrottled(VendorUnavailable):
    """429: the vendor asked us to wait `retry_after` seconds (transient)."""

    def __init__(self, vendor: str, message: str, retry_after: float) -> None:
        super().__init__(vendor, message, 429)
        self.retry_after = retry_after


class VendorRefused(RuntimeError):
    """A 4xx other than 429: the request itself is wrong for the vendor (not transient)."""

    def __init__(self, vendor: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{vendor} refused ({status}): {message}")
        self.vendor, self.status, self.detail = vendor, status, message


class CallBlocked(RuntimeError):
    """The call was refused before, or its outcome is unknown: the automation will not make it
    again until a person releases it (`offboard integrations release`)."""


def classify_status(
    vendor: str, status: int, message: str, retry_after: str | float | None = None
) -> Exception:
    """The exception for an HTTP status from a vendor (200s are not errors)."""
    if status == 429:
        return VendorThrottled(vendor, message, parse_retry_after(retry_after))
    if status >= 500 or status == 408:
        return VendorUnavailable(vendor, message, status)
    return VendorRefused(vendor, message, status)


def parse_retry_after(value: str | float | None, default: float = 1.0) -> float:
    """Retry-After in seconds (an HTTP date is rare from APIs; it falls back to the default)."""
    if value is None or value == "":
        return default
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return default
