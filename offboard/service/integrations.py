"""What the integrations did and whether they are reachable: the vendor call ledger for
people (`offboard integrations list | release | check`)."""

from __future__ import annotations

import importlib
from typing import Any

from offboard.service.database import store_session
from offboarding.cases.store import OffboardingError, audit
from offboarding.integrations import ledger
from offboarding.integrations.settings import integration_settings

#: vendor -> (the adapter module with `check()`, the settings flag that turns it on)
ADAPTERS = {
    "stripe": ("offboarding.integrations.stripe_billing", "stripe_on"),
    "hubspot": ("offboarding.integrations.hubspot_crm", "hubspot_on"),
    "scim": ("offboarding.integrations.scim_directory", "scim_on"),
    "slack": ("offboarding.integrations.slack_notice", "slack_on"),
    "webhooks": ("offboarding.integrations.webhook_events", "webhooks_on"),
}


def call_rows(case_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    with store_session() as s:
        return [
            {
                "id": r.id,
                "case_id": r.case_id,
                "vendor": r.vendor,
                "step": r.step,
                "status": r.status,
                "attempts": r.attempts,
                "key": r.idempotency_key,
                "result": r.result,
                "error": r.last_error,
                "updated_at": r.updated_at,
            }
            for r in ledger.calls(s, case_id, status)
        ]


def release_call(call_id: int, done: bool, token: str | None = None) -> dict[str, Any]:
    """A person's decision on a refused or unknown call: make it again on the next run, or
    it did happen at the vendor (mark done). The decider is the token's owner (audited)."""
    from offboard.service.tokens import whoami

    actor = whoami(token)
    with store_session() as s:
        try:
            row = ledger.release(s, call_id, done=done)
        except (LookupError, ValueError) as exc:
            raise OffboardingError(str(exc)) from exc
        audit(s, row.case_id, actor, "vendor_call_released", f"{row.vendor} {row.step}",
              "it happened at the vendor" if done else "make it again")  # fmt: skip
        return {"id": row.id, "case_id": row.case_id, "vendor": row.vendor, "step": row.step,
                "status": row.status}  # fmt: skip


def check_integrations() -> list[dict[str, Any]]:
    """Each integration: on or off (and why), and for those on, one read-only call."""
    settings = integration_settings()
    out = []
    for vendor, (module, flag) in ADAPTERS.items():
        if not getattr(settings, flag, False):
            out.append({"vendor": vendor, "on": False, "ok": None,
                        "detail": "off: its settings are not present (the embedded default "
                                  "records the step in our database)"})  # fmt: skip
            continue
        try:
            detail = importlib.import_module(module).check()
            out.append({"vendor": vendor, "on": True, "ok": True, "detail": detail})
        except Exception as exc:  # noqa: BLE001 - reported, one line per vendor
            out.append({"vendor": vendor, "on": True, "ok": False,
                        "detail": f"{type(exc).__name__}: {exc}"})  # fmt: skip
    return out
