"""Whose message is this? The account whose contacts (or owner) include the sender; else the
one account whose contacts share the sender's domain, in which case the flow treats the sender
as a stranger and asks the account to confirm. Several candidates, a free-mail domain, or
none: triage. Pure: the accounts come in as their stored JSON."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Domains shared by strangers: a sender's domain says nothing about their employer here.
FREE_MAIL = frozenset(
    """gmail.com googlemail.com yahoo.com yahoo.co.jp yahoo.com.my outlook.com hotmail.com
    live.com msn.com icloud.com me.com aol.com proton.me protonmail.com gmx.com gmx.de
    mail.com yandex.com zoho.com docomo.ne.jp ezweb.ne.jp softbank.ne.jp""".split()
)

CONTACT = "contact"
OWNER = "owner"
DOMAIN = "domain"


@dataclass(frozen=True)
class AccountMatch:
    account_id: str | None
    how: str | None  # contact, owner, domain, or None (triage)
    why: str


def addresses_of(data: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(contact addresses, owner addresses) of one account's stored JSON, lower case."""
    contacts = {
        str(c.get("email", "")).strip().lower()
        for c in data.get("contacts") or []
        if isinstance(c, dict) and c.get("email")
    }
    owner = data.get("owner") or {}
    owners = {str(owner.get("email", "")).strip().lower()} if isinstance(owner, dict) else set()
    return contacts, owners - {""}


def match_account(sender: str, accounts: Iterable[tuple[str, dict[str, Any]]]) -> AccountMatch:
    """The account for `sender` among (account_id, data) pairs."""
    sender = sender.strip().lower()
    if "@" not in sender:
        return AccountMatch(None, None, "no sender address")
    domain = sender.rsplit("@", 1)[1]
    by_contact, by_owner, by_domain = [], [], []
    for account_id, data in accounts:
        contacts, owners = addresses_of(data)
        if sender in contacts:
            by_contact.append(account_id)
        elif sender in owners:
            by_owner.append(account_id)
        elif any(c.rsplit("@", 1)[-1] == domain for c in contacts):
            by_domain.append(account_id)
    for found, how in ((by_contact, CONTACT), (by_owner, OWNER)):
        if len(found) == 1:
            return AccountMatch(found[0], how, f"{sender} is the {how} of {found[0]}")
        if found:
            names = ", ".join(sorted(found))
            return AccountMatch(None, None, f"{sender} is a {how} of several accounts: {names}")
    if domain in FREE_MAIL:
        return AccountMatch(None, None, f"unknown sender {sender} (a free-mail domain)")
    if len(by_domain) == 1:
        why = f"{domain} is the domain of {by_domain[0]}'s contacts; {sender} is not one of them"
        return AccountMatch(by_domain[0], DOMAIN, why)
    if by_domain:
        names = ", ".join(sorted(by_domain))
        return AccountMatch(None, None, f"{domain} is the domain of several accounts: {names}")
    return AccountMatch(None, None, f"no account has a contact at {domain}")
