"""§10's deactivation checklist: per system what was done and the evidence.

Apart from `tasks/vendor_scim.py` so a deactivation with SCIM off does not import the SCIM
client and its models (over a CPU-second at every run's start)."""

from __future__ import annotations

from typing import Any

from offboarding.integrations import ledger
from offboarding.integrations.settings import integration_settings
from tasks.common import db

#: `offboarding.integrations.scim_directory.VENDOR`, named here without importing the client
SCIM_VENDOR = "scim"
EMBEDDED = "recorded in our database"
#: Which vendor's ledger rows are the evidence of a §10 system's close-out, when it is on.
SYSTEM_VENDORS = {"admin_portal": SCIM_VENDOR, "crm": "hubspot", "chat_channels": "slack"}


def deactivation_checklist(case_id: str, systems: tuple[str, ...]) -> dict[str, Any]:
    """§10 "revoke access everywhere": per system what was done and the evidence — the SCIM
    deletions (when SCIM is on), a vendor's ledger rows for this case, or our own record."""
    directory = None
    if integration_settings().scim_on:
        from tasks.vendor_scim import delete_directory_users

        directory = delete_directory_users(case_id)
    checklist: dict[str, dict[str, Any]] = {}
    with db() as s:
        rows = {r.id: r for r in ledger.calls(s, case_id=case_id, status=ledger.CallStatus.done)}
        for system in systems:
            vendor = SYSTEM_VENDORS.get(system)
            if system == "admin_portal" and directory is not None:
                checklist[system] = {
                    "done": f"{directory['users']} users deleted from the SCIM directory",
                    "evidence": {**directory},
                }
                continue
            theirs = [r for r in rows.values() if vendor and r.vendor == vendor]
            if theirs:
                checklist[system] = {
                    "done": f"closed out in {vendor}",
                    "evidence": {"vendor": vendor, "call_ids": [r.id for r in theirs],
                                 "answers": [r.result for r in theirs]},
                }  # fmt: skip
            else:
                checklist[system] = {"done": "access revoked", "evidence": EMBEDDED}
    return {**{system: "revoked" for system in systems}, "checklist": checklist}
