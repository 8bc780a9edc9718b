"""Riding out an S3 outage: connection failures are retried for a window of time, not a count.

botocore's standard mode retries a refused or dropped connection `max_attempts` times with
jittered backoff capped at 20 s; measured here, its eight attempts were spent in 2–40 s, so a
30-s outage (an S3 gateway restarting, a network blip) failed a 6 M-row export half way. This
handler joins botocore's own `needs-retry` event after the standard one: when the standard
handler has given up on a *connection* failure, it keeps retrying the same request (a part, a
list page, a completion: each S3 call is safe to repeat) with capped backoff until the outage
has lasted `window_s`, then lets botocore raise its error, which the CLI and the flows report
plainly. Answers from S3 (4xx, 5xx, throttling) stay with the standard handler, except the 5xx
of a server that is coming back after an outage this request has seen.
"""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

log = logging.getLogger(__name__)

#: How long one request rides out a connection outage (OFFBOARDING_S3_OUTAGE_SECONDS).
DEFAULT_WINDOW_S = 300.0
MAX_DELAY_S = 10.0
_CONNECTION_FAILURES = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)
_SINCE = "offboarding_outage_since"


def outage_window_s() -> float:
    """The window from the environment (seconds; 0 turns the extra retries off)."""
    raw = os.environ.get("OFFBOARDING_S3_OUTAGE_SECONDS", "").strip()
    if not raw:
        return DEFAULT_WINDOW_S
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(
            f"OFFBOARDING_S3_OUTAGE_SECONDS must be a number of seconds: {raw!r}"
        ) from exc
    if value < 0:
        raise ValueError("OFFBOARDING_S3_OUTAGE_SECONDS must be 0 or more")
    return value


class OutageRetry:
    """A `needs-retry` handler: a delay while a connection outage is younger than the window."""

    def __init__(
        self, window_s: float, standard_attempts: int = 0, clock: Any = time.monotonic
    ) -> None:
        self.window_s = window_s
        self.standard_attempts = standard_attempts  # below it, the standard handler's delay wins
        self._clock = clock

    def __call__(
        self,
        attempts: int,
        caught_exception: BaseException | None = None,
        request_dict: dict[str, Any] | None = None,
        operation: Any = None,
        response: Any = None,
        **_: Any,
    ) -> float | None:
        if request_dict is None:
            return None
        context = request_dict.setdefault("context", {})
        # a server coming back answers 5xx for a moment (its gateway before its storage)
        recovering = _SINCE in context and _server_error(response)
        if not (isinstance(caught_exception, _CONNECTION_FAILURES) or recovering):
            return None
        now = self._clock()
        since = context.setdefault(_SINCE, now)
        waited = now - since
        name = getattr(operation, "name", "S3 call")
        if waited >= self.window_s:
            log.error("S3 unreachable for %.0f s on %s; giving up: %s", waited, name,
                      caught_exception)  # fmt: skip
            return None
        delay = min(MAX_DELAY_S, 0.5 * 2 ** min(attempts, 5)) * (0.5 + random.random() / 2)
        delay = min(delay, self.window_s - waited)
        level = logging.WARNING if attempts >= self.standard_attempts else logging.DEBUG
        what = type(caught_exception).__name__ if caught_exception else "server error"
        log.log(level, "S3 unreachable on %s (%s); retrying in %.1f s, for up to %.0f s more",
                name, what, delay, self.window_s - waited)  # fmt: skip
        return delay


def _server_error(response: Any) -> bool:
    try:
        return int(response[0].status_code) >= 500
    except (TypeError, IndexError, AttributeError, ValueError):
        return False


def ride_out_outages(client: Any, window_s: float | None = None) -> Any:
    """Register the handler on `client` (after botocore's standard one), and return it."""
    window = outage_window_s() if window_s is None else window_s
    if window > 0:
        service = client.meta.service_model.service_id.hyphenize()
        standard = int((client.meta.config.retries or {}).get("total_max_attempts") or 0)
        client.meta.events.register(
            f"needs-retry.{service}",
            OutageRetry(window, standard),
            unique_id="offboarding-outage-retry",
        )
    return client
