"""§10 close-out in HubSpot, made exactly once per case through the vendor-call ledger.

Three calls, each its own ledger step (vendor "hubspot"):
- `closeout_company`: PATCH the company's churn properties. Replay-safe: after a lost worker
  the same PATCH is simply made again.
- `closeout_note`: the timeline note (reason, what happens next), associated with the company.
  Not replay-safe: after a lost worker the company's notes are searched for our key first.
- `winback_task`: the win-back reminder for the owner, only for a win-back candidate; the same
  reconcile by key.
When HubSpot is off (no HUBSPOT_ACCESS_TOKEN) nothing here runs: the CRM result recorded by
`internal_closeout` in our database is the embedded default.
"""

from __future__ import annotations

from typing import Any

from offboarding.cases.store import get_account, get_case
from offboarding.domain import Reason
from offboarding.integrations.closeout_rules import (
    Closeout,
    closeout_facts,
    company_properties,
    note_properties,
    task_properties,
)
from offboarding.integrations.hubspot_crm import VENDOR, HubSpotCRM
from offboarding.integrations.settings import integration_settings
from offboarding.storage.db import utcnow
from tasks.common import db
from tasks.integrations import call_once


def closeout_of(case_id: str, recorded: dict[str, Any]) -> tuple[Closeout, dict[str, str]]:
    """The close-out facts of a case (and the account's external ids) from our database."""
    with db() as s:
        case = get_case(s, case_id)
        account = get_account(s, case.account_id)
        reason = Reason.model_validate(case.reason)
        facts = closeout_facts(case_id, account, reason, recorded, case.plan, case.closed_on)
        return facts, dict(getattr(account, "external_ids", None) or {})


def crm_closeout(case_id: str, recorded: dict[str, Any]) -> dict[str, Any] | None:
    """Mark the company churned, log the note, set the win-back task; None when HubSpot is off.

    `recorded` is internal_closeout's step result. Raises CallBlocked when HubSpot refused
    (the case is then `needs_attention` with HubSpot's message), VendorUnavailable when it
    should be tried again."""
    settings = integration_settings()
    if not settings.hubspot_on:
        return None
    facts, external = closeout_of(case_id, recorded)
    crm = HubSpotCRM.from_settings(settings)
    known = external.get("hubspot_company") or None
    props = company_properties(facts)
    company = call_once(
        case_id,
        VENDOR,
        "closeout_company",
        {
            "account_id": facts.account_id,
            "company_id": known or "by offboarding_account_id",
            "properties": props,
        },
        lambda key: crm.close_company(facts.account_id, known, props),
    )
    cid = company["company_id"]
    note = call_once(
        case_id,
        VENDOR,
        "closeout_note",
        {"company_id": cid, "kind": "timeline note"},
        lambda key: crm.create_note(cid, note_properties(facts, key, utcnow())),
        replay_safe=False,
        reconcile=lambda key: crm.find_note(cid, key),
    )
    out: dict[str, Any] = {"company": company, "note": note, "task": None}
    if facts.winback_candidate and facts.winback_remind_on:

        def make_task(key: str) -> dict[str, Any]:
            owner = crm.owner_id(facts.owner_email)
            made = crm.create_task(cid, task_properties(facts, key, owner))
            return {**made, "owner_email": facts.owner_email, "owner_found": owner is not None}

        out["task"] = call_once(
            case_id,
            VENDOR,
            "winback_task",
            {
                "company_id": cid,
                "owner_email": facts.owner_email,
                "remind_on": facts.winback_remind_on.isoformat(),
            },
            make_task,
            replay_safe=False,
            reconcile=lambda key: crm.find_task(cid, key),
        )
    return out
