"""Who may ask: a requester's standing comes from the account's contacts and the policy's
roles, never from the request itself."""

from __future__ import annotations

import pytest

from offboarding.domain import Contact
from offboarding.trust.standing import (
    AUTHORISED,
    CONTACT_WITHOUT_AUTHORITY,
    UNKNOWN,
    authorised_contacts,
    requester_standing,
)
from tests.unit.conftest import make_account

ROLES = ["owner", "admin", "ceo"]


def account():  # noqa: ANN201
    acc = make_account()
    acc.contacts = [
        Contact(name="Ann Admin", email="ann@acme.example", role="admin"),
        Contact(name="Val VP", email="val@acme.example", role="VP"),
        Contact(name="Cee Ceo", email="cee@acme.example", role="CEO"),
    ]
    return acc


@pytest.mark.parametrize(
    ("requester", "level"),
    [
        ("ann@acme.example", AUTHORISED),
        ("  ANN@acme.example ", AUTHORISED),
        ("cee@acme.example", AUTHORISED),  # roles compare without case
        ("val@acme.example", CONTACT_WITHOUT_AUTHORITY),
        ("ann@acme.example.evil", UNKNOWN),
        ("stranger@gmail.example", UNKNOWN),
    ],
)
def test_standing(requester: str, level: str) -> None:
    standing = requester_standing(account(), requester, ROLES)
    assert standing.level == level
    assert standing.authorised == (level == AUTHORISED)
    assert standing.describe()


def test_authorised_contacts_keep_the_accounts_order() -> None:
    assert authorised_contacts(account(), ROLES) == ["ann@acme.example", "cee@acme.example"]
    assert authorised_contacts(account(), []) == []
