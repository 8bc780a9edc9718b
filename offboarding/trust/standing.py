"""Who may ask (PLAYBOOK §1 with the trust boundary): a requester's standing with the account.

Pure: the account's contacts and the policy's authorised roles decide. An address that only
appears on a request is a stranger, however plausible it looks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from offboarding.domain import Account

#: The "role" of a wait that the account's own authorised contacts answer (§1 confirmation).
ACCOUNT_ROLE = "account"

AUTHORISED = "authorised"
CONTACT_WITHOUT_AUTHORITY = "contact_without_authority"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Standing:
    """The requester's standing: `authorised`, `contact_without_authority` or `unknown`."""

    level: str
    contact_name: str | None = None
    contact_role: str | None = None

    @property
    def authorised(self) -> bool:
        return self.level == AUTHORISED

    def describe(self) -> str:
        if self.level == AUTHORISED:
            return f"authorised contact ({self.contact_role})"
        if self.level == CONTACT_WITHOUT_AUTHORITY:
            return f"contact without authority to cancel ({self.contact_role})"
        return "not a contact of the account"


def authorised_contacts(account: Account, roles: Iterable[str]) -> list[str]:
    """Addresses that may cancel and receive the account's data, in the account's order."""
    allowed = {r.lower() for r in roles}
    return [c.email.lower() for c in account.contacts if c.role.lower() in allowed]


def requester_standing(account: Account, requester: str, roles: Iterable[str]) -> Standing:
    who = requester.strip().lower()
    allowed = {r.lower() for r in roles}
    for c in account.contacts:
        if c.email.lower() == who:
            level = AUTHORISED if c.role.lower() in allowed else CONTACT_WITHOUT_AUTHORITY
            return Standing(level, c.name, c.role)
    return Standing(UNKNOWN)
